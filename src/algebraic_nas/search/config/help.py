"""``python -m algebraic_nas.search --help``: every key of the composed config with what it means,
taken from the docstrings of the config dataclasses (``SearchConf`` and the group schemas, the
evaluation package's ``Protocol``, the selected strategy's and executor's config classes).

A docstring describes its fields as ``\\`\\`key\\`\\`: what it is`` clauses (or ``\\`\\`key\\`\\` is
...``); :func:`field_help` takes the clause of each field, up to the next ``;`` or the end of the
sentence. The help text is an OmegaConf resolver (``${an.config_help:}`` in ``search.yaml``'s
``hydra.help.template``), so Hydra's own ``--help`` prints it in place of the bare YAML.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import textwrap
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf

MAX_WIDTH = 110  # a described line wraps onto comment lines after this many characters


_INTRO = re.compile(r"(?:^|(?<=[;:.,(/]\s)|(?<=\())``(\w+)``((?:\s*/\s*``\w+``)*)(?::\s*|\s+is\s+|\s+=\s+|\s+)")


def _clause(text: str) -> str:
    """``text`` up to the first ``;``, sentence end or next ``, ``key````, outside parentheses."""
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth > 0:
            continue
        rest = text[i:]
        if ch == ";" or (ch == "." and (rest[1:2] in ("", " ")) and not re.search(r"\b(e\.g|i\.e|etc)$", text[:i])):
            return text[:i]
        if rest.startswith(", ``"):
            return text[:i]
    return text


def field_help(cls: Optional[type]) -> dict[str, str]:
    """``{field: description}`` from ``cls``'s docstring (fields it does not describe are left out)."""
    if cls is None or not dataclasses.is_dataclass(cls):
        return {}
    text = " ".join((inspect.getdoc(cls) or "").split())
    names = {f.name for f in dataclasses.fields(cls)}
    out: dict[str, str] = {}
    for m in _INTRO.finditer(text):
        described = [m.group(1), *re.findall(r"``(\w+)``", m.group(2))]
        clause = _clause(text[m.end():]).replace("``", "").strip()
        for name in described:
            if name in names and name not in out and clause:
                out[name] = clause
    return out


def _group_classes(root: DictConfig) -> dict[str, Optional[type]]:
    """The dataclass describing each group of the composed config ``root``."""
    from algebraic_nas.evaluation.protocols import Protocol
    from algebraic_nas.search.config.schema import BudgetConf, DatasetConf, GrammarConf
    from algebraic_nas.search.executors import get_executor
    from algebraic_nas.search.strategies import get_strategy
    from algebraic_nas.errors import ConfigError

    def entry_config(get: Any, name: Any) -> Optional[type]:
        try:
            return get(str(name)).config
        except ConfigError:
            return None

    return {"grammar": GrammarConf, "dataset": DatasetConf, "protocol": Protocol, "budget": BudgetConf,
            "strategy": entry_config(get_strategy, OmegaConf.select(root, "strategy.name")),
            "executor": entry_config(get_executor, OmegaConf.select(root, "executor.kind"))}


HEAD_KEYS = {
    "strategy": {"name": "the registered strategy (algebraic-nas strategies lists them)",
                 "batch_size": "the fewest proposals the driver asks the strategy for at once"},
    "executor": {"kind": "the registered executor (algebraic-nas strategies lists them)"},
    "protocol": {"name": "the training preset; every other key overrides one of its fields (null: the preset's)"},
}


def describe_config(root: DictConfig) -> str:
    """The YAML of ``root`` (without ``hydra``) with ``# what it means`` after each described key."""
    from algebraic_nas.search.config.schema import SearchConf

    config = OmegaConf.masked_copy(root, [k for k in root if k != "hydra"])
    top = field_help(SearchConf)
    groups = {name: {**field_help(cls), **HEAD_KEYS.get(name, {})} for name, cls in _group_classes(root).items()}
    lines: list[str] = []
    group = ""
    for line in OmegaConf.to_yaml(config, resolve=False).splitlines():
        indent = len(line) - len(line.lstrip(" "))
        key = line.strip().split(":", 1)[0]
        if indent == 0:
            group = key
        text = top.get(key) if indent == 0 else (groups.get(group, {}).get(key) if indent == 2 else None)
        if text and indent == 0 and key in groups and line.rstrip().endswith(":"):
            lines.append(f"# {key}: {text}")  # a group: its description above it
            lines.append(line)
        elif text:
            first, *rest = textwrap.wrap(f"{line}  # {text}", MAX_WIDTH, subsequent_indent=" " * indent + "  # ",
                                         break_long_words=False, break_on_hyphens=False)
            lines += [first, *rest]
        else:
            lines.append(line)
    return "\n".join(lines)


def config_help(*, _root_: DictConfig) -> str:
    """The OmegaConf resolver ``an.config_help`` (see the module docstring)."""
    return describe_config(_root_)
