"""The course's grading, in two halves that run in different places.

* **The student's kernel**: :mod:`autograder.checks`, the checks that the labs' test cells call
  (they compare a student's function with convnb, print feedback and display a grading record).
  Students have this half; it imports nothing from the other.
* **The instructor's machine**: everything else here. :mod:`.build` makes the nbgrader
  notebooks from the labs' text; :mod:`.calls` reads the check calls in a test cell;
  :mod:`.rescore` judges the recorded outputs again outside the kernel; :mod:`.secret` keeps
  the course secret the hidden cases are drawn from; :mod:`.nbgrader_hooks` puts the secret
  seeds and the rescoring inside nbgrader's own converters; :mod:`.sandbox` runs each kernel
  in a bubblewrap sandbox; :mod:`.integrity` flags edited locked cells and fake reports;
  :mod:`.pipeline`, :mod:`.grading`, :mod:`.collect`, :mod:`.lms`, :mod:`.course`,
  :mod:`.feedback` and :mod:`.report` are the command line ``python -m autograder`` around
  nbgrader; :mod:`.selfcheck` is the students' ``check`` command. :mod:`.student_wheel` builds
  the students' package: the checks, :mod:`.selfcheck`, :mod:`.kernel` (the ``python3`` kernel)
  and :mod:`.usage` (``UsageError``), which need no nbgrader, and nothing else of this half.
  What the grader defends against is in ``labs/threat_model.md``. This half uses the checks
  only through the names ``autograder.checks`` exports.
"""
