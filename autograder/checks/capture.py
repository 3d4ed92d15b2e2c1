"""Run a student's function without letting its prints and warnings reach the test cell.

nbgrader gives a test cell zero points when it writes anything to stderr, so a correct solution
that prints, logs or warns would lose its marks. Everything the function writes goes to buffers
instead, by every route Python has: ``sys.stdout``/``sys.stderr`` (redirected), streams that were
saved before the call (a ``logging`` handler holds on to the kernel's stderr: its ``write`` is
shadowed), the process's file descriptors 1 and 2 (C code, ``sys.__stderr__``), and warnings
(recorded).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Captured:
    """What the student's function wrote and warned while it was being checked."""

    text: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the feedback, or ``""`` when nothing was captured."""
        lines = [line for chunk in self.text for line in chunk.splitlines() if line.strip()]
        parts = []
        if lines:
            parts.append(f"printed {len(lines)} line(s) (first: {lines[0].strip()[:60]!r})")
        if self.warnings:
            parts.append(f"raised {len(self.warnings)} warning(s) (first: {self.warnings[0][:80]})")
        if not parts:
            return ""
        return ("note: your function " + " and ".join(parts) + " while being checked; "
                "it was captured and does not affect the grade.")


@contextlib.contextmanager
def _shadow_write(streams: list[object], sink: io.StringIO) -> Iterator[None]:
    shadowed = []
    for stream in streams:
        try:
            stream.write = sink.write  # type: ignore[attr-defined]
        except (AttributeError, TypeError):
            continue  # a C-level stream (no instance dict): file descriptors cover it
        shadowed.append(stream)
    try:
        yield
    finally:
        for stream in shadowed:
            del stream.write  # type: ignore[attr-defined]


@contextlib.contextmanager
def _file_descriptors(sink: list[str]) -> Iterator[None]:
    saved: list[tuple[int, int]] = []
    with tempfile.TemporaryFile(mode="w+b") as spill:
        try:
            for fd in (1, 2):
                try:
                    saved.append((fd, os.dup(fd)))
                    os.dup2(spill.fileno(), fd)
                except OSError:
                    continue  # no such descriptor (an embedded interpreter): nothing to catch
            yield
        finally:
            for stream in (sys.__stdout__, sys.__stderr__):
                with contextlib.suppress(Exception):
                    stream.flush()
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
            spill.seek(0)
            sink.append(spill.read().decode(errors="replace"))


@contextlib.contextmanager
def capture(captured: Captured) -> Iterator[None]:
    """Send every print, log line and warning made inside the block to ``captured``."""
    buffer = io.StringIO()
    streams = list({id(s): s for s in (sys.stdout, sys.stderr) if s is not None}.values())
    with contextlib.ExitStack() as stack:
        stack.enter_context(_file_descriptors(captured.text))
        stack.enter_context(contextlib.redirect_stdout(buffer))
        stack.enter_context(contextlib.redirect_stderr(buffer))
        stack.enter_context(_shadow_write(streams, buffer))
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        try:
            yield
        finally:
            captured.text.append(buffer.getvalue())
            captured.warnings.extend(f"{w.category.__name__}: {w.message}" for w in caught)
