"""The course secret: the hidden tests draw their cases from it, not from the public seeds.

A hidden test ``check_x(fn, seed=S, points=P)`` is written with a public seed ``S``
(``labs/text``, ``labs/source``). At release, :class:`autograder.nbgrader_hooks.SecretSeeds`
replaces ``S`` by :func:`derive_seed` of the course secret, the lab, the check and ``S``, before
nbgrader stores the hidden tests in the gradebook; the kernel runs those seeds when it grades, and
the rescoring derives the same ones. The released notebook has no hidden tests, so it holds
neither the secret nor a derived seed.

The secret is 32 random bytes, in hexadecimal, in ``<course>/course_secret`` (mode 0600, beside
``gradebook.db``, git-ignored). The first release creates it; grading never does: without the
secret the release used, rescoring would judge every record against other cases.

    secret = read_secret(Path("labs"), "grade")
    derive_seed(secret, "lab01_correlation", "check_correlate1d", 1101)   # 63 bits
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

SECRET_FILE = "course_secret"
SECRET_BYTES = 32


class SecretError(Exception):
    """The course secret is missing or unreadable; the message says what to do."""


def secret_path(root: Path | str) -> Path:
    """Where the secret of the course folder ``root`` lives."""
    return Path(root) / SECRET_FILE


def create_secret(root: Path | str) -> tuple[bytes, bool]:
    """The course's secret, created (mode 0600) if the course has none; ``(secret, created)``."""
    path = secret_path(root)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_secret(root, "release"), False
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(secrets.token_hex(SECRET_BYTES) + "\n")
    return read_secret(root, "release"), True


def read_secret(root: Path | str, command: str) -> bytes:
    """The secret of the course folder ``root``; :class:`SecretError` (naming ``command``) when
    there is none or it is not what :func:`create_secret` writes."""
    path = secret_path(root)
    if not path.is_file():
        raise SecretError(
            f"{command}: no course secret at {path}. The hidden tests' cases are drawn from the "
            "secret that released the lab: restore that file from the backup of the course's "
            "gradebook.db, or, for a new course, release the lab again first (python -m "
            "autograder release LAB creates a secret)")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise SecretError(f"{command}: {path} is not a course secret (expected "
                          f"{2 * SECRET_BYTES} hexadecimal digits, got {len(text)} characters)")
    return secret


def derive_seed(secret: bytes, lab: str, check: str, seed: int) -> int:
    """The seed a hidden test ``check(..., seed=seed)`` of ``lab`` really draws from: the first
    63 bits of HMAC-SHA256(secret, lab, check, seed). Without the secret it cannot be guessed
    from the public ``seed``."""
    message = "\0".join((lab, check, str(seed))).encode()
    return int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest()[:8], "big") >> 1


def _seed_literals(source: str) -> Iterator[tuple[str, ast.Call, ast.expr, int]]:
    """``(check, call, seed node, seed)`` for each ``check_*(..., seed=<int literal>)`` in
    ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (magics): the transform keeps every other line as is
        from IPython.core.inputtransformer2 import TransformerManager

        tree = ast.parse(TransformerManager().transform_cell(source))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        seed = next((k.value for k in node.keywords if k.arg == "seed"), None)
        if (name.startswith("check_") and isinstance(seed, ast.Constant)
                and type(seed.value) is int):
            yield name, node, seed, seed.value


def _hidden_lines(source: str, begin: str, end: str) -> set[int]:
    """The line numbers (from 1) strictly between a ``begin`` and an ``end`` delimiter line."""
    inside, lines = False, set()
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def _is_literal(text: bytes, value: int) -> bool:
    try:
        return ast.literal_eval(text.decode()) == value
    except (ValueError, SyntaxError, UnicodeDecodeError):
        return False


def with_secret_seeds(source: str, lab: str, secret: bytes, begin: str, end: str,
                      where: str = "cell") -> str:
    """``source`` with each check call's ``seed=S`` between the hidden-test delimiters ``begin``
    and ``end`` replaced by ``seed=derive_seed(secret, lab, check, S)``.

    A scored call (``points=``) with a seed outside the hidden region raises ``ValueError``: the
    released notebook would show the seed its hidden cases are drawn from.
    """
    hidden = _hidden_lines(source, begin, end)
    lines = source.split("\n")
    edits = []
    for name, call, node, seed in _seed_literals(source):
        if call.lineno not in hidden or node.lineno not in hidden:
            if any(k.arg == "points" for k in call.keywords):
                raise ValueError(f"{where}: {name}(..., seed={seed}, points=...) is outside "
                                 f"'{begin}' / '{end}': the student would see its seed")
            continue
        edits.append((node.lineno, node.col_offset, node.end_col_offset, seed,
                      derive_seed(secret, lab, name, seed)))
    for line, start, stop, seed, derived in sorted(edits, reverse=True):  # right to left
        raw = lines[line - 1].encode()  # ast's columns count UTF-8 bytes
        if not _is_literal(raw[start:stop], seed):
            raise ValueError(f"{where}: line {line} does not hold the seed {seed} at column "
                             f"{start} (a magic on that line?): {lines[line - 1]!r}")
        lines[line - 1] = (raw[:start] + str(derived).encode() + raw[stop:]).decode()
    return "\n".join(lines)
