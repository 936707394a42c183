"""Files written whole or not at all: each is written under a temp name beside it and renamed into place, so an
interrupt, a full disk or a crash leaves the previous file (or none), never a cut-short one that a rerun, a batch
adopting a killed run's output or a cache would take for finished work."""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def replaced(path: str | os.PathLike) -> Iterator[Path]:
    """A temp name beside ``path`` to write, renamed to ``path`` when the block ends without an error and removed
    however it ends; the name is this process's and thread's, so writers of one path side by side never share it
    (a writer that picks the format by suffix must be told the format: the temp name ends in ``.tmp``)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """``text`` into ``path``, whole or not at all (`replaced`)."""
    with replaced(path) as tmp:
        tmp.write_text(text)
    return Path(path)


@contextmanager
def interrupts_deferred(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver the first one to the handler that was in place:
    for files that are only whole together (weights and their sidecar), where an interrupt between two renames
    would pair new weights with the old record. Only the main thread receives signals; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[tuple[int, object]] = []
    old = {s: signal.signal(s, lambda n, frame: got.append((n, frame))) for s in signals}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if got:
            n, frame = got[0]
            if callable(old[n]):
                old[n](n, frame)
            elif old[n] == signal.SIG_DFL:
                signal.raise_signal(n)
