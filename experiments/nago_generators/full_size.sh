#!/usr/bin/env bash
# NAGO's generator experiment at the size that can name a winner, on the current networks (every
# cell and node draws its own graph, commit 80f5334): Fig. 2 with 30 generators x 6 network seeds
# for HNAG and RNAG, and the generator search with 5 seeds x 40 evaluations (BANAT with the values
# kernel, Optuna TPE, random search). Resumable: re-run the same command. Raw data go to full/
# (fig2_results.csv, search_results.csv: commit those); then
#     .venv/bin/python experiments/nago_generators/analyse.py --data experiments/nago_generators/full \
#         --out experiments/nago_generators/full --from-runs
# Compute, at the pilot's measured cost (median 12-18 s of wall time per one-epoch evaluation on the
# shared 2-core machine): Fig. 2 360 evaluations (~1.5 h), search 600 of which ~100 come from the
# cache (~2.5 h): about 4 CPU-hours; both scripts use one thread, so the two can run side by side.
set -euo pipefail
cd "$(dirname "$0")/../.."
X=experiments/nago_generators
FULL=$X/full
PY=${PY:-.venv/bin/python}
mkdir -p "$FULL"
# a cache of its own: the records of the earlier networks (one graph per level) must not be served
export NAGO_EXPERIMENT_CACHE=$FULL/eval_cache.sqlite
nice -n 19 "$PY" $X/fig2.py --generators 30 --seeds 0 1 2 3 4 5 --out $FULL/fig2_results.csv
nice -n 19 "$PY" $X/search.py --seeds 0 1 2 3 4 --rounds 20 40 --out $FULL/search_runs
