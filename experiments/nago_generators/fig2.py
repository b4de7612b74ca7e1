"""NAGO Fig. 2 at CPU scale: many generator settings sampled from ``nago_hnag`` and ``rnag``,
each evaluated with several network seeds (the seed draws every random graph *and* the initial
weights), on ``clutterdigits`` with the short protocol of :mod:`common`.

    .venv/bin/python experiments/nago_generators/fig2.py --generators 30 --seeds 0 1 2 3 4 5

Seeds are run in rounds (all generators with seed 0, then seed 1, ...), so an interrupted run has
every generator at the same number of seeds. Rows are appended to ``fig2_results.csv``; a
re-run skips (grammar, generator, seed) already there (and the evaluation cache avoids retraining).
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import DATASET, EPOCHS, evaluate  # noqa: E402

GRAMMARS = ("nago_hnag", "rnag")
FIELDS = ["grammar", "generator", "seed", "outcome", "valid_error", "test_error", "params", "flops",
          "peak_memory_mb", "train_time_s", "wall_time_s", "cached", "term"]


def generator_terms(grammar: str, n: int, sample_seed: int) -> list[str]:
    """``n`` generator settings (terms) of ``grammar`` drawn from one seeded stream, distinct."""
    from algebraic_nas.grammar import load_grammar

    g, rng, out = load_grammar(grammar), random.Random(f"{grammar}-{sample_seed}"), []
    while len(out) < n:
        t = str(g.sample(rng))
        if t not in out:
            out.append(t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generators", type=int, default=30, help="generator settings per grammar")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5], help="network seeds")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the stream the generators are drawn from")
    ap.add_argument("--out", default=str(HERE / "fig2_results.csv"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    done = set()
    if out.exists():
        with open(out) as f:
            done = {(r["grammar"], int(r["generator"]), int(r["seed"])) for r in csv.DictReader(f)}
    new = not out.exists()
    terms = {g: generator_terms(g, args.generators, args.sample_seed) for g in GRAMMARS}
    with open(out, "a", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        if new:
            w.writeheader()
        for seed in args.seeds:
            t_round = time.time()
            for i in range(args.generators):
                for g in GRAMMARS:  # interleaved: an interrupted round has both grammars
                    if (g, i, seed) in done:
                        continue
                    rec = evaluate(terms[g][i], g, DATASET, seed=seed)
                    w.writerow({"grammar": g, "generator": i, "seed": seed, "outcome": rec.get("outcome"),
                                **{k: rec.get(k) for k in FIELDS[4:-1]}, "term": terms[g][i]})
                    f.flush()
            print(f"seed {seed}: {2 * args.generators} evaluations in {time.time() - t_round:.0f} s "
                  f"(epochs={EPOCHS})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
