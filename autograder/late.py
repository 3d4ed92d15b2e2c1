"""Late work, on nbgrader's own fields: the due date, the submission time and the late penalty.

* The due date is nbgrader's ``Assignment.duedate`` in the gradebook, which nbgrader keeps in
  UTC without a zone. ``python -m autograder release LAB --due "2026-12-01 23:59 Europe/Berlin"``
  sets it (:func:`parse_due`; a zone is required), as nbgrader's own ``nbgrader db assignment
  add LAB --duedate=...`` would. A student's extension is nbgrader's too (formgrader).
* The submission time is ``timestamp.txt`` in the submission's folder, written by ``collect``
  from the file's time in the LMS download (``autograder.collect``); nbgrader's autograde reads it
  into ``Submission.timestamp`` and ``Submission.total_seconds_late`` compares it with the due date.
* The penalty is nbgrader's ``AssignLatePenalties`` step of autograde with the course's plugin,
  :class:`PenaltyPerDay`, named in ``labs/nbgrader_config.py``. It is written per notebook to
  ``SubmittedNotebook.late_submission_penalty``; nbgrader's CSV export subtracts it.
"""

from __future__ import annotations

import datetime
import math
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.api import Gradebook
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from traitlets import Float, TraitError, validate
from traitlets.config import Config

DAY = 24 * 3600
DUE_EXAMPLE = "'2026-12-01 23:59 Europe/Berlin' or '2026-12-01T23:59+01:00'"


class PenaltyPerDay(LateSubmissionPlugin):
    """A late notebook loses ``fraction_per_day`` of its score for every day or part of a day
    after the due date, at most ``max_fraction`` of it:

        penalty = score * min(max_fraction, fraction_per_day * ceil(seconds late / 86400))

    With the defaults (0.1, 1.0) a notebook one minute late loses 10 %, one 25 hours late 20 %,
    and one ten days late everything. Set ``fraction_per_day = 0`` for no penalty (lateness is
    still reported).
    """

    fraction_per_day = Float(0.1, help="The fraction of a late notebook's score lost per day "
                                       "or part of a day late (0 to 1).").tag(config=True)
    max_fraction = Float(1.0, help="The largest fraction of a notebook's score a late "
                                   "penalty takes (0 to 1).").tag(config=True)

    @validate("fraction_per_day", "max_fraction")
    def _fraction(self, proposal: dict) -> float:
        value = proposal["value"]
        if not 0 <= value <= 1:
            raise TraitError(f"PenaltyPerDay.{proposal['trait'].name}: expected a fraction "
                             f"from 0 to 1, got {value!r}")
        return value

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float:
        days = math.ceil(total_seconds_late / DAY)
        penalty = round(score * min(self.max_fraction, self.fraction_per_day * days), 2)
        self.log.info("%s is %d day(s) late: penalty %g of %g points", student_id, days,
                      penalty, score)
        return penalty


def recompute_penalties(config: Config, gb: Gradebook, lab: str, students: list[str]) -> None:
    """Each late notebook's penalty again, from its score now, by the plugin the course's
    ``AssignLatePenalties`` step uses (and with its bounds: 0 to the score).

    nbgrader's step computes the penalty during autograde from the score at that point; ``grade``
    may lower a score after it (the rescoring, the integrity checks), and a penalty must follow.
    """
    plugin = AssignLatePenalties(config=config).plugin_class(config=config)
    for student in students:
        submission = gb.find_submission(lab, student)
        late = submission.total_seconds_late
        for notebook in submission.notebooks:
            penalty = plugin.late_submission_penalty(student, notebook.score, late) \
                if late > 0 else None
            notebook.late_submission_penalty = None if penalty is None else \
                min(max(penalty, 0.0), notebook.score)
    gb.db.commit()


def parse_due(text: str, command: str = "release") -> datetime.datetime:
    """A due date with its zone, as nbgrader stores it: UTC without a zone.

    ``"2026-12-01 23:59 Europe/Berlin"`` (an IANA zone name after the time) or an ISO 8601 time
    with an offset (``"2026-12-01T23:59+01:00"``, ``"2026-12-01 22:59Z"``).
    """
    from .course import UsageError

    date, _, zone = text.strip().rpartition(" ")
    try:
        if date and not zone[:1].isdigit():
            when = datetime.datetime.fromisoformat(date).replace(tzinfo=ZoneInfo(zone))
        else:
            when = datetime.datetime.fromisoformat(text.strip())
    except (ValueError, ZoneInfoNotFoundError) as err:
        raise UsageError(command, f"--due '{text}' is not a date and time with a zone "
                                  f"({err}); expected e.g. {DUE_EXAMPLE}") from None
    if when.tzinfo is None:
        raise UsageError(command, f"--due '{text}' has no time zone; expected e.g. "
                                  f"{DUE_EXAMPLE}")
    return when.astimezone(datetime.UTC).replace(tzinfo=None)


def late_by(seconds: float) -> str:
    """``93784`` -> ``"1 d 2 h 3 min"``: how late, for people (``""`` when on time)."""
    if seconds <= 0:
        return ""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p)
