"""The student-kernel side of grading: the checks that the labs' test cells call.

Everything in this package runs inside the student's Jupyter kernel (and in the grader's process
when it judges recorded outputs again). It imports nothing from the instructor's side of
:mod:`autograder`. A lab's test cells import its checks from ``autograder.checks.labNN``.

* :mod:`.core` -- :class:`Check` and :class:`Diagnoser`: running, scoring, raising.
* :mod:`.cases` -- :class:`Case` (one call) and :class:`CheckRun` (what a run found).
* :mod:`.compare` -- what counts as a correct result (strict types, shapes, dtypes, tolerance);
  :mod:`.scored` -- results judged by a requirement instead of one right value.
* :mod:`.hints` -- the wording of every hint; :mod:`.message` -- the text printed below a cell.
* :mod:`.capture` -- keeps a student's prints and warnings out of the test cell.
* :mod:`.records` -- the grading record a hidden check displays.
* :mod:`.registry` -- every check by name; :mod:`.common` -- helpers the lab modules share.
* :mod:`.detect` -- what the student's function calls while it runs (forbidden helpers, a
  removed tracer, constant answers, imitation arrays); :mod:`.originals` -- the functions the
  checks rely on, captured at import, to name any that were replaced.

The instructor's side (:mod:`autograder.build`, :mod:`autograder.rescore`,
:mod:`autograder.feedback`, ...) imports only the names in ``__all__`` below, from this package:
that list is the interface between the two sides (a test checks it).
"""

from .cases import Case, CheckRun
from .compare import ArrayResult, BelowResult, IntResult, Output, Result, ResultError
from .core import Check, Diagnoser, partial_credit, pick
from .hints import HINTS
from .records import MIME, RecordError, read_record, records_in
from .registry import get_check, load_all, register

__all__ = [
    "HINTS", "MIME", "ArrayResult", "BelowResult", "Case", "Check", "CheckRun", "Diagnoser",
    "IntResult", "Output", "RecordError", "Result", "ResultError", "get_check", "load_all",
    "partial_credit", "pick", "read_record", "records_in", "register",
]
