"""The error every command of ``python -m autograder`` raises when it cannot run as asked."""

from __future__ import annotations


class UsageError(Exception):
    """A command cannot run as asked; the message says what was expected and what was found."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command
