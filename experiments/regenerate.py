"""Regenerate every experiment's derived files from its committed raw data, and check them.

    .venv/bin/python experiments/regenerate.py            # check all (what `make results` runs)
    .venv/bin/python experiments/regenerate.py --write    # rewrite the derived files and README blocks
    .venv/bin/python experiments/regenerate.py strategy_comparison

Each experiment's ``analyse.py --out DIR`` reads only the raw results committed in its folder
(per-evaluation CSV/JSON) and writes its tables and figures into ``DIR``. The check runs it into a
temporary folder and compares every derived file byte for byte with the committed one, then
checks that each generated block of the README (``<!-- generated from FILE -->``) equals FILE.
Nothing committed is touched unless ``--write`` is given.
"""

from __future__ import annotations

import argparse
import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from reporting import readme_blocks, sync_readme  # noqa: E402

# experiment -> the derived files its analyse.py writes (everything else in the folder is input)
EXPERIMENTS: dict[str, list[str]] = {
    "strategy_comparison": ["summary.json", "summary.md", "comparisons.md", "facts.md", "anytime.png"],
    "multi_fidelity": ["summary.json", "summary.md", "comparisons.md", "anytime.png"],
    "multi_objective": ["summary.json", "summary.md", "fronts_hnag_rnag.png", "hypervolume.png"],
    "nago_generators": ["summary.json", "summary.md", "fig2.png", "anytime.png"],
    "surrogate_rank_correlation": ["table.md", "seed_noise.md", "optimizer.md", "h_choice.md", "fig3_kendall_tau.png"],
}


def analyse(name: str, out: Path) -> None:
    cmd = [sys.executable, str(HERE / name / "analyse.py"), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: {' '.join(cmd)} failed:\n{done.stderr[-3000:]}")


def check(name: str) -> list[str]:
    """The differences between the committed derived files of ``name`` and regenerated ones."""
    problems = []
    with tempfile.TemporaryDirectory(prefix=f"regen-{name}-") as tmp:
        analyse(name, Path(tmp))
        for f in EXPERIMENTS[name]:
            new, old = Path(tmp) / f, HERE / name / f
            if not new.exists():
                problems.append(f"{name}/{f}: not written by analyse.py")
            elif not old.exists():
                problems.append(f"{name}/{f}: not committed")
            elif not filecmp.cmp(new, old, shallow=False):
                problems.append(f"{name}/{f}: differs from what analyse.py writes")
    readme = HERE / name / "README.md"
    for f, text in readme_blocks(readme):
        path = HERE / name / f
        if not path.exists() or path.read_text() != text:
            problems.append(f"{name}/README.md: the block generated from {f} differs from {f}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", default=list(EXPERIMENTS), help=f"some of {', '.join(EXPERIMENTS)}")
    ap.add_argument("--write", action="store_true", help="regenerate in place and update the READMEs' blocks")
    args = ap.parse_args()
    unknown = [n for n in args.names if n not in EXPERIMENTS]
    if unknown:
        ap.error(f"unknown experiment(s) {', '.join(unknown)}; known: {', '.join(EXPERIMENTS)}")
    bad = 0
    for name in args.names:
        if args.write:
            analyse(name, HERE / name)
            sync_readme(HERE / name / "README.md", HERE / name)
        problems = check(name)
        print(f"{name}: {'OK' if not problems else 'DIFFERS'}")
        for p in problems:
            print(f"  {p}")
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
