"""The checks that the labs' test cells call, and the framework they are built on.

A lab's test cells import its checks from ``autograder.checks.labNN``. Modules here:

* :mod:`.core` -- :class:`Check`, :class:`Case`, :class:`Diagnoser`: running, scoring, raising.
* :mod:`.compare` -- what counts as a correct result (strict types, shapes, dtypes, tolerance).
* :mod:`.hints` -- the wording of every hint; :mod:`.report` -- the feedback text.
* :mod:`.capture` -- keeps a student's prints and warnings out of the test cell.
* :mod:`.records` -- the grading record a hidden check displays for :mod:`autograder.rescore`.
* :mod:`.registry` -- every check by name; :mod:`.build` -- lab text files to nbgrader notebooks.
"""

from .compare import ArrayResult, BelowResult, IntResult, Output, ResultError
from .core import Case, Check, Diagnoser, Evaluation, partial_credit, pick
from .records import MIME
from .registry import get_check, load_all, register

__all__ = [
    "MIME", "ArrayResult", "BelowResult", "Case", "Check", "Diagnoser", "Evaluation", "IntResult",
    "Output", "ResultError", "get_check", "load_all", "partial_credit", "pick", "register",
]
