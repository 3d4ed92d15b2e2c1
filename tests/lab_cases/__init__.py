"""Each lab's wrong solutions for the lab test suite, ``CASES`` in ``labNN.py``; in
``BUILDS_ON``, students' functions that build on the lab's other graded functions, which
:func:`assert_judged_on_its_own` runs against the course's stand-ins; and students who cheat,
whose graded notebooks :func:`assert_flagged` reads."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Mapping, Sequence

from lab_suite import Lab, hidden_calls, notebook, solution
from nbgrader_course import solution_code


def _broken(name: str):
    def broken(*args, **kwargs):
        raise AssertionError(f"the student's own {name} ran, not the course's stand-in")
    return broken


def _defining_cell(lab: Lab, name: str) -> str:
    """The solution cell's code that defines ``name`` (a function or a class)."""
    found = [code for code in solution_code(notebook(lab)).values()
             if f"def {name}(" in code or f"class {name}(" in code]
    assert len(found) == 1, (name, len(found))
    return found[0]


def assert_judged_on_its_own(lab: Lab, check_name: str, codes: Sequence[str | None]) -> None:
    """``check_name``'s stand-ins replace the student's own functions it builds on.

    Each of ``codes`` defines the checked function as a student might (``None``: the solution's
    cell), calling some of the stand-ins; together they call every one. Each runs in the
    solution's namespace with those functions broken (they raise): it must pass every hidden and
    visible case, earn full points, name the stand-ins it called in its report, leave the broken
    functions in the namespace afterwards, and fail with the stand-ins taken away.
    """
    check, call = lab.checks[check_name], hidden_calls(lab)[check_name]
    called: set[str] = set()
    for code in codes:
        namespace = dict(solution(lab))
        broken = {name: _broken(name) for name in check.stand_ins}
        namespace.update(broken)
        exec(code or _defining_cell(lab, call.argument), namespace)  # noqa: S102 - test code
        student_fn = namespace[call.argument]
        run = check.evaluate(student_fn, call.seed)
        assert not run.failing, [run.verdicts[i].problem for i in run.failing]
        assert run.stood_in, "the function calls none of the stand-ins"
        called |= set(run.stood_in)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert check(student_fn, seed=call.seed, points=call.points) == call.points
            check(student_fn)  # the visible test passes too
        assert f"{run.stood_in[0]}" in out.getvalue() and "standing in for yours" in out.getvalue()
        assert all(namespace[name] is fn for name, fn in broken.items()), "not restored"
        alone = dataclasses.replace(check, stand_ins={})
        assert alone.evaluate(student_fn, call.seed).failing, "passes without the stand-ins"
    assert called == set(check.stand_ins), f"no test calls {set(check.stand_ins) - called}"


def assert_flagged(course, student: str, flagged: Mapping[str, str],
                   lost: Sequence[str] = ()) -> None:
    """In ``student``'s notebook, graded by nbgrader, each hidden test of ``flagged`` earns
    nothing, in the kernel and rescored, says so below its cell, and carries the evidence
    (``flagged[grade_id]``) to the grader: the rescoring's note, which grade's report and
    formgrader show. The tests of ``lost`` earn nothing without a flag; every other test keeps
    its points, with no note."""
    kernel, rescored = course.score(student), course.rescore(student)
    for grade_id, r in rescored.items():
        if grade_id in flagged:
            assert kernel[grade_id] == 0 and r.points == 0, grade_id
            assert r.note.startswith("scored 0, flagged by the check: "), r.note
            assert flagged[grade_id] in r.note, (flagged[grade_id], r.note)
            assert any(flagged[grade_id] in evidence for evidence in r.detected), r.detected
            text = course.cell_text(student, grade_id)
            assert "Flagged for the instructor, and scored 0:" in text, text
        elif grade_id in lost:
            assert kernel[grade_id] == r.points == 0 and r.note == "", grade_id
        else:
            assert r.points == kernel[grade_id] == r.max_points and r.note == "", grade_id
