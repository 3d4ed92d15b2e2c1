#!/usr/bin/env bash
# The GPU checks in one go, for a machine with CUDA, CuPy, PyTorch, pytest, hypothesis and SciPy:
# the GPU benchmarks (the convolution suite against cuDNN, a LeNet-5 epoch against PyTorch CUDA,
# `python -m convnb train` on the GPU and on the CPU, the cost of each kind of call), then the tests
# that run on the GPU.
# Run from the repository root:
#
#     bash bench/on_gpu.sh OUT_DIR [SECONDS]
#
# Every step appends its output to OUT_DIR/log.txt under a header, and stops (or is skipped) once
# SECONDS (default 420) have passed, so that a time-limited machine returns what it has; with the
# suite's JSON, markdown and PNG that is four files (a lent machine returns only a few).
set -u
out=${1:?usage: bash bench/on_gpu.sh OUT_DIR [SECONDS]}
budget=${2:-420}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
start=$SECONDS

log=$out/log.txt
step() {  # step NAME TIMEOUT COMMAND...: run COMMAND, appending to the log, unless time is up
  local name=$1 limit=$2
  shift 2
  if ((SECONDS - start + 10 > budget)); then
    echo "skipped (time): $name" | tee -a "$log"
    return
  fi
  local t0=$SECONDS left=$((budget - (SECONDS - start)))
  ((limit > left)) && limit=$left
  echo "===== $name" >>"$log"
  timeout "$limit" "$@" >>"$log" 2>&1
  echo "$name: exit $? after $((SECONDS - t0)) s" | tee -a "$log"
}

step versions 60 bash -c 'nvidia-smi; python - <<EOF
import cupy, numpy, torch, platform
print("python", platform.python_version(), "numpy", numpy.__version__, "cupy", cupy.__version__,
      "torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())
EOF
python -c "import hypothesis, scipy; print(\"hypothesis\", hypothesis.__version__, \"scipy\", scipy.__version__)"'
step conv_suite 200 python -m bench.conv_suite --gpu-only --rounds 2 --out "$out"
step lenet_epoch 90 python -m bench.lenet_epoch --device gpu --batches 300 --repeats 3 --profile
step train_gpu 90 python -m convnb train --device gpu --no-progress
step train_cpu 90 python -m convnb train --device cpu --no-progress
step gpu_calls 60 python -m bench.gpu_calls
# The tests whose names say they run on a GPU (CuPy's backend, the kernels, device moves).
step tests 240 python -m pytest tests/convnb -q -p no:cacheprovider --maxfail=25 --continue-on-collection-errors \
  -k "cupy or gpu or cuda" -o addopts="-ra --import-mode=importlib"
echo "total $((SECONDS - start)) s" | tee -a "$log"
