"""Train random hnb201 architectures with the project's trainer; append one CSV row each.

Resumable: the list of architectures is a fixed function of ``--sample-seed``; rows already in
``--out`` (same term and seed) are skipped, so the job can be killed and started again.
The first ``--seed-check`` architectures are also trained with seeds 1..``--seeds``-1, for the
seed-noise check (spread across seeds vs spread across architectures).

    nohup .venv/bin/python experiments/surrogate_rank_correlation/generate_data.py \
        --n 500 --dataset addigits --protocol quick > experiments/surrogate_rank_correlation/generate.log 2>&1 &
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time
from pathlib import Path

import torch

FIELDS = ["index", "term", "seed", "valid_error", "test_error", "outcome", "reason", "wall_time_s",
          "params", "flops", "dataset", "protocol", "epochs", "data_sha"]


def data_fingerprint(name: str) -> str:
    """sha1 of the dataset's arrays: rows made from different dataset versions are told apart."""
    import hashlib

    from algebraic_nas.evaluation import get_dataset

    d = get_dataset(name)
    h = hashlib.sha1()
    for split in (d.train, d.valid):
        h.update(split.x.numpy().tobytes())
        h.update(split.y.numpy().tobytes())
    return h.hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=500, help="number of distinct architectures")
    p.add_argument("--dataset", default="clutterdigits")
    p.add_argument("--protocol", default="quick")
    p.add_argument("--epochs", type=int, default=None, help="override the protocol's epochs")
    p.add_argument("--sample-seed", type=int, default=2024)
    p.add_argument("--seed-check", type=int, default=5, help="architectures also trained with other seeds")
    p.add_argument("--seeds", type=int, default=3, help="seeds per seed-check architecture")
    p.add_argument("--out", default=str(Path(__file__).with_name("data.csv")))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    from algebraic_nas.evaluation import evaluate
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("hnb201")
    rng = random.Random(args.sample_seed)
    terms: list[str] = []
    seen: set[str] = set()
    while len(terms) < args.n:
        s = str(g.sample(rng))
        if s not in seen:
            seen.add(s)
            terms.append(s)

    out = Path(args.out)
    done: set[tuple[str, int]] = set()
    if out.exists():
        with out.open(newline="") as f:
            for row in csv.DictReader(f):
                done.add((row["term"], int(row["seed"])))
    new_file = not out.exists() or out.stat().st_size == 0
    overrides = {"cpu_threads": args.threads, "progress": "none"}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs

    sha = data_fingerprint(args.dataset)
    jobs = []
    for i, t in enumerate(terms):
        jobs.append((i, t, 0))
        if i < args.seed_check:
            jobs += [(i, t, s) for s in range(1, args.seeds)]
    todo = [j for j in jobs if (j[1], j[2]) not in done]
    print(f"{len(jobs) - len(todo)} of {len(jobs)} runs already in {out}; {len(todo)} to go", flush=True)
    with out.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new_file:
            w.writeheader()
        start = time.time()
        for k, (i, t, seed) in enumerate(todo):
            rec = evaluate(term=t, grammar="hnb201", dataset=args.dataset, protocol=args.protocol,
                           seed=seed, device="cpu", overrides=overrides)
            w.writerow({"index": i, "term": t, "seed": seed, "valid_error": rec.valid_error,
                        "test_error": rec.test_error, "outcome": rec.outcome, "reason": rec.reason or "",
                        "wall_time_s": round(rec.wall_time_s, 3), "params": rec.params, "flops": rec.flops,
                        "dataset": rec.dataset, "protocol": rec.protocol,
                        "epochs": (rec.config or {}).get("epochs", args.epochs), "data_sha": sha})
            f.flush()
            os.fsync(f.fileno())
            el = time.time() - start
            print(f"[{k + 1}/{len(todo)}] arch {i} seed {seed}: {rec.outcome} val_err={rec.valid_error} "
                  f"{rec.wall_time_s:.1f}s (elapsed {el:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
