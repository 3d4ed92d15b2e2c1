"""The Jupyter kernel the course runs notebooks in: this interpreter, named ``python3``.

Shared by the instructor's ``grade`` and the students' ``check``; it needs no nbgrader, so the
students' package (:mod:`autograder.student_wheel`) carries it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

KERNEL_NAME = "python3"
CELL_SECONDS = 120
"""The time a cell may run: ``c.Execute.timeout`` in ``labs/nbgrader_config.py`` when graded, and
``check``'s default, so that a cell that passes the students' check does not run out of time
in the grader."""
STOP_SECONDS = 30
"""How long a cell interrupted at its time limit may take to stop: ``c.Execute.iopub_timeout`` in
``labs/nbgrader_config.py`` when graded, and ``check``'s. Python takes the interrupt between two
steps of the student's code, so one long call (a large NumPy operation) that began before the
limit runs to its end first. A cell still running this long after the interrupt (an endless loop
that catches ``KeyboardInterrupt``) makes the submission fail to run; nbclient's default, 4 s,
did that to a cell whose last call ended 5 s after the interrupt."""


@contextmanager
def course_kernel() -> Iterator[Path]:
    """Within the block, the Jupyter kernel ``python3`` is this interpreter.

    Writes a kernelspec for ``sys.executable`` into a temporary data folder placed first on
    ``JUPYTER_PATH`` (inherited by worker processes), so that a machine whose own ``python3``
    kernel is another environment still grades with the course's.
    """
    with tempfile.TemporaryDirectory(prefix="autograder-kernel-") as tmp:
        spec = Path(tmp, "kernels", KERNEL_NAME)
        spec.mkdir(parents=True)
        spec.joinpath("kernel.json").write_text(json.dumps({
            # The kernel's own log goes to the instructor's terminal, not to the notebook:
            # keep it to errors (no debugger or plain-TCP warnings for each of 300 kernels).
            "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                     "-f", "{connection_file}", "--IPKernelApp.log_level=ERROR"],
            "display_name": f"Python 3 ({sys.executable})",
            "language": "python",
            "metadata": {"debugger": False},
        }))
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join([tmp, *([old] if old else [])])
        try:
            yield spec
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old
