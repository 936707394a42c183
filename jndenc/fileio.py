"""Files written whole or not at all: each is written under a temp name beside it and renamed into place, so an
interrupt, a full disk or a crash leaves the previous file (or none), never a cut-short one that a rerun, a batch
adopting a killed run's output or a cache would take for finished work."""
from __future__ import annotations

import math
import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import numpy as np


def temp_name(path: str | os.PathLike, *, keep_suffix: bool = False) -> Path:
    """The hidden name beside ``path`` that this process and thread write before the rename: writers of one path
    side by side (processes, or threads of a pipeline) never share it. It ends in ``.tmp``, or with
    ``keep_suffix`` in ``path``'s own name, for writers that pick the format by how the name ends (FFmpeg's muxer,
    Keras's ``.keras`` and ``.weights.h5``)."""
    path = Path(path)
    tag = f"{os.getpid()}.{threading.get_ident()}"
    return path.with_name(f".tmp-{tag}-{path.name}" if keep_suffix else f".{path.name}.{tag}.tmp")


@contextmanager
def replaced(path: str | os.PathLike, *, keep_suffix: bool = False) -> Iterator[Path]:
    """A temp name beside ``path`` to write (`temp_name`), renamed to ``path`` when the block ends without an
    error and removed however it ends."""
    path = Path(path)
    tmp = temp_name(path, keep_suffix=keep_suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def try_lock(path: str | os.PathLike, busy: str) -> IO[str] | None:
    """The open file ``path`` holding an exclusive lock (close it to release; the lock also goes with the process,
    however it ends); None where the file system takes no lock (an NFS share without a lock daemon). A `UserError`
    saying ``busy`` where another process holds it."""
    import fcntl

    from .errors import UserError

    fh = open(path, "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise UserError(busy) from None
    except OSError:
        fh.close()
        return None
    return fh


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """``text`` into ``path`` as UTF-8, whole or not at all (`replaced`); a file name's bytes that are not UTF-8
    (held as surrogates) are written back as the bytes they were."""
    with replaced(path) as tmp:
        tmp.write_text(text, encoding="utf-8", errors="surrogateescape")
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


def json_safe(x):
    """``x`` as strict JSON holds it: a non-finite float as None (a bare NaN is refused by most parsers), NumPy
    scalars as Python numbers, keys as strings."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, np.generic):
        return json_safe(x.item())
    return x
