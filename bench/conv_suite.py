"""convnb's convolution and pooling operators against ``torch.nn.functional``, each library alone.

The rows are the course's performance suite (``CONV_ROWS`` and ``POOL_ROWS`` in
:mod:`bench.conv_rows`): each convolution forward and backward (dx, dw and db, PyTorch's
``convolution_backward``), in float32 and float64; then max and average pooling, forward and
backward together (convnb's layers, whose forward keeps what backward needs, against autograd), in
float32. Both libraries run with the same number of threads (threadpoolctl for NumPy's BLAS,
``torch.set_num_threads``), each in processes of its own (:mod:`bench.conv_rows` says why), in
alternating rounds. A library's time for a row is the median of its samples in its least
disturbed round: this 2-core machine has slow spells of several seconds that make every operation
1.5-3x slower.

A ratio is convnb's time divided by PyTorch's. Beside it, "GEMM alone" is the time of just the
matrix products im2col hands to NumPy's BLAS, divided by PyTorch's: no algorithm that computes the
convolution through ``np.matmul`` gets below it. GFLOP/s counts
``2 * N * F * H_out * W_out * C/groups * KH * KW`` per forward and twice that per backward, beside
the machine's measured matmul rate. With CuPy and a CUDA device, the rows and two ResNet layers
are also timed against PyTorch on CUDA (cuDNN, TF32 off). After its timing, each call's page
faults are counted: a call that touches fresh memory every time pays for it here (about 1.7 µs a
page on the 2-core VM), and the report names the rows where convnb does. Run from the repository
root::

    python -m bench.conv_suite [--algo auto|im2col|...] [--threads N] [--quick] [--rows NAME...]
                               [--rounds R] [--gpu-only] [--out DIR]

It prints a table and writes ``DATE-conv-suite-threadsN`` ``.json`` (every sample), ``.md`` (the
README's tables) and ``.png`` (the ratios) into ``--out`` (``bench/results/``). ``--quick`` times
one tiny row of each kind, for a smoke test; ``--rows`` picks rows by name (and adds
``-rows-NAME...`` to the files' names, so that a partial run leaves the day's full results alone);
``--gpu-only`` times the GPU's rows alone (``DATE-conv-suite-gpu`` ``.json``, ``.md``, ``.png``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a file: use the checkout's convnb
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.conv_rows import ConvRow, conv_flops, pick_rows, samples  # noqa: E402
from bench.lenet_epoch import blas_threads, cpu_model  # noqa: E402
from convnb.conv_algos import ALGOS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
# Targets of issue 14 (CPU, float32): forward median and worst row, backward median, pooling rows.
TARGETS = {"forward median": 1.3, "forward worst": 2.5, "backward median": 1.5, "pooling": 2.0}
# ... and on a GPU, against cuDNN (float32; the suite's rows and two ResNet layers).
GPU_TARGETS = {"forward median": 2.0, "backward median": 2.5}


# --- timing: each library alone, in child processes --------------------------------------------

def matmul_gflops(dtype: str, n: int, repeats: int, sample_s: float) -> float:
    """The machine's matmul rate: ``np.matmul`` of two n x n matrices, 2 n^3 flops, median."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    return 2 * n ** 3 / float(np.median(samples(lambda: a @ b, repeats, sample_s))) / 1e9


def child(library: str, options: list[str], folder: Path) -> dict:
    """:mod:`bench.conv_rows` for one library, in a process of its own: its JSON report."""
    out = folder / f"{library}.json"
    run = subprocess.run([sys.executable, "-m", "bench.conv_rows", "--library", library,
                          str(out), *options], cwd=REPO)
    if run.returncode:
        sys.exit(f"bench.conv_suite: timing {library} failed (exit {run.returncode})")
    return json.loads(out.read_text())


def merged(rounds: list[dict[str, dict]], section: str) -> list[dict] | None:
    """One row per (row, pass, dtype) with each library's samples, round by round
    (``runs[library]``, a list per round); its time (``convnb_s``, ``torch_s``, ``gemm_s``: im2col's
    matrix products alone, None for pooling) is the median of a round's samples, in the least
    disturbed round (the smallest median); the most page faults per call that any round counted
    (``page_faults[library]``); the ratios to PyTorch; and the ``algorithm`` convnb ran in the
    round its time comes from (benchmark mode may choose differently in another process)."""
    if any(r[lib][section] is None for r in rounds for lib in r):
        return None
    rows = []
    for row in rounds[0]["convnb"][section]:
        key = (row["name"], row["pass"], row["dtype"])
        runs: dict[str, list[list[float]]] = {}
        faults: dict[str, list[float | None]] = {}
        chosen: list[str | None] = []  # convnb's algorithm, round by round
        for lib in rounds[0]:
            for r in rounds:
                found = [s for s in r[lib][section] if (s["name"], s["pass"], s["dtype"]) == key]
                if found:
                    runs.setdefault(lib, []).append(found[0]["runs"])
                    faults.setdefault(lib, []).append(found[0]["page_faults"])
                    if lib == "convnb":
                        chosen.append(found[0].get("algorithm"))
        medians = {lib: [float(np.median(samples)) for samples in per_round]
                   for lib, per_round in runs.items()}
        times = {f"{lib}_s": None for lib in rounds[0]} | {
            f"{lib}_s": min(m) for lib, m in medians.items()}
        most = {lib: None if None in counts else max(counts) for lib, counts in faults.items()}
        fastest_round = int(np.argmin(medians["convnb"]))
        rows.append({k: v for k, v in row.items() if k not in ("runs", "page_faults")} | times
                    | {"runs": runs, "page_faults": most, "algorithm": chosen[fastest_round]})
    for r in rows:
        r["ratio"] = r["convnb_s"] / r["torch_s"]
        r["gemm_ratio"] = None if r.get("gemm_s") is None else r["gemm_s"] / r["torch_s"]
        flops = None if r["kind"] != "conv" else conv_flops(ConvRow(
            r["name"], tuple(r["x"]), tuple(r["w"]), r["options"])) * (
            1 if r["pass"] == "forward" else 2)
        r["convnb_gflops"] = None if flops is None else flops / r["convnb_s"] / 1e9
    return rows


def source() -> dict:
    """The commit measured, and whether convnb/ differed from it (None outside a git checkout)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "--short", "HEAD"),
                "convnb_changed": bool(git("status", "--porcelain", "--", "convnb"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "convnb_changed": None}


# --- report ---------------------------------------------------------------------------------------

HEADER = (f"| {'row':13} | {'pass':16} | {'dtype':7} | {'convnb ms':>9} | {'torch ms':>9} | "
          f"{'ratio':>6} | {'GEMM alone':>10} | {'GFLOP/s':>7} |")


def print_rows(rows: list[dict]) -> None:
    print(HEADER)
    print("|" + "|".join("-" * len(column) for column in HEADER.split("|")[1:-1]) + "|")
    for r in rows:
        gflops = "" if r["convnb_gflops"] is None else f"{r['convnb_gflops']:7.1f}"
        gemm = "" if r["gemm_ratio"] is None else f"{r['gemm_ratio']:10.2f}"
        print(f"| {r['name']:13} | {r['pass']:16} | {r['dtype']:7} | {1e3 * r['convnb_s']:9.3f} |"
              f" {1e3 * r['torch_s']:9.3f} | {r['ratio']:6.2f} | {gemm:>10} | {gflops:>7} |")


def summary(rows: list[dict]) -> dict:
    """Median and worst ratio per (pass, dtype), as the targets are stated, and the median of
    "GEMM alone" where the rows have it."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(f"{r['pass']} {r['dtype']}", []).append(r)
    found = {}
    for key, group in groups.items():
        ratios, floors = [r["ratio"] for r in group], [r["gemm_ratio"] for r in group]
        found[key] = {"median": float(np.median(ratios)), "worst": max(ratios),
                      "gemm_median": None if None in floors else float(np.median(floors))}
    return found


def tables(rows: list[dict], medians: dict) -> list[str]:
    """Markdown: convnb/PyTorch per convolution row (in brackets convnb's GFLOP/s and the
    algorithm it ran; for float32, the "GEMM alone" ratio beside) with the medians, then the
    pooling rows with their times, then :func:`page_fault_line`."""
    columns = [("forward", "float32", False), ("forward", "float32", True),
               ("backward", "float32", False), ("backward", "float32", True),
               ("forward", "float64", False), ("backward", "float64", False)]
    lines = ["| row | " + " | ".join(f"{p} {d}" + (", GEMM alone" if g else "")
                                     for p, d, g in columns) + " |",
             "|---|" + "---|" * len(columns)]
    conv = {(r["name"], r["pass"], r["dtype"]): r for r in rows if r["kind"] == "conv"}

    def cell(r: dict, gemm: bool) -> str:
        if gemm:
            return "" if r["gemm_ratio"] is None else f"{r['gemm_ratio']:.2f}"
        algorithm = f", {r['algorithm']}" if r.get("algorithm") else ""
        return f"{r['ratio']:.2f} ({r['convnb_gflops']:.3g}{algorithm})"

    for name in dict.fromkeys(r["name"] for r in rows if r["kind"] == "conv"):
        lines.append(f"| {name} | " + " | ".join(cell(conv[name, p, d], g)
                                                 for p, d, g in columns) + " |")

    def median(p: str, d: str, gemm: bool) -> str:
        s = medians[f"{p} {d}"]
        if gemm:
            return "" if s["gemm_median"] is None else f"{s['gemm_median']:.2f}"
        return f"{s['median']:.2f} ({s['worst']:.2f})"

    if conv:
        lines.append("| median (worst) | " + " | ".join(median(p, d, g)
                                                        for p, d, g in columns) + " |")
    lines += ["", "| pooling, forward+backward, float32 | x | convnb ms | PyTorch ms | ratio |",
              "|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] != "conv":
            options = ", ".join(f"{k}={v}" for k, v in r["options"].items())
            lines.append(f"| {r['name']} ({options}) | {tuple(r['x'])} | "
                         f"{1e3 * r['convnb_s']:.2f} | {1e3 * r['torch_s']:.2f} | "
                         f"{r['ratio']:.2f} |")
    return lines + ["", page_fault_line(rows)]


def page_fault_line(rows: list[dict]) -> str:
    """The rows where a convnb call touched fresh memory, at least a page per call in some
    round (:func:`bench.conv_rows.page_faults_per_call`), or that there were none. (Reports
    written before the count existed, or on a system without it, have no counts.)"""
    counts = [(r, r.get("page_faults", {}).get("convnb")) for r in rows]
    if all(n is None for _, n in counts):
        return "convnb's page faults per call: not counted."
    found = [f"{r['name']} {r['pass']} {r['dtype']} ({n:.0f})" for r, n in counts
             if n is not None and n >= 1]
    return ("convnb's page faults per call (pages of fresh memory touched, the most of any "
            "round): " + (", ".join(found) if found else "none on any row") + ".")


def markdown(report: dict) -> str:
    """The README's tables: the CPU's, and the GPU's when there was one."""
    m, gemm, source = report["machine"], report["gemm_gflops"], report["source"]
    commit = f"convnb at {source['commit']}" + (
        " with uncommitted changes" if source["convnb_changed"] else "")
    gpu = report["gpu"]
    algo = (f"`algo=\"{report['algo']}\"`" if report["algo"] != "benchmark" else
            "`algo=\"auto\"` after `convnb.conv_algos.set_benchmark(True)` (each shape's "
            "algorithms timed once on NumPy arrays; CuPy arrays keep the GPU rule)")
    if not report["rows"]:  # --gpu-only
        return "\n".join([
            f"{report['date']}; GPU: {gpu['card']}; CuPy {gpu['cupy']} (CUDA runtime "
            f"{gpu['cuda_runtime']}) against PyTorch {m['torch']} on CUDA, cuDNN {gpu['cudnn']}, "
            f"TF32 off; {algo} (in brackets: convnb's GFLOP/s and the algorithm it ran); "
            f"each time the median of "
            f"{report['repeats']} samples in the fastest of {report['rounds']} rounds, each "
            f"library in processes of its own; {commit}. \"GEMM alone\": cuBLAS's products of "
            f"im2col's shapes through `cupy.matmul`.", "", *tables(gpu["rows"], gpu["summary"])]
        ) + "\n"
    lines = [f"{report['date']}; {m['cpu']}, {m['cores']} cores, threads: {m['threads']} for both "
             f"libraries, each library in processes of its own; NumPy {m['numpy']}, PyTorch "
             f"{m['torch']}, Python {m['python']}; {algo} (in brackets: convnb's GFLOP/s and "
             f"the algorithm it ran); each time the "
             f"median of {report['repeats']} samples in the fastest of {report['rounds']} rounds; "
             f"the machine's matmul: "
             f"{gemm['float32']:.0f} GFLOP/s float32, {gemm['float64']:.0f} float64; {commit}.",
             "", *tables(report["rows"], report["summary"])]
    if gpu:
        lines += ["", f"GPU: {gpu['card']}; CuPy {gpu['cupy']} (CUDA runtime "
                      f"{gpu['cuda_runtime']}) against PyTorch {m['torch']} on CUDA, cuDNN "
                      f"{gpu['cudnn']}, TF32 off; the rows above and two ResNet layers.", "",
                  *tables(gpu["rows"], gpu["summary"])]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path, title: str, targets: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['name']} {r['pass']} {r['dtype']}" for r in rows]
    colours = {"forward": "tab:blue", "backward": "tab:orange", "forward+backward": "tab:green"}
    fig, ax = plt.subplots(figsize=(8, 0.22 * len(rows) + 1.5))
    ax.barh(range(len(rows)), [r["ratio"] for r in rows],
            color=[colours[r["pass"]] for r in rows])
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    colours = ("tab:purple", "tab:red", "tab:brown", "tab:olive")
    for (name, value), colour in zip(targets.items(), colours[:len(targets)], strict=True):
        ax.axvline(value, color=colour, linestyle="--", linewidth=1,
                   label=f"target: {name} {value} (float32)")
    ax.set_xlabel("time convnb / PyTorch (log scale; below 1: convnb faster)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="auto", choices=(*ALGOS, "benchmark"),
                        help="convnb.conv2d's algo for every row (default: auto); benchmark: "
                        "auto after convnb.conv_algos.set_benchmark(True), which times the "
                        "algorithms once per shape")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both libraries (default: NumPy's BLAS default)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of one process per library (4; --quick: 2)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="samples per library, row and round (3; --quick: 2)")
    parser.add_argument("--quick", action="store_true", help="one tiny row of each kind")
    parser.add_argument("--rows", nargs="+", default=None, metavar="NAME",
                        help="only the rows whose name contains one of these (e.g. pool, mid)")
    parser.add_argument("--gpu-only", action="store_true",
                        help="only the rows on a CUDA device (CuPy against PyTorch CUDA)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON and PNG")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("torch") is None:
        sys.exit("bench.conv_suite needs PyTorch: pip install -e '.[bench]'")
    if args.gpu_only:
        import torch

        if not torch.cuda.is_available():
            sys.exit("bench.conv_suite --gpu-only: PyTorch finds no CUDA device")
    if not any(pick_rows(args.quick, args.rows)):
        parser.error(f"--rows {' '.join(args.rows)}: no row's name contains any of these")
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    threads = args.threads or blas_threads() or os.cpu_count() or 1
    rounds = args.rounds or (2 if args.quick else 4)
    repeats = args.repeats or (2 if args.quick else 3)
    sample_s = 0.005 if args.quick else 0.05
    options = ["--threads", str(threads), "--algo", args.algo, "--repeats", str(repeats),
               "--sample-s", str(sample_s), *(["--quick"] if args.quick else []),
               *(["--gpu-only"] if args.gpu_only else [] if args.quick else ["--gpu"]),
               *(["--rows", *args.rows] if args.rows else [])]

    today = datetime.date.today().isoformat()
    print(f"convnb/PyTorch, algo={args.algo}, {rounds} rounds of {repeats} samples; "
          f"{cpu_model()}, {os.cpu_count()} cores, {threads} threads; {today}")
    n = 256 if args.quick else 2048
    gemm = {dtype: matmul_gflops(dtype, n, 2 * repeats, 4 * sample_s)
            for dtype in ("float32", "float64")}
    print(f"machine's matmul ({n}x{n}): {gemm['float32']:.1f} GFLOP/s float32, "
          f"{gemm['float64']:.1f} GFLOP/s float64", flush=True)
    libraries = ["convnb", "torch", "gemm"]
    with tempfile.TemporaryDirectory() as folder:
        timed = []
        for i in range(rounds):
            order = libraries[i % 2:] + libraries[:i % 2]  # who goes first alternates
            print(f"round {i + 1} of {rounds}: {', '.join(order)}", flush=True)
            timed.append({lib: child(lib, options, Path(folder)) for lib in order})
    rows, gpu_rows = merged(timed, "cpu"), merged(timed, "gpu")
    if args.gpu_only and gpu_rows is None:
        sys.exit("bench.conv_suite --gpu-only: CuPy or PyTorch found no CUDA device")
    found = {k: v for lib in libraries for k, v in timed[0][lib]["versions"].items()}
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": threads,
               "python": platform.python_version(), "numpy": found["numpy"],
               "torch": found["torch"], "blas_threads": found["blas_threads"],
               "torch_threads": found["torch_threads"]}
    gpu = None if gpu_rows is None else {
        "card": found["card"], "cupy": found["cupy"], "cuda_runtime": found["cuda_runtime"],
        "cudnn": found.get("cudnn"), "tf32": False, "rows": gpu_rows,
        "summary": summary(gpu_rows)}
    report = {"date": today, "machine": machine, "source": source(), "algo": args.algo,
              "quick": args.quick, "rounds": rounds, "repeats": repeats,
              "targets": TARGETS, "gemm_gflops": gemm, "gemm_size": n, "rows": rows,
              "summary": summary(rows), "gpu": gpu}
    if rows:
        print()
        print_rows(rows)
    if gpu:
        print(f"\nGPU ({gpu['card']}): convnb on CuPy against PyTorch CUDA (cuDNN, TF32 off)")
        print_rows(gpu_rows)
    for device, found in (("CPU", report["summary"]), ("GPU", gpu and gpu["summary"])):
        print()
        for key, s in (found or {}).items():
            floor = "" if s["gemm_median"] is None else f"; GEMM alone {s['gemm_median']:5.2f}"
            print(f"{device} {key:26} median ratio {s['median']:5.2f}, worst {s['worst']:5.2f}"
                  f"{floor}")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = (f"{today}-conv-suite" + ("-quick" if args.quick else "")
            + ("" if args.algo == "auto" else f"-{args.algo}")
            + ("" if args.rows is None else "-rows-" + "-".join(sorted(args.rows)))
            + ("-gpu" if args.gpu_only else f"-threads{threads}"))
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(report))
    if rows:
        plot(rows, args.out / f"{stem}.png",
             f"convnb / PyTorch on the CPU ({machine['cpu']}, {threads} threads, {today})",
             TARGETS)
    if gpu:
        plot(gpu_rows, args.out / (stem + ("" if args.gpu_only else "-gpu") + ".png"),
             f"convnb (CuPy) / PyTorch (cuDNN) on {gpu['card']}, {today}", GPU_TARGETS)
    print("\n" + markdown(report))
    print(f"wrote {args.out / stem}.json, .md and .png")
    return report


if __name__ == "__main__":
    main()
