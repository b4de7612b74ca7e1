#!/bin/bash
# The GPU checks in one prepared script, for a lent GPU machine with Python 3.12 and CUDA torch
# but without the project's pure-Python dependencies. Run from the repository root after putting
# py3.12 wheels of lark, hydra-core, omegaconf, antlr4-python3-runtime, dask, distributed,
# dask-jobqueue, partd, locket, tblib, zict, tornado and grakel in .whl/ (pip download
# --only-binary=:all: --python-version 3.12 ...). Results go to $OUT (default ./gpu_out).
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src:$PWD PYTHONUNBUFFERED=1
t0=$(date +%s); timeout 110 python3 -m pytest -m cuda -q -p no:cacheprovider tests > $OUT/pytest_cuda.log 2>&1; echo "pytest rc=$? $(( $(date +%s)-t0 ))s" | tee -a $OUT/gpu.txt
t0=$(date +%s); timeout 130 python3 -m algebraic_nas.search device=cuda executor=local n_workers=2 executor.evaluations_per_gpu=2 budget.evaluations=14 strategy=banat run_dir=/tmp/cuda_banat > $OUT/search_banat_cuda.log 2>&1; echo "banat search rc=$? $(( $(date +%s)-t0 ))s" | tee -a $OUT/gpu.txt
echo 'NagoNet(WattsStrogatz(8, 5, 0.6, 0.333, 0.333, 0.333, 1, 2, 4, ErdosRenyi(1, 0.7, WattsStrogatz(5, 4, 0.2, Linear3(relu, conv3x3, batch), wsum), wsum), wsum))' > /tmp/opt.txt
t0=$(date +%s); timeout 50 python3 -m algebraic_nas build nago_faithful @/tmp/opt.txt --dataset cifar10 --device cuda --batch 64 > $OUT/nago_build.log 2>&1; echo "nago build rc=$? $(( $(date +%s)-t0 ))s" | tee -a $OUT/gpu.txt
t0=$(date +%s); timeout 115 python3 -c "
import json, torch
from benchmarks.bench_gpu import evaluations_per_hour
for r in evaluations_per_hour('cuda', torch.cuda.get_device_name(0), ks=(1, 2, 4), seconds=20.0): print(json.dumps(r), flush=True)
" > $OUT/evals_per_hour.jsonl 2>$OUT/evals_per_hour.err; echo "evals/h rc=$? $(( $(date +%s)-t0 ))s" | tee -a $OUT/gpu.txt
tail -3 $OUT/pytest_cuda.log; grep -E "done|overhead|best" $OUT/search_banat_cuda.log | tail -4; tail -6 $OUT/nago_build.log; cut -c1-250 $OUT/evals_per_hour.jsonl; tail -3 $OUT/evals_per_hour.err
