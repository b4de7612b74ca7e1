"""algebraic-nas: neural architecture search over algebraic architecture terms."""

__version__ = "0.1.0"
