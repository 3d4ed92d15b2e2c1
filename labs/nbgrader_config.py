"""nbgrader's configuration for the course in this folder.

Read by `python -m autograder` (from the repository root) and by nbgrader's own commands and
formgrader when they run here (`cd labs && nbgrader formgrader`). Every folder lives beside this
file, whatever the working directory:

    source/<lab>/<lab>.ipynb        the instructor's notebooks (solutions and hidden tests)
    release/<lab>/                  the student version (`python -m autograder release <lab>`)
    submitted/<student>/<lab>/      collected submissions (`python -m autograder collect ...`)
    autograded/<student>/<lab>/     executed submissions
    feedback/<student>/<lab>/       HTML feedback, hidden tests removed, and the MathJax it
                                    renders formulas with (mathjax/): a folder to hand over
    gradebook.db                    nbgrader's SQLite gradebook
    course_secret                   the secret the hidden tests' cases are drawn from (created
                                    by the first release; back it up with the gradebook)
    roster.csv                      optional: nbgrader's student CSV (id, first_name, last_name,
                                    email, lms_user_id) plus an optional lms_name column

Submissions arrive through an LMS, so nbgrader's exchange is not used.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
c.CourseDirectory.directory_structure = os.path.join("{nbgrader_step}", "{student_id}",
                                                     "{assignment_id}")
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# Per cell. A lab that trains keeps each cell under 60 s with the solution; a slower student
# implementation gets twice that. A cell that runs longer is interrupted and scores zero.
c.Execute.timeout = 120  # autograder.kernel.CELL_SECONDS, check's default too
# An interrupted cell stops at its code's next step: a long NumPy call that began before the
# limit ends first. A cell still running this long after the interrupt fails the submission.
c.Execute.iopub_timeout = 30  # autograder.kernel.STOP_SECONDS, check's too
c.Execute.startup_timeout = 60

# nbgrader's own chains with the course's three steps (autograder/nbgrader_hooks.py), so that
# `nbgrader generate_assignment` and `nbgrader autograde` run here do what `python -m autograder
# release` and `grade` do: hidden tests drawn from the course secret, and the gradebook given the
# grader's own judgement of each test cell's recorded answers, never the kernel's claim.
c.GenerateAssignment.preprocessors = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearSolutions",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "autograder.nbgrader_hooks.SecretSeeds",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# nbgrader's own sanitizing steps, with OverwriteCells replaced by a subclass that puts the
# hidden tests back without logging "Attribute 'checksum' for cell ... has changed!" for each
# hidden test cell (the release removed them; autograder/sanitize.py). Real edits still warn.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "autograder.sanitize.OverwriteReleasedCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "autograder.sandbox.SandboxedExecute",  # nbgrader's Execute, each kernel in a sandbox
    "autograder.nbgrader_hooks.RescoreCells",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "autograder.nbgrader_hooks.SaveTrustedGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Late work (autograder/late.py). The due date is nbgrader's, in the gradebook: set it with
# `python -m autograder release LAB --due "2026-12-01 23:59 Europe/Berlin"`. A submission's time
# is its file's time in the LMS download; a zip stores it without a zone, read in this one
# ("": this machine's). A late notebook loses fraction_per_day of its score per day or part of
# a day late, at most max_fraction of it (fraction_per_day = 0: lateness reported, no penalty).
c.ArchiveTimes.timezone = ""
c.AssignLatePenalties.plugin_class = "autograder.late.PenaltyPerDay"
c.PenaltyPerDay.fraction_per_day = 0.1
c.PenaltyPerDay.max_fraction = 1.0

c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# Feedback shows each test's printed messages and score but never the hidden tests' source
# (nbgrader's default feedback does), nor the checks' machine records.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.StripHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# The feedback page carries its own MathJax, written beside it (autograder/feedback_html.py):
# nbgrader's template would load it from a CDN.
c.GenerateFeedback.exporter_class = "autograder.feedback_html.SelfContainedHTML"
