"""The README stands alone and stays true: its list of built-in primitives and topologies names
exactly what the registries hold, it cites no file users do not have, and the commands agree on
the default dataset (issue 23, item 10)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from algebraic_nas.assembly import registry
from algebraic_nas.assembly.commands import add_build_parser
from algebraic_nas.grammar.topology import list_topologies
from algebraic_nas.search.config.schema import DatasetConf
from algebraic_nas.search.report.export import add_arguments as add_export_arguments

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _listed() -> set[str]:
    block = re.search(r"<!-- terminals:begin -->\n(.*?)<!-- terminals:end -->", README, re.S)
    assert block, "the README lost its list of built-in primitives and topologies"
    return set(re.findall(r"`([^`\s]+)`", block.group(1)))


def test_the_readme_lists_every_registered_terminal_and_nothing_else():
    # in a fresh process: other tests register their own primitives and topologies in this one
    code = ("from algebraic_nas.assembly import registry, darts_network; "
            "from algebraic_nas.grammar.topology import list_topologies; "
            "print(' '.join(sorted({*registry.primitive_names(), *registry.ZERO_OPS, *list_topologies(), "
            "*registry.MERGE_REGISTRY})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    registered = set(done.stdout.split())
    listed = _listed()
    assert registered - listed == set(), f"registered but not in the README: {sorted(registered - listed)}"
    # besides terminals the list names the grammar whose primitives come first
    assert listed - registered == {"hnb201"}, f"in the README but not registered: {sorted(listed - registered - {'hnb201'})}"


def test_readme_and_docs_cite_no_file_users_do_not_have():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert "REFERENCE" not in path.read_text().replace("REFERENCE_MARGIN", ""), path.name


def test_build_export_and_search_default_to_the_same_dataset():
    build = argparse.ArgumentParser().add_subparsers()
    build_args = add_build_parser(build, dataset_spec=lambda name: None).parse_args(["toy", "conv"])
    export = argparse.ArgumentParser()
    add_export_arguments(export)
    export_args = export.parse_args(["toy", "conv"])
    assert build_args.dataset == export_args.dataset == DatasetConf().name == "digits"
    assert "`digits` is the default dataset of `build`, `export` and a search" in README


def test_the_tours_python_snippet_runs_as_written(capsys):
    tour = README.split("## A tour", 1)[1].split("## Writing a search space", 1)[0]
    code = re.search(r"```python\n(.*?)```", tour, re.S).group(1)
    assert "grammar=g" in code  # the network is built as the grammar says (%prune)
    exec(compile(code, "README.md (tour)", "exec"), {})
    out = capsys.readouterr().out
    assert "'params':" in out and "ok " in out  # network_stats, then the record's outcome
