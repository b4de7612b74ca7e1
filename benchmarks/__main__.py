"""Run every benchmark module and print one JSON object per line.

    python -m benchmarks                 # all
    python -m benchmarks grammar surrogate   # only bench_grammar.py and bench_surrogate.py
    python -m benchmarks --quick         # smaller settings (smoke test)
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import traceback

import benchmarks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("only", nargs="*", help="benchmark modules to run (e.g. grammar assembly)")
    parser.add_argument("--quick", action="store_true", help="small settings, for a smoke test")
    args = parser.parse_args(argv)
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    failed = 0
    for name in names:
        if args.only and name not in args.only:
            continue
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            for rec in module.run(quick=args.quick):
                print(json.dumps(rec), flush=True)
        except Exception as exc:  # keep going: one broken benchmark must not hide the others
            failed += 1
            traceback.print_exc()
            print(json.dumps({"name": f"{name}.error", "value": None, "unit": None, "settings": {"error": repr(exc)}}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
