"""Grading records: what a hidden check leaves in the notebook for the grader to verify.

A hidden check displays one record in its cell, as display data of MIME type :data:`MIME`::

    {"version": 1, "check": "check_correlate1d", "seed": 10111, "points": 3,
     "outputs": [{"kind": "ndarray", "type": "numpy.ndarray", "shape": [4], "dtype": "float64",
                  "npy": "<base64 of np.save>", "error": null}, ...],
     "detected": [{"kind": "forbidden", "evidence": "correlate1d called convnb.correlate2d, ..."}]}

``outputs`` holds the student's result for every case, in the order the check draws them. The
grader regenerates the cases from the trusted seed and judges these outputs itself
(:mod:`autograder.rescore`), so a record cannot raise a score, only carry the student's answers.
Arrays are stored with ``np.save`` and read back with ``allow_pickle=False``.

``detected`` is what the check saw the function do that scores the item 0
(:mod:`.detect`: forbidden calls, fake or constant results, replaced functions); the grader
scores such a record 0 too. An empty list is the kernel's claim that it saw nothing, which the
grader cannot verify.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .compare import Output
from .detect import Detected

MIME = "application/vnd.convnb.check+json"
VERSION = 1


class RecordError(ValueError):
    """A record that cannot be read (damaged, forged or from another version)."""


def encode_output(out: Output) -> dict[str, Any]:
    npy = None
    if out.values is not None:
        buffer = io.BytesIO()
        np.save(buffer, out.values, allow_pickle=False)
        npy = base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"kind": out.kind, "type": out.type_name,
            "shape": None if out.shape is None else list(out.shape),
            "dtype": out.dtype, "npy": npy, "error": out.error}


def decode_output(data: Any) -> Output:
    try:
        values = None
        if data["npy"] is not None:
            raw = base64.b64decode(data["npy"].encode("ascii"), validate=True)
            values = np.load(io.BytesIO(raw), allow_pickle=False)
        shape = None if data["shape"] is None else tuple(int(n) for n in data["shape"])
        out = Output(str(data["kind"]), str(data["type"]), shape,
                     None if data["dtype"] is None else str(data["dtype"]), values,
                     None if data["error"] is None else str(data["error"]))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise RecordError(f"an output could not be read: {exc}") from exc
    if values is not None and (values.shape != shape or str(values.dtype) != out.dtype):
        raise RecordError("an output's values do not match its shape and dtype")
    return out


def make_record(check: str, seed: int | None, points: float | None,
                outputs: Sequence[Output], detected: Sequence[Detected] = ()) -> dict[str, Any]:
    return {"version": VERSION, "check": check, "seed": seed, "points": points,
            "outputs": [encode_output(o) for o in outputs],
            "detected": [{"kind": d.kind, "evidence": d.evidence} for d in detected]}


class Record(NamedTuple):
    """A grading record as read back: the check's name, seed and points as the kernel ran
    them, the outputs, and what the check detected."""

    check: Any
    seed: Any
    points: Any
    outputs: list[Output]
    detected: list[Detected]


def _detected(data: Any) -> list[Detected]:
    if not isinstance(data, list) or not all(
            isinstance(d, dict) and isinstance(d.get("kind"), str)
            and isinstance(d.get("evidence"), str) for d in data):
        raise RecordError("the record has no list of detections (kind and evidence)")
    return [Detected(d["kind"], d["evidence"]) for d in data]


def read_record(data: Any) -> Record:
    """The :class:`Record` in ``data``; :class:`RecordError` if unreadable."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise RecordError(f"not a version-{VERSION} grading record")
    outputs = data.get("outputs")
    if not isinstance(outputs, list):
        raise RecordError("the record has no list of outputs")
    return Record(data.get("check"), data.get("seed"), data.get("points"),
                  [decode_output(o) for o in outputs], _detected(data.get("detected")))


def records_in(outputs: Sequence[Any]) -> list[Any]:
    """The record payloads among a notebook cell's outputs, in order."""
    return [o["data"][MIME] for o in outputs
            if o.get("output_type") in ("display_data", "execute_result")
            and MIME in o.get("data", {})]


def emit(record: dict[str, Any]) -> None:
    """Display ``record`` in the running IPython kernel; outside a kernel there is nowhere to."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return
    if get_ipython() is None:
        return
    n = len(record["outputs"])
    display({MIME: record, "text/plain": f"[grading record of {record['check']}: {n} cases]"},
            raw=True)
