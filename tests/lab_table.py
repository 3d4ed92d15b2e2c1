"""The labs that the lab test suite (``tests/autograder/test_labs.py``) runs: one line a lab.

A lab's line names its folder and total points and, where it has them, its wrong solutions
(:class:`lab_suite.Lab`): ``students`` (notebooks graded by the real nbgrader, each with the hint
it must get), ``mistakes`` (wrong functions tried against one check each) and ``extra``
submissions for its own tests in ``tests/autograder/labs/test_labNN.py``. The course's labs keep
them in ``tests/lab_cases/labNN.py`` (``CASES``); a small lab can write them in its line.
``pytest -m lab01`` runs one lab's tests.
"""

from lab_cases import lab01, lab02, lab03, lab04, lab05, lab06, lab07
from lab_suite import Lab

LABS = [
    Lab("lab01_correlation", 20, **lab01.CASES),
    Lab("lab02_conv_forward", 20, **lab02.CASES),
    Lab("lab03_pooling", 20, **lab03.CASES),
    Lab("lab04_conv_backward", 20, **lab04.CASES),
    Lab("lab05_train_cnn", 30, **lab05.CASES),
    Lab("lab06_variants", 20, **lab06.CASES),
    Lab("lab07_fast_conv", 15, **lab07.CASES),
]


def lab(key: str) -> Lab:
    """The table's line for ``key`` (``"lab01"``)."""
    for entry in LABS:
        if entry.key == key:
            return entry
    raise KeyError(f"lab_table.lab: no line for {key!r} in LABS; the table has "
                   f"{[entry.key for entry in LABS]}")
