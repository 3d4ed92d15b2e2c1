"""bench.conv_suite's smoke run: what it writes, and that its ratios and rates follow from its
times. Nothing here asserts a speed."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# --quick's rows: x (2, 3, 8, 8) * w (4, 3, 3, 3) with padding 1 keeps 8x8, so one forward does
# 2 * N * F * H_out * W_out * C * KH * KW flops; pooling 2x2 windows with stride 2.
TINY_FORWARD_FLOPS = 2 * 2 * 4 * 8 * 8 * 3 * 3 * 3
EXPECTED_ROWS = {
    ("tiny", "forward", "float32"), ("tiny", "backward", "float32"),
    ("tiny", "forward", "float64"), ("tiny", "backward", "float64"),
    ("max-tiny", "forward+backward", "float32"), ("avg-tiny", "forward+backward", "float32"),
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[dict, Path, str]:
    pytest.importorskip("torch", reason="the suite times PyTorch: install the 'bench' extra")
    out = tmp_path_factory.mktemp("results")
    run = subprocess.run([sys.executable, "-m", "bench.conv_suite", "--quick", "--threads", "1",
                          "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(next(out.glob("*.json")).read_text())
    return report, out, run.stdout


def test_quick_run_writes_dated_json_markdown_and_png(quick_run):
    report, out, stdout = quick_run
    stem = f"{report['date']}-conv-suite-quick-threads1"
    assert sorted(p.name for p in out.iterdir()) == [f"{stem}.{e}" for e in ("json", "md", "png")]
    assert (out / f"{stem}.png").read_bytes()[:8] == PNG_SIGNATURE
    table = (out / f"{stem}.md").read_text()
    assert table in stdout
    tiny = {(r["pass"], r["dtype"]): r for r in report["rows"] if r["name"] == "tiny"}
    def ratio(p: str, d: str) -> str:
        return f"{tiny[p, d]['ratio']:.2f} ({tiny[p, d]['convnb_gflops']:.3g}, im2col)"

    def floor(p: str) -> str:
        return f"{tiny[p, 'float32']['gemm_ratio']:.2f}"

    cells = [ratio("forward", "float32"), floor("forward"), ratio("backward", "float32"),
             floor("backward"), ratio("forward", "float64"), ratio("backward", "float64")]
    assert "| tiny | " + " | ".join(cells) + " |" in table
    machine = report["machine"]
    assert machine["threads"] == 1
    assert machine["cpu"] and machine["numpy"] and machine["torch"] and machine["python"]
    assert machine["blas_threads"] == machine["torch_threads"] == 1  # as each child reported
    assert report["algo"] == "auto" and report["quick"] is True and report["gpu"] is None
    assert (report["rounds"], report["repeats"]) == (2, 2)  # --quick: 2 rounds of 2 samples
    assert set(report["gemm_gflops"]) == {"float32", "float64"}
    assert all(rate > 0 for rate in report["gemm_gflops"].values())


def test_quick_run_has_one_row_per_shape_pass_and_dtype(quick_run):
    report, _, _ = quick_run
    assert {(r["name"], r["pass"], r["dtype"]) for r in report["rows"]} == EXPECTED_ROWS
    assert len(report["rows"]) == len(EXPECTED_ROWS)


def test_each_convolution_row_names_the_algorithm_auto_ran(quick_run):
    """The quick row has three input channels, which auto's rule sends to im2col both ways
    (convnb.conv_algos.choose.rule); pooling rows have no algorithm."""
    report, _, _ = quick_run
    for r in report["rows"]:
        assert r["algorithm"] == ("im2col" if r["kind"] == "conv" else None), r


def test_ratios_and_rates_follow_from_the_reported_times(quick_run):
    report, _, stdout = quick_run
    for r in report["rows"]:
        for lib in ("convnb", "torch"):  # the median of the least disturbed round
            assert [len(samples) for samples in r["runs"][lib]] == [report["repeats"]] * 2
            assert r[f"{lib}_s"] == pytest.approx(
                min(statistics.median(samples) for samples in r["runs"][lib]), rel=1e-12)
        assert r["ratio"] == pytest.approx(r["convnb_s"] / r["torch_s"], rel=1e-12)
        if r["kind"] == "conv":
            flops = TINY_FORWARD_FLOPS * (1 if r["pass"] == "forward" else 2)
            assert r["convnb_gflops"] == pytest.approx(flops / r["convnb_s"] / 1e9, rel=1e-12)
            assert [len(samples) for samples in r["runs"]["gemm"]] == [report["repeats"]] * 2
            assert r["gemm_s"] == pytest.approx(
                min(statistics.median(samples) for samples in r["runs"]["gemm"]), rel=1e-12)
            assert r["gemm_ratio"] == pytest.approx(r["gemm_s"] / r["torch_s"], rel=1e-12)
        else:  # pooling has no GEMM to time
            assert r["convnb_gflops"] is None and r["gemm_s"] is None and r["gemm_ratio"] is None
        printed = f"| {r['name']:13} | {r['pass']:16} | {r['dtype']:7} |"
        line = next(line for line in stdout.splitlines() if line.startswith(printed))
        assert f"| {r['ratio']:6.2f} |" in line
    for key, s in report["summary"].items():
        ratios = [r["ratio"] for r in report["rows"] if f"{r['pass']} {r['dtype']}" == key]
        assert s["median"] == pytest.approx(statistics.median(ratios), rel=1e-12)
        assert s["worst"] == max(ratios)
        floors = [r["gemm_ratio"] for r in report["rows"] if f"{r['pass']} {r['dtype']}" == key]
        if None in floors:
            assert s["gemm_median"] is None
        else:
            assert s["gemm_median"] == pytest.approx(statistics.median(floors), rel=1e-12)


def test_quick_run_counts_each_librarys_page_faults_and_reports_convnbs(quick_run):
    report, out, _ = quick_run
    for r in report["rows"]:
        libraries = {"convnb", "torch"} | ({"gemm"} if r["kind"] == "conv" else set())
        assert set(r["page_faults"]) == libraries
        assert all(n is not None and n >= 0 for n in r["page_faults"].values())
    faulty = [r for r in report["rows"] if r["page_faults"]["convnb"] >= 1]
    table = next(out.glob("*.md")).read_text()
    if faulty:
        assert all(f"{r['name']} {r['pass']} {r['dtype']} (" in table for r in faulty)
    else:
        assert "page faults per call (pages of fresh memory touched, the most of any round): " \
               "none on any row." in table


def test_page_faults_are_counted_for_fresh_memory_and_not_for_reused():
    """The kernel's count: 64 MiB is above glibc's largest mmap threshold (32 MiB), so each call
    maps fresh pages and touches them; refilling one buffer touches none for the first time."""
    from bench.conv_rows import page_faults_per_call

    buffer = np.empty(2**24, np.float32)
    assert page_faults_per_call(lambda: np.ones(2**24, np.float32)) >= 1
    assert page_faults_per_call(lambda: buffer.fill(1.0)) < 1


def test_the_gemm_floor_multiplies_what_im2col_multiplies_for_every_row():
    """"GEMM alone" times im2col's products: for each row, forward ``(groups, F/groups, K)`` by
    ``(groups, K, N*H_out*W_out)``, K = C/groups*KH*KW, with the output size PyTorch gives, and
    the backward's two products each as many multiply-adds as the forward."""
    torch = pytest.importorskip("torch", reason="PyTorch gives each row's output shape")
    from bench.conv_rows import CONV_ROWS, conv_flops, gemm_calls

    for row in CONV_ROWS:
        x = torch.zeros(row.x)
        N, F, H_out, W_out = torch.nn.functional.conv2d(x, torch.zeros(row.w), **row.options).shape
        _, Cg, KH, KW = row.w
        groups, K = row.options.get("groups", 1), Cg * KH * KW
        calls = gemm_calls(row, "float32")
        product = calls["forward"]()
        assert product.shape == (groups, F // groups, N * H_out * W_out)
        assert 2 * product.size * K == conv_flops(row) == 2 * N * F * H_out * W_out * K
        dcols, dw_t = calls["backward"]()
        assert dcols.shape == (groups, K, N * H_out * W_out)
        assert dw_t.shape == (groups, K, F // groups)


def test_gpu_only_markdown_has_the_gpu_tables_alone():
    """--gpu-only's report has no CPU rows: its markdown is the GPU's header and tables."""
    from bench.conv_suite import markdown, summary

    def row(name, passname, dtype, kind="conv"):
        return {"name": name, "kind": kind, "pass": passname, "dtype": dtype, "x": [2, 3, 8, 8],
                "w": [4, 3, 3, 3] if kind == "conv" else None, "options": {},
                "convnb_s": 3e-3, "torch_s": 1e-3, "gemm_s": 5e-4 if kind == "conv" else None,
                "ratio": 3.0, "gemm_ratio": 0.5 if kind == "conv" else None,
                "convnb_gflops": 12.5 if kind == "conv" else None}

    rows = [row("tiny", p, d) for p in ("forward", "backward") for d in ("float32", "float64")]
    rows.append(row("max-tiny", "forward+backward", "float32", "max_pool"))
    gpu = {"card": "Some GPU", "cupy": "14.2", "cuda_runtime": 13020, "cudnn": 91900,
           "tf32": False, "rows": rows, "summary": summary(rows)}
    report = {"date": "2026-11-28", "machine": {"torch": "2.11"}, "gemm_gflops": {},
              "source": {"commit": "abc1234", "convnb_changed": False}, "algo": "auto",
              "rounds": 2, "repeats": 3, "rows": [], "summary": {}, "gpu": gpu}
    text = markdown(report)
    assert text.startswith("2026-11-28; GPU: Some GPU; CuPy 14.2")
    assert "convnb at abc1234." in text and "threads" not in text
    assert "| tiny | 3.00 (12.5) | 0.50 | 3.00 (12.5) | 0.50 | 3.00 (12.5) | 3.00 (12.5) |" in text
    assert "| median (worst) | 3.00 (3.00) | 0.50 |" in text
    assert "| max-tiny () | (2, 3, 8, 8) | 3.00 | 1.00 | 3.00 |" in text
    assert text.endswith("convnb's page faults per call: not counted.\n")  # rows without counts


@pytest.mark.parametrize("command", [["-m", "bench.conv_suite", "--gpu-only"],
                                     ["-m", "bench.lenet_epoch", "--device", "gpu"]])
def test_gpu_benchmarks_say_so_without_a_gpu(command):
    torch = pytest.importorskip("torch", reason="the benchmarks time PyTorch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the benchmark would run")
    run = subprocess.run([sys.executable, *command], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode != 0
    assert "no CUDA device" in run.stderr


def test_winograd_bench_quick_run_prints_every_algorithm_and_autos_choice():
    run = subprocess.run([sys.executable, "-m", "bench.winograd", "--quick", "--threads", "1"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "| row | flat | im2col | winograd | auto takes |" in run.stdout
    tiny = next(line for line in run.stdout.splitlines() if line.startswith("| tiny |"))
    assert tiny.endswith("| flat |")  # 16 channels each way, but 6 tiles: too few for winograd


def test_auto_rule_bench_times_every_algorithm_and_names_the_rules_choice(tmp_path):
    """bench.auto_rule on one small depthwise layer: every algorithm that computes it is timed
    (measured.candidates), and the line names choose.rule's pick, the fastest, and their ratio as
    it follows from the times written to the JSON."""
    from convnb.conv import conv_geometry
    from convnb.conv_algos import choose, measured

    run = subprocess.run([sys.executable, "-m", "bench.auto_rule", "--rows", "dw-8", "--threads",
                          "1", "--repeats", "1", "--out", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    report = json.loads(next(tmp_path.glob("*-auto-rule-*-threads1.json")).read_text())
    assert report["threads"] == 1
    assert [(r["layer"], r["pass"]) for r in report["rows"]] == [("dw-8", "forward"),
                                                                ("dw-8", "backward")]
    g = conv_geometry("test", np.empty((4, 16, 8, 8)), np.empty((16, 1, 3, 3)), None, 1, 1, 1,
                      16, "zeros")
    for r in report["rows"]:
        assert set(r["ms"]) == set(measured.candidates(g))
        assert r["rule"] == choose.rule(g, r["pass"] == "backward", threads=1)
        assert r["fft_ratio"] == pytest.approx(choose.fft_ratio(g))  # the FFT rule's input
        assert r["fastest"] == min(r["ms"], key=r["ms"].get)
        ratio = r["ms"][r["rule"]] / r["ms"][r["fastest"]]
        line = next(line for line in run.stdout.splitlines() if f"| {r['pass']} |" in line)
        assert f"| {r['rule']} {r['ms'][r['rule']]:.3f} | {r['fastest']} " in line
        assert f"| {ratio:.2f} |" in line
    assert next(tmp_path.glob("*.md")).read_text().strip() in run.stdout


def test_transposed_bench_prints_both_libraries_times_and_their_ratio():
    """bench.transposed, one round of one sample: a line per layer and pass, whose ratio is
    convnb's time over PyTorch's as printed (to the rounding of the printed times)."""
    pytest.importorskip("torch", reason="the benchmark times PyTorch: install the 'bench' extra")
    from bench.transposed import ROWS

    run = subprocess.run([sys.executable, "-m", "bench.transposed", "--threads", "1",
                          "--rounds", "1", "--repeats", "1"], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "| layer | x | w | options | pass | convnb ms | PyTorch ms | ratio |" in run.stdout
    lines = [line for line in run.stdout.splitlines() if line.startswith("| ") and "ms" not in line
             and not line.startswith("|---")]
    assert [tuple(cell.strip() for cell in line.split("|")[1:6:4]) for line in lines] == [
        (name, passname) for name, *_ in ROWS for passname in ("forward", "backward")]
    for line in lines:
        mine, theirs, ratio = (float(cell) for cell in line.split("|")[6:9])
        assert ratio == pytest.approx(mine / theirs, rel=0.02, abs=0.01)


@pytest.mark.parametrize("row", range(3))
def test_transposed_bench_times_the_same_results_in_both_libraries(row):
    """What bench.transposed times computes the same in both: convnb's forward pass and its
    (dx, dw, db) against PyTorch's conv_transpose2d and convolution_backward on the same arrays,
    so neither library is timed on less work."""
    pytest.importorskip("torch", reason="the benchmark times PyTorch: install the 'bench' extra")
    from bench.transposed import ROWS, calls

    mine, theirs = (calls(library, *ROWS[row][1:]) for library in ("convnb", "torch"))
    for passname in ("forward", "backward"):
        found = mine[passname]()
        expected = theirs[passname]()
        for a, e in zip(found if passname == "backward" else [found],
                        expected if passname == "backward" else [expected], strict=True):
            e = e.numpy()
            np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


def test_the_lenet_epoch_writes_its_table_and_numbers(tmp_path):
    pytest.importorskip("torch", reason="the epoch times PyTorch: install the 'bench' extra")
    run = subprocess.run([sys.executable, "-m", "bench.lenet_epoch", "--threads", "1",
                          "--batches", "2", "--repeats", "1", "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    (table,), (numbers,) = tmp_path.glob("*-lenet-epoch-cpu-threads1.md"), tmp_path.glob("*.json")
    report = json.loads(numbers.read_text())
    text = table.read_text()
    assert text in run.stdout  # the file holds what was printed
    row = next(line for line in text.splitlines() if line.startswith("| convnb "))
    assert float(row.split("|")[2]) == pytest.approx(report["convnb_seconds"], abs=0.051)
    assert report["ratio"] == pytest.approx(report["convnb_seconds"] / report["torch_seconds"],
                                            abs=0.01 + 0.01 * report["ratio"])
