"""A built network → the source of a standalone PyTorch module file that imports only ``torch``.

The framework never executes what this writes (DESIGN: networks are built, not generated); the
file is for the user to keep. Its parts:

* every ``torch.nn`` module as a constructor call with the arguments that differ from the
  defaults (``nn.Conv2d(16, 16, 3, padding=1, bias=False)``), read from the module's attributes
  against its constructor's signature; ``nn.Sequential`` subclasses without their own
  ``forward`` (``ReLUConvBN``, ``SepConv``) as ``nn.Sequential``;
* every other module class (``FactorizedReduce``, ``ResNetBasicBlock``, merges) as a class of
  the file: a generic ``__init__`` taking its parts (submodules, parameters, buffers, plain
  settings) by name and the class's own methods copied from its source; a method that uses a
  module-level name other than ``torch`` / ``nn`` / ``F`` cannot be exported
  (:class:`ExportError` naming the class and the name);
* with the search's normalisation (``preprocess``), a ``Preprocess`` module run first, so the
  network takes raw images (``Network(preprocess=False)``: normalised ones);
* the network: ``stem``, one attribute ``opN`` per operation of the body (a comment names the
  term's terminal), ``mergeN`` per merge module, ``head``, and a ``forward`` that follows the
  body's steps: one line per feature map, the sum (or merge) of its incoming operations.

State-dict keys differ from the framework network's only in the body: ``body.ops.N.`` becomes
``opN.``, ``body.merges.N.`` becomes ``mergeN.`` (:func:`export_key`). Modules listed in
:data:`EXPORT_AS` are replaced (DARTS's auxiliary tap: an identity at inference) and their
parameters left out of the weights.
"""

from __future__ import annotations

import dis
import inspect
import re
import textwrap
import types
from typing import Any, Callable, Optional, Sequence

import torch
from torch import nn

from algebraic_nas.assembly.darts_network import AuxiliaryTap
from algebraic_nas.errors import AlgebraicNASError

__all__ = ["ExportError", "EXPORT_AS", "PREPROCESS_SOURCE", "network_source", "export_key", "export_state_dict"]


class ExportError(AlgebraicNASError, ValueError):
    """A network holds a module that cannot be written as standalone torch code."""


#: Module classes replaced in the exported file (inference only): class → replacement factory.
EXPORT_AS: dict[type, Callable[[nn.Module], nn.Module]] = {AuxiliaryTap: lambda m: nn.Identity()}
#: Module-level names an exported method may use, and how the file imports them.
_ALLOWED_GLOBALS = {"torch": torch, "nn": nn, "F": torch.nn.functional}
_PLAIN = (int, float, bool, str, type(None))
_SKIP_PARAMS = ("device", "dtype", "self")
_BLOCK_BASE = '''class Block(nn.Module):
    """A module made of named parts: submodules, parameters, buffers (other tensors) and settings."""

    def __init__(self, **parts):
        super().__init__()
        for name, value in parts.items():
            if isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter):
                self.register_buffer(name, value)
            else:
                setattr(self, name, value)
'''


#: The exported network's first module: what the search did to the data before the network (the
#: trainer's ``BatchTransform`` at evaluation, without augmentation).
PREPROCESS_SOURCE = '''class Preprocess(nn.Module):
    """Raw images -> the network's input, as the search fed its networks: uint8 pixels become
    floats in [0, 1] (x / 255; float images are taken as they are), then per channel
    (x - mean) / std. (N, C, H, W) -> (N, C, H, W) float32."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        return (x - self.mean) / self.std
'''


def _literal(value: Any, where: str) -> str:
    if isinstance(value, _PLAIN):
        return repr(value)
    if isinstance(value, (tuple, list)):  # nested ones too (NAGO's graphs: predecessors per node)
        text = ", ".join(_literal(v, where) for v in value)
        return f"({text},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({text})" if isinstance(value, tuple) else f"[{text}]")
    raise ExportError(f"cannot write {where} = {value!r} ({type(value).__name__}) as standalone code")


def _same(value: Any, default: Any) -> bool:
    if isinstance(value, tuple) and not isinstance(default, tuple) and value and all(v == default for v in value):
        return True  # kernel_size=(1, 1) stored for a default of 1
    return type(value) is type(default) and value == default


def _short(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) and value and all(v == value[0] for v in value) else value


class _Writer:
    def __init__(self) -> None:
        self.classes: dict[type, str] = {}  # exported class -> its name in the file
        self.sources: list[str] = []

    # --- modules -------------------------------------------------------------------------------

    def module(self, m: nn.Module, indent: int, where: str) -> str:
        """A constructor expression of module ``m`` (continuation lines indented by ``indent``)."""
        cls = type(m)
        if cls in EXPORT_AS:
            return self.module(EXPORT_AS[cls](m), indent, where)
        if isinstance(m, nn.Sequential) and cls.forward is nn.Sequential.forward and \
                list(m._modules) == [str(i) for i in range(len(m))]:
            return self._call("nn.Sequential", [self.module(c, indent + 4, f"{where}[{i}]") for i, c in enumerate(m)], indent)
        if cls is nn.ModuleList:
            items = [self.module(c, indent + 8, f"{where}[{i}]") for i, c in enumerate(m)]
            return self._call("nn.ModuleList", ["[" + self._join(items, indent + 8) + "]"] if items else [], indent)
        if cls.__module__.startswith("torch.nn"):
            return self._torch(m, where)
        return self._custom(m, indent, where)

    def _torch(self, m: nn.Module, where: str) -> str:
        cls = type(m)
        args: list[str] = []
        for name, p in inspect.signature(cls.__init__).parameters.items():
            if name in _SKIP_PARAMS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if name == "bias" and isinstance(getattr(m, "bias", None), (nn.Parameter, type(None))):
                value: Any = m.bias is not None
            elif hasattr(m, name):
                value = getattr(m, name)
            else:
                raise ExportError(f"cannot export {cls.__name__} at {where}: no attribute for its argument {name!r}")
            if p.default is p.empty:
                args.append(_literal(_short(value), f"{where}.{name}"))
            elif not _same(value, p.default):
                args.append(f"{name}={_literal(_short(value), f'{where}.{name}')}")
        return f"nn.{cls.__name__}({', '.join(args)})"

    def _custom(self, m: nn.Module, indent: int, where: str) -> str:
        name = self._class(type(m))
        parts = [f"{k}={self.module(c, indent + 4, f'{where}.{k}')}" for k, c in m._modules.items() if c is not None]
        parts += [f"{k}=nn.Parameter(torch.empty({tuple(p.shape)}, dtype={p.dtype}))"
                  for k, p in m._parameters.items() if p is not None]
        parts += [f"{k}=torch.zeros({tuple(b.shape)}, dtype={b.dtype})" for k, b in m._buffers.items() if b is not None]
        for k, v in vars(m).items():
            if not k.startswith("_") and k != "training":
                parts.append(f"{k}={_literal(v, f'{where}.{k}')}")
        return self._call(name, parts, indent)

    def _call(self, fn: str, args: list[str], indent: int) -> str:
        if not args:
            return f"{fn}()"
        one = f"{fn}({', '.join(args)})"
        if len(one) + indent <= 110 and "\n" not in one:
            return one
        return f"{fn}(\n{' ' * (indent + 4)}{self._join(args, indent + 4)},\n{' ' * indent})"

    @staticmethod
    def _join(items: list[str], indent: int) -> str:
        return f",\n{' ' * indent}".join(items)

    # --- classes -------------------------------------------------------------------------------

    def _class(self, cls: type) -> str:
        if cls in self.classes:
            return self.classes[cls]
        taken = set(self.classes.values()) | {"Block", "Network"}
        name, n = cls.__name__, 2
        while name in taken:
            name, n = f"{cls.__name__}{n}", n + 1
        methods: dict[str, Any] = {}
        for klass in cls.__mro__:
            if klass is nn.Module or klass is object or klass.__module__.startswith("torch"):
                break
            for key, value in vars(klass).items():
                if key not in methods and key != "__init__" and isinstance(value, types.FunctionType):
                    methods[key] = value
        if "forward" not in methods:
            raise ExportError(f"cannot export module class {cls.__qualname__}: it derives from a torch class "
                              "other than nn.Module and has no forward of its own")
        body = [self._method(cls, fn) for fn in methods.values()]
        doc = (inspect.getdoc(cls) or "").split("\n")[0].replace('"""', "'")
        self.sources.append(f"class {name}(Block):\n    \"\"\"{doc or name}\"\"\"\n\n" + "\n".join(body))
        self.classes[cls] = name
        return name

    @staticmethod
    def _method(cls: type, fn: types.FunctionType) -> str:
        names = _global_names(fn.__code__)
        for used in sorted(names & set(fn.__globals__)):
            value = fn.__globals__[used]
            if used == "super" or (used in _ALLOWED_GLOBALS and value is _ALLOWED_GLOBALS[used]):
                continue
            raise ExportError(f"cannot export module class {cls.__qualname__}: its method {fn.__name__} uses "
                              f"{used!r} from {fn.__module__} (only torch, nn and F can be used by exported code)")
        free = [v for v in fn.__code__.co_freevars if v != "__class__"]
        if free:
            raise ExportError(f"cannot export module class {cls.__qualname__}: its method {fn.__name__} uses "
                              f"{free[0]!r} from an enclosing function")
        if "super" in names:
            raise ExportError(f"cannot export module class {cls.__qualname__}: its method {fn.__name__} calls super()")
        try:
            src = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError) as e:
            raise ExportError(f"cannot export module class {cls.__qualname__}: no source of {fn.__name__} ({e})") from e
        return textwrap.indent(src, "    ")


def _global_names(code: types.CodeType) -> set[str]:
    """Module-level names a function's code reads (its nested functions and comprehensions included)."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def export_key(key: str) -> str:
    """The exported module's state-dict key of framework network key ``key``."""
    return re.sub(r"^body\.(ops|merges)\.(\d+)\.", lambda m: f"{'op' if m.group(1) == 'ops' else 'merge'}{m.group(2)}.", key)


def export_state_dict(net: nn.Module) -> dict[str, torch.Tensor]:
    """The weights of ``net`` under the exported module's keys, without the replaced modules' (CPU tensors)."""
    dropped = [f"{name}." for name, m in net.named_modules() if type(m) in EXPORT_AS]
    return {export_key(k): v.detach().cpu().clone() for k, v in net.state_dict().items()
            if not any(k.startswith(d) for d in dropped)}


def _forward_lines(body: nn.Module) -> list[str]:
    lines = []
    for dst, merge, ins, free, zeros in body.steps:
        branches = [f"x{s}" if o < 0 else f"self.op{o}(x{s})" for o, s in ins]
        if merge < 0:
            lines.append(f"x{dst} = {' + '.join(branches)}")
        elif zeros:  # branches pruned from a merge keep their place as zeros
            lines.append(f"branches = [{', '.join(branches)}]")
            lines += [f"branches.insert({i}, torch.zeros_like(branches[0]))" for i in zeros]
            lines.append(f"x{dst} = self.merge{merge}(branches)")
        else:
            lines.append(f"x{dst} = self.merge{merge}([{', '.join(branches)}])")
        if free:
            lines.append(f"del {', '.join(f'x{s}' for s in free)}")
    return lines


def network_source(net: nn.Module, *, header: str = "", class_name: str = "Network",
                   preprocess: Optional[tuple[Sequence[float], Sequence[float]]] = None) -> str:
    """The source of a standalone module file defining ``class_name`` equivalent to ``net``
    (a :class:`~algebraic_nas.assembly.network.Network`: ``stem``, ``body``, ``head``) at inference.

    ``preprocess``: per-channel ``(mean, std)``; the class then starts with :data:`PREPROCESS_SOURCE`'s
    ``Preprocess`` (raw images in; ``class_name(preprocess=False)`` takes normalised input as ``net`` does)."""
    for part in ("stem", "body", "head"):
        if not hasattr(net, part):
            raise ExportError(f"only networks built by build_network can be exported (no {part!r})")
    body = net.body
    w = _Writer()
    init = [f"self.stem = {w.module(net.stem, 8, 'stem')}"]
    if not hasattr(body, "steps"):  # a body module of its own (NAGO's network): written as a class
        init.append(f"self.body = {w.module(body, 8, 'body')}")
        forward = ["return self.head(self.body(self.stem(x)))"]
    else:
        for i, op in enumerate(body.ops):
            label = body.labels[i] if i < len(body.labels) else ""
            label = label if len(label) <= 60 else label[:57] + "..."
            init.append(f"self.op{i} = {w.module(op, 8, f'body.ops[{i}]')}  # {label}")
        init += [f"self.merge{j} = {w.module(m, 8, f'body.merges[{j}]')}" for j, m in enumerate(body.merges)]
        forward = ["x0 = self.stem(x)", *_forward_lines(body), f"return self.head(x{body.out_slot})"]
    init.append(f"self.head = {w.module(net.head, 8, 'head')}")
    signature = "def __init__(self) -> None:"
    if preprocess is not None:
        mean, std = (tuple(float(v) for v in part) for part in preprocess)
        init.insert(0, f"self.preprocess = Preprocess({mean!r}, {std!r}) if preprocess else nn.Identity()")
        forward.insert(0, "x = self.preprocess(x)")
        signature = "def __init__(self, preprocess: bool = True) -> None:"
    spec = getattr(net, "spec", None)
    shape = f"(N, {spec.channels}, {spec.resolution}, {spec.resolution}) -> (N, {spec.classes})" if spec else ""
    out = [f'"""{header.strip()}\n"""' if header else "", "from __future__ import annotations", "",
           "import torch", "from torch import nn", "from torch.nn import functional as F  # noqa: F401", "", ""]
    out += [_BLOCK_BASE, ""] if w.sources else []
    out += [PREPROCESS_SOURCE, ""] if preprocess is not None else []
    out += [s + "\n" for s in w.sources]
    doc = f"The exported network: images {shape}."
    if preprocess is not None:
        doc = (f"The exported network: raw images {shape} (uint8 pixels, or floats in [0, 1]),\n    "
               "normalised by its first module as in the search; preprocess=False takes normalised images.")
    out += [f"class {class_name}(nn.Module):", f'    """{doc}"""', "",
            f"    {signature}", "        super().__init__()"]
    out += [f"        {line}" for line in init]
    out += ["", "    def forward(self, x: torch.Tensor) -> torch.Tensor:"]
    out += [f"        {line}" for line in forward]
    return "\n".join(out).lstrip("\n") + "\n"
