"""convnb.heap: after ``import convnb`` a process keeps the memory it frees, so that allocating the
same block again touches no fresh page; ``CONVNB_KEEP_FREED_MEMORY=0`` leaves glibc's defaults.

The oracle is the kernel's count of minor page faults (``getrusage``): each page of fresh memory
that a process touches for the first time is one.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from convnb import heap

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
ROOT = Path(__file__).resolve().parents[2]

# In a fresh process: import convnb, then make, fill and drop a 16 MiB array twice, counting the
# faults of each round. 16 MiB is 4,096 pages of 4 KiB (NUMPY_MADVISE_HUGEPAGE=0: NumPy does not
# ask for pages of 2 MiB, which would make the counts smaller and depend on the kernel's mood).
ROUNDS = """
import json, resource
import numpy as np
import convnb

def faults_of_a_round():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(4 * 2**20, dtype=np.float32)
    del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

print(json.dumps({"kept": convnb.heap.KEPT, "faults": [faults_of_a_round() for _ in range(2)]}))
"""


def rounds(keep: str) -> dict:
    env = {**os.environ, heap.ENV: keep, "PYTHONPATH": str(ROOT), "NUMPY_MADVISE_HUGEPAGE": "0"}
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_"):
        env.pop(name, None)  # glibc's own settings from the environment would decide instead
    done = subprocess.run([sys.executable, "-c", ROUNDS], env=env, capture_output=True,
                          text=True, check=True, timeout=120)
    return json.loads(done.stdout)


@pytest.mark.skipif(not GLIBC, reason="mallopt and its thresholds are glibc's")
def test_a_block_freed_and_allocated_again_reuses_its_pages():
    kept = rounds("1")
    assert kept["kept"] is True
    assert kept["faults"][0] >= 4096 // 2  # the first round touches fresh pages ...
    assert kept["faults"][1] < 4096 // 20  # ... the second the same ones again


@pytest.mark.skipif(not GLIBC, reason="mallopt and its thresholds are glibc's")
def test_opting_out_leaves_glibc_defaults_which_fetch_the_block_again():
    # glibc's default: the first 16 MiB block is mapped fresh and unmapped when freed; the
    # second comes from the heap, whose pages are fresh too
    plain = rounds("0")
    assert plain["kept"] is False
    assert min(plain["faults"]) >= 4096 // 2


def test_other_c_libraries_are_left_alone(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert heap.keep_freed_memory() is False
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert heap.keep_freed_memory() is False
