"""The shipped search-space grammars (.ebnf files), installed with the package."""
