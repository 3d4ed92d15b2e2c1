"""Find the check calls in a test cell's source: the lab builder validates them, the grader reads
the trusted seed and points from them (:mod:`autograder.rescore`)."""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckCall:
    """``name(student_fn, seed=seed, points=points)`` at ``line`` of a cell; ``argument`` is the
    name the student's function (or object) is passed by, ``None`` when it is not a plain name."""

    name: str
    seed: int | None
    points: float | None
    line: int
    argument: str | None = None


def _literal(node: ast.expr | None, what: str, name: str, types: tuple[type, ...]):
    if node is None:
        return None
    try:
        value = ast.literal_eval(node)
    except ValueError:
        value = object()
    if not isinstance(value, types) or isinstance(value, bool):
        kinds = " or ".join(t.__name__ for t in types)
        raise ValueError(f"{name}: {what} must be a literal {kinds} in the test cell, "
                         f"got {ast.unparse(node)!r}")
    return value


def parse_cell(source: str) -> ast.Module:
    """A notebook cell's source as Python's syntax tree, IPython's syntax (magics) turned into
    Python first; raises ``SyntaxError`` for a cell that is neither."""
    try:
        return ast.parse(source)
    except SyntaxError:
        # IPython syntax (magics) in the cell: turn it into Python first.
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))


def check_calls(source: str) -> list[CheckCall]:
    """Every call of a function named ``check_*`` in ``source``, in source order."""
    calls = []
    for node in ast.walk(parse_cell(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if not name.startswith("check_"):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        first = node.args[0] if node.args else None
        calls.append(CheckCall(name, _literal(keywords.get("seed"), "seed", name, (int,)),
                               _literal(keywords.get("points"), "points", name, (int, float)),
                               node.lineno, first.id if isinstance(first, ast.Name) else None))
    return sorted(calls, key=lambda c: c.line)


def last_expression_is_call(source: str) -> bool:
    """Whether the cell ends with an expression that is a call (nbgrader reads its value)."""
    body = parse_cell(source).body
    return bool(body) and isinstance(body[-1], ast.Expr) and isinstance(body[-1].value, ast.Call)
