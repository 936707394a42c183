"""Progress bars: tqdm with ETA on a TTY, silent under --quiet or when stderr is not a terminal."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator


class _Null:
    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, desc: str) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    @property
    def n(self) -> int:
        return 0


@contextmanager
def bar(total: int | None, desc: str, quiet: bool = False, unit: str = "frame") -> Iterator:
    if quiet or not sys.stderr.isatty():
        yield _Null()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False) as t:
        yield t


class FrameCounter:
    """Adapter from FFmpeg's absolute frame numbers to tqdm increments."""

    def __init__(self, bar):
        self.bar = bar
        self.last = 0

    def __call__(self, frame: int) -> None:
        if frame > self.last:
            self.bar.update(frame - self.last)
            self.last = frame
