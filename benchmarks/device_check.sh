#!/usr/bin/env bash
# The checks run where a GPU machine is lent (the `device` tool: ../.library/device/README.md), as one command:
#     bash benchmarks/device_check.sh      (writes under $OUT, else benchmarks/results/device)
# 0. the tests of the device path (tests/device: CUDA where they are skipped elsewhere), 1. the CUDA path
#    (benchmarks/bench_cuda.py: the report on the GPU, measure() on it, a profile calibrated on it and
#    its predictions), and 2. the independent CPU evaluation of issue 18 (benchmarks/bench_latency_independent.py)
#    on that machine's CPU at 2 threads, with torchvision's classifiers (torchvision imports there), each stage
#    under a time limit so that what finished comes back. That machine has its own torch; costmodel runs from here.
set -u
out=${OUT:-benchmarks/results/device}
mkdir -p "$out/cuda" "$out/cpu"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
py=${PYTHON:-python3}
{ date -u; nproc; lscpu | grep -m1 "Model name"; nvidia-smi -L 2>/dev/null
  "$py" -c "import torch, costmodel; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'costmodel', costmodel.__version__)"
} 2>&1 | tee "$out/env.txt"
"$py" -c "import costmodel" || exit 3
timeout "${TESTS_S:-120}" "$py" -m pytest -q -p no:cacheprovider -o addopts="" tests/device 2>&1 | tee "$out/tests.log"
timeout "${CUDA_S:-170}" "$py" benchmarks/bench_cuda.py --budget "${CUDA_CAL_S:-40}" --batches 1 --measure-budget 0.2 \
    --out "$out/cuda" ${CUDA_ARGS:-} 2>&1 | tee "$out/cuda.log"
timeout "${CAL_S:-100}" "$py" benchmarks/bench_latency_independent.py calibrate --threads 2 --budget "${CPU_CAL_S:-80}" \
    --out "$out/cpu" 2>&1 | tee "$out/cpu.log"
timeout "${MEASURE_S:-240}" "$py" benchmarks/bench_latency_independent.py measure --profile "$out/cpu/profile_t2.json" \
    --passes 2 --budget 0.4 --torchvision --out "$out/cpu" ${MEASURE_ARGS:-} 2>&1 | tee -a "$out/cpu.log"
"$py" benchmarks/bench_latency_independent.py score "$out"/cpu/measured_*.json --rows 2>&1 | tee -a "$out/cpu.log"
