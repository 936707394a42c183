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
    fault of anyone's; a pipeline keeps the source). Its figures are attributes, and `to_dict` what
    ``jndenc encode --json`` prints for it."""

    exit_code = 4

    def __init__(self, message: str, output: str = "", video_bytes: int = 0, input_video_bytes: int = 0,
                 max_size: float = 0.0, shots: tuple[int, int] | None = None):
        super().__init__(message)
        self.output = output
        self.video_bytes = video_bytes  # the output's video, or its finished shots' where the run stopped early
        self.input_video_bytes = input_video_bytes
        self.max_size = max_size
        self.shots = shots  # (finished, of) where the run stopped before its last shot, else None

    def __reduce__(self):  # keep the figures through pickling (a Dask client, a worker process)
        return (type(self), (str(self), self.output, self.video_bytes, self.input_video_bytes, self.max_size,
                             self.shots))

    def to_dict(self) -> dict:
        return {"output": self.output, "written": False, "status": "over_size", "max_size": self.max_size,
                "video_bytes": self.video_bytes, "input_video_bytes": self.input_video_bytes,
                "shots_finished": None if self.shots is None else self.shots[0],
                "shots": None if self.shots is None else self.shots[1], "message": str(self)}


class FFmpegError(JndencError):
    """FFmpeg failed; ``log_tail`` holds the last lines of its stderr."""

    def __init__(self, message: str, log_tail: str = "", log_path: str | None = None):
        super().__init__(message)
        self.log_tail = log_tail
        self.log_path = log_path


def first_line(exc: BaseException, limit: int = 200) -> str:
    """A library's message, first line only: Keras listed every object it could not load, over 5 to 32 lines,
    where jndenc says a user's mistake in one."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
