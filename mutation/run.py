"""Mutation testing of the core modules with mutmut (``make mutate``; ``make mutate GROUPS=grammar``).

Each group (a few modules and the test files that exercise them) runs in its own scratch copy of
the project under ``build/mutation/<group>`` (mutmut mutates a copy called ``mutants/`` of the
directory it runs in, so the checkout itself is never touched). Afterwards the per-module counts
(killed, survived, timeout, no tests) and the surviving mutants' diffs are written to
``mutation/REPORT.md`` (``--report`` only rewrites the report from the scratch copies).

mutmut runs each mutant only against the tests that call the mutated function, so one group
takes minutes to tens of minutes on 2 cores; all groups together take about an hour.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutation"  # one folder per group
REPORT = ROOT / "mutation" / "REPORT.md"
PKG = "src/algebraic_nas"

# group -> (modules to mutate, relative to src/algebraic_nas, globs allowed; tests that check them)
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "grammar": (
        ["grammar/counting.py", "grammar/operators.py", "grammar/termparse.py"],
        ["tests/grammar/test_size.py", "tests/grammar/test_operators.py", "tests/grammar/test_termparse_fast.py",
         "tests/grammar/test_terms.py", "tests/grammar/test_constraint_operators.py",
         "tests/grammar/test_term_error_expected.py", "tests/grammar/test_errors.py",
         "tests/grammar/test_perturb_steps.py", "tests/grammar/test_self_crossover.py",
         "tests/grammar/test_shared_mutation.py", "tests/grammar/test_size_shared_zero.py"],
    ),
    "surrogate": (
        ["surrogate/kernels.py", "surrogate/gp.py"],
        ["tests/surrogate/test_kernels.py", "tests/surrogate/test_gp.py", "tests/surrogate/test_kernel_spec.py",
         "tests/surrogate/test_gp_observation_noise.py", "tests/surrogate/test_nasbot_kernel.py",
         "tests/surrogate/test_pool.py", "tests/surrogate/test_batch.py"],
    ),
    "search": (
        ["search/driver.py", "search/store.py", "search/pareto.py"],
        ["tests/search/test_driver.py", "tests/search/test_store.py", "tests/search/test_pareto.py",
         "tests/search/test_resume_replay_order.py", "tests/search/test_pareto_direction.py"],
    ),
    "strategies": (
        ["search/strategies/evolution.py", "search/strategies/hyperband.py", "search/strategies/banat/strategy.py",
         "search/strategies/banat/model.py"],
        # not test_hyperband.py: its Dask cluster does not belong in mutmut's forked test processes
        ["tests/search/test_strategies.py", "tests/search/test_hyperband_promotion_order.py",
         "tests/search/test_banat_pending.py", "tests/search/test_bohb.py"],
    ),
    "evaluation": (
        ["evaluation/trainer.py", "evaluation/checkpoint.py", "evaluation/train_state.py"],
        ["tests/evaluation/test_trainer.py", "tests/evaluation/test_checkpoint.py",
         "tests/evaluation/test_continuation_random_layers.py"],
    ),
}
# tests too slow with mutmut's trampoline on every call (BANAT against random search: 6 seeds x
# 20 proposals ran past pytest's 600 s limit)
DESELECT: dict[str, list[str]] = {
    "strategies": ["tests/search/test_strategies.py::test_banat_finds_better_generator_settings_than_random_search"],
}


def _modules(patterns: list[str]) -> list[str]:
    """The module files (relative to the project root) the globs name today; the package is being
    reorganised, so a glob rather than a fixed path."""
    found: list[str] = []
    for pat in patterns:
        for p in sorted((ROOT / PKG).glob(pat)):
            if p.name != "__init__.py" and p.is_file():
                found.append(str(p.relative_to(ROOT)))
    return sorted(set(found))


def _setup_cfg(modules: list[str], tests: list[str], deselect: list[str]) -> str:
    """The project's setup.cfg with a [mutmut] section for one group."""
    base = (ROOT / "setup.cfg").read_text()
    lines = ["", "[mutmut]", "source_paths = src", "only_mutate ="]
    lines += [f"    {m}" for m in modules]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {t}" for t in tests]
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "    -x", "    -q"]
    lines += [f"    --deselect\n    {d}" for d in deselect]
    lines += [
              "timeout_multiplier = 10.0", "timeout_constant = 5.0"]
    return base + "\n".join(lines) + "\n"


def run_group(name: str, children: int) -> None:
    """Mutate one group in a fresh scratch copy of the project."""
    modules = _modules(GROUPS[name][0])
    tests = [t for t in GROUPS[name][1] if (ROOT / t).exists()]
    if not modules or not tests:
        print(f"[{name}] nothing to do (modules {modules}, tests {tests})", flush=True)
        return
    work = SCRATCH / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    (work / "setup.cfg").write_text(_setup_cfg(modules, tests, DESELECT.get(name, [])))
    print(f"[{name}] mutating {len(modules)} modules against {len(tests)} test files", flush=True)
    t0 = time.monotonic()
    mutmut = Path(sys.executable).with_name("mutmut")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with open(work / "mutmut.log", "w") as log:
        subprocess.run([str(mutmut), "run", "--max-children", str(children)], cwd=work, env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=False)
    (work / "elapsed_s").write_text(f"{time.monotonic() - t0:.0f}\n")
    print(f"[{name}] done in {time.monotonic() - t0:.0f} s", flush=True)


def _results(work: Path) -> dict[str, str]:
    """mutant name -> status, as ``mutmut results --all true`` prints them."""
    out = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "results", "--all", "true"], cwd=work,
                         capture_output=True, text=True, check=False).stdout
    res = {}
    for line in out.splitlines():
        if ": " in line.strip():
            k, v = line.strip().rsplit(": ", 1)
            res[k] = v
    return res


def _module_of(mutant: str) -> str:
    """``algebraic_nas.grammar.operators.x_mutate__mutmut_3`` -> ``grammar/operators.py``."""
    parts = mutant.split(".")
    mods = [p for p in parts if not p.startswith(("x_", "xǁ"))]
    return "/".join(mods[1:]) + ".py"


def _diff(work: Path, mutant: str) -> str:
    return subprocess.run([str(Path(sys.executable).with_name("mutmut")), "show", mutant], cwd=work,
                          capture_output=True, text=True, check=False).stdout.strip()


def write_report(max_diffs: int = 40) -> None:
    """Rewrite mutation/REPORT.md from every group's scratch copy."""
    rows, survivors = [], []
    for name in GROUPS:
        work = SCRATCH / name
        if not (work / "mutants").exists():
            continue
        res = _results(work)
        elapsed = (work / "elapsed_s").read_text().strip() if (work / "elapsed_s").exists() else "?"
        per: dict[str, Counter] = {}
        for mutant, status in res.items():
            per.setdefault(_module_of(mutant), Counter())[status] += 1
            if status == "survived":
                survivors.append((name, mutant))
        for mod, c in sorted(per.items()):
            tried = sum(c.values()) - c["not checked"] - c["skipped"]
            killed = c["killed"] + c["timeout"] + c["segfault"]
            rate = f"{100 * killed / tried:.0f} %" if tried else "-"
            rows.append(f"| {name} | {mod} | {sum(c.values())} | {killed} | {c['survived']} | {c['timeout']} "
                        f"| {c['no tests']} | {c['not checked']} | {rate} | {elapsed} |")
    lines = ["# Mutation testing report", "",
             "Written by `python mutation/run.py --report` (run by `make mutate`). Kill rate = (killed + timeout)"
             " / checked mutants; 'no tests' are mutants in functions none of the group's tests call.", "",
             "| group | module | mutants | killed | survived | timeout | no tests | not checked | kill rate "
             "| group time (s) |", "|---|---|---|---|---|---|---|---|---|---|", *rows, "",
             f"## Surviving mutants ({len(survivors)})", "", "By function (mutmut names them `x_<function>` or"
             " `xǁ<class>ǁ<method>`):", "", "| function | survived |", "|---|---|"]
    by_function = Counter(m.rsplit("__mutmut_", 1)[0] for _, m in survivors)
    lines += [f"| `{f}` | {n} |" for f, n in by_function.most_common()]
    lines += ["", f"The first {min(max_diffs, len(survivors))} diffs:", ""]
    for name, mutant in survivors[:max_diffs]:
        lines += [f"### {mutant}", "", "```diff", _diff(SCRATCH / name, mutant), "```", ""]
    if len(survivors) > max_diffs:
        lines.append(f"... and {len(survivors) - max_diffs} more: `cd build/mutation/<group> && mutmut results`")
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("groups", nargs="*", default=list(GROUPS), help=f"of {sorted(GROUPS)} (default all)")
    ap.add_argument("--children", type=int, default=2, help="mutants run in parallel (default 2)")
    ap.add_argument("--report", action="store_true", help="only rewrite the report from earlier runs")
    args = ap.parse_args(argv)
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        ap.error(f"unknown group(s) {unknown}; known: {sorted(GROUPS)}")
    if not args.report:
        for g in args.groups:
            run_group(g, args.children)
    write_report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
