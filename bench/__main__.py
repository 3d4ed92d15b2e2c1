"""Run every benchmark: ``python -m bench`` (``make bench``) from the repository root."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    ["-m", "bench.conv_suite"],
    ["-m", "bench.lenet_epoch", "--threads", "1", "--out", "bench/results"],
    ["-m", "bench.lenet_epoch", "--threads", "2", "--out", "bench/results"],
    ["bench/grading.py"],
    ["-m", "bench.widgets"],
    ["-m", "bench.winograd"],
    ["-m", "bench.transposed"],
]

if __name__ == "__main__":
    failed = 0
    for args in BENCHMARKS:
        print(f"\n$ python {' '.join(args)}", flush=True)
        failed += subprocess.call([sys.executable, *args]) != 0
    sys.exit(1 if failed else 0)
