"""Files written whole or not at all: each is written under a temp name beside it and renamed into place, so an
interrupt, a full disk or a crash leaves the previous file (or none), never a cut-short one that a rerun, a batch
adopting a killed run's output or a cache would take for finished work."""
from __future__ import annotations

import os
import threading
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """``text`` into ``path``, whole or not at all; the temp name is this process's and thread's, so writers of
    one path side by side never share it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
