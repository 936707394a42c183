"""Exceptions that map to exit codes.

A `UserError` is something the user can fix (bad path, bad option, broken
input file): the CLI prints one line and exits 2. Anything else is a bug or an
environment problem and exits 1.
"""
from __future__ import annotations


class JndencError(Exception):
    """Base class; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UserError(JndencError):
    """Bad input, options or files: exit code 2, one line on stderr."""

    exit_code = 2


class InputError(UserError):
    """The input video cannot be used (missing, empty, no video, undecodable)."""


class OutputError(UserError):
    """The output cannot be written (disk full, folder gone or read-only): exit code 2."""


class OverSize(JndencError):
    """The output came out larger than ``--max-size`` allows against the input: nothing written, exit code 4 (no
    fault of anyone's; a pipeline keeps the source)."""

    exit_code = 4


class FFmpegError(JndencError):
    """FFmpeg failed; ``log_tail`` holds the last lines of its stderr."""

    def __init__(self, message: str, log_tail: str = "", log_path: str | None = None):
        super().__init__(message)
        self.log_tail = log_tail
        self.log_path = log_path
