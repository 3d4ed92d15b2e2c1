"""Grading time per submission: ``python bench/grading.py [--lab LAB] [-n 40] [--jobs 1 2]``.

Copies the course's configuration and one lab (``lab01_correlation`` when the course has it,
else the pipeline's sample lab) into a temporary course, releases it, files ``-n`` submissions
(copies of the lab's solution notebook: every cell runs, the slowest case) and times
``python -m autograder grade`` end to end (autograde in the sandbox, rescoring, feedback, CSV
export, report) with each number of workers, checking that every run gives the gradebook the
grades of the first; ``--rounds R`` alternates the runs R times and compares medians (a shared
machine's load varies; before each parallel run it measures the machine's own ceiling, two
CPU-bound processes at once against one). ``--isolation off`` grades without the sandbox.
The goals (issues #10, #12): at most 5 s per submission on 2 cores, and 2 workers at least 1.8
times as fast as 1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbgrader

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.course import Course  # noqa: E402
from autograder.pipeline import grade, release  # noqa: E402
from autograder.sample_lab import LAB as SAMPLE_LAB  # noqa: E402
from autograder.sample_lab import write_sample_lab  # noqa: E402
from autograder.sandbox import Sandbox  # noqa: E402
from bench.lenet_epoch import cpu_model  # noqa: E402

DEFAULT_LAB = "lab01_correlation"


def _course(tmp: Path, lab: str | None, isolation: bool) -> tuple[Course, str]:
    labs = tmp / "labs"
    (labs / "source").mkdir(parents=True)
    config = (REPO / "labs" / "nbgrader_config.py").read_text()
    (labs / "nbgrader_config.py").write_text(config + ("" if isolation else
                                                       "\nc.Sandbox.enabled = False\n"))
    lab = lab or (DEFAULT_LAB if (REPO / "labs" / "source" / DEFAULT_LAB).is_dir() else None)
    if lab:
        shutil.copytree(REPO / "labs" / "source" / lab, labs / "source" / lab)
    else:
        lab = SAMPLE_LAB
        write_sample_lab(labs, lab)
    return Course.open(labs, "bench"), lab


def _submit(course: Course, lab: str, n: int) -> None:
    source = course.path("source", ".", lab)
    for i in range(n):
        folder = course.path("submitted", f"student{i:03d}", lab)
        folder.mkdir(parents=True, exist_ok=True)
        for notebook in source.glob("*.ipynb"):
            shutil.copy(notebook, folder / notebook.name)


def _grades(course: Course, lab: str) -> dict[str, dict[str, float | None]]:
    with course.gradebook() as gb:
        return {s.student.id: {g.name: g.auto_score for nb in s.notebooks for g in nb.grades}
                for s in gb.find_assignment(lab).submissions}


def _ceiling(seconds_of_work: float = 2.0) -> float:
    """How much faster this machine does two CPU-bound processes' work at once than one after
    the other, right now: the most 2 workers could gain (2.0 on two idle cores)."""
    loop = [sys.executable, "-c", f"import time\nt = time.process_time()\n"
            f"while time.process_time() - t < {seconds_of_work}: pass"]
    start = time.perf_counter()
    subprocess.run(loop, check=True)
    alone = time.perf_counter() - start
    start = time.perf_counter()
    both = [subprocess.Popen(loop) for _ in range(2)]
    for process in both:
        process.wait()
    return 2 * alone / (time.perf_counter() - start)


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", help=f"a lab of labs/source/ (default: {DEFAULT_LAB}, or the "
                                      "sample lab when the course has no such lab)")
    parser.add_argument("-n", "--submissions", type=int, default=40)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1,
                        help="grade with each --jobs value this many times, alternating (on a "
                             "shared machine the medians are fairer than one run)")
    parser.add_argument("--isolation", choices=["on", "off"], default="on",
                        help="grade in the sandbox (on, the default) or without it")
    args = parser.parse_args()

    rows, first = [], None
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course, lab = _course(Path(tmp), args.lab, args.isolation == "on")
        release(course, lab, say=lambda _: None)
        _submit(course, lab, args.submissions)
        for turn in range(1, args.rounds + 1):
            for jobs in args.jobs:
                ceiling = _ceiling() if jobs > 1 else None
                load, start = _load(), time.perf_counter()
                run = grade(course, lab, jobs=jobs, progress=False, say=lambda _: None)
                wall = time.perf_counter() - start
                grades = _grades(course, lab)
                first = first or grades
                worker = sum(r.seconds for r in run.results) / len(run.results)
                rows.append({"round": turn, "jobs": jobs, "submissions": len(run.results),
                             "failed": len(run.failed), "same_grades": grades == first,
                             "load_before": round(load, 1),
                             "ceiling": ceiling and round(ceiling, 2), "wall_s": round(wall, 2),
                             "s_per_submission": round(wall / len(run.results), 2),
                             "worker_s_per_submission": round(worker, 2)})
        limits = Sandbox(config=course.config).limits()
    medians = {jobs: statistics.median(r["wall_s"] for r in rows if r["jobs"] == jobs)
               for jobs in args.jobs}
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"grading {lab}: {args.submissions} solution submissions, end to end "
          f"(autograde, rescoring, feedback, CSV, report), isolation {args.isolation}"
          + (f" ({limits})" if args.isolation == "on" else ""))
    print(f"machine: {cpu_model()}, {cpus} CPUs available (load average {_load():.1f} after "
          f"the runs); Python {platform.python_version()}, nbgrader {nbgrader.__version__}; "
          f"{datetime.date.today()}")
    print("ceiling: two CPU-bound processes at once against one, just before the run")
    print(f"{'round':>5} {'jobs':>4} {'load':>5} {'ceiling':>8} {'wall s':>8} "
          f"{'s/submission':>13} {'worker s/submission':>20} failed same grades")
    for r in rows:
        ceiling = f"{r['ceiling']:.2f}" if r["ceiling"] else "-"
        print(f"{r['round']:>5} {r['jobs']:>4} {r['load_before']:>5.1f} {ceiling:>8} "
              f"{r['wall_s']:>8.1f} {r['s_per_submission']:>13.2f} "
              f"{r['worker_s_per_submission']:>20.2f} {r['failed']:>6} "
              f"{'yes' if r['same_grades'] else 'NO'}")
    base = medians[args.jobs[0]]
    for jobs, wall in medians.items():
        print(f"jobs {jobs}: median {wall:.1f} s, {wall / args.submissions:.2f} s per "
              f"submission, {base / wall:.2f} times as fast as jobs {args.jobs[0]}")
    print(json.dumps({"lab": lab, "cpus": cpus, "date": str(datetime.date.today()),
                      "isolation": args.isolation, "median_wall_s": medians, "runs": rows}))


if __name__ == "__main__":
    main()
