"""The course's grading: checks for the labs' tests (:mod:`autograder.checks`), the grader-side
verification of their results (:mod:`autograder.rescore`) and the instructor's command line
(``python -m autograder``) around nbgrader."""
