"""The batch journal: one SQLite row per output file, in ``OUTPUT_DIR/.jndenc/journal.sqlite``.

Only the coordinating process writes it (workers, local or on Dask, return
plain dicts), so there is one writer and remote workers never need to reach
the file. Every state change is its own committed transaction, so a SIGKILL
loses at most the change in flight, and the order of writes makes that loss
safe: an item is marked ``running`` before its work is handed out, and
``done`` only after the worker has renamed a validated output into place.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import UserError

STATE_DIR = ".jndenc"
# over_size: encoded, but its video came out larger than --max-size allows against the input, so not written
# (the source is the file to keep; no failure, and not encoded again for the same input and options)
STATUSES = ("pending", "running", "done", "failed", "over_size")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,          -- output path relative to OUTPUT_DIR
    input TEXT NOT NULL,
    output TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    reason TEXT,
    input_size INTEGER,
    input_mtime_ns INTEGER,
    input_hash TEXT,
    options TEXT,                  -- fingerprint of the encode options that shape the output
    output_size INTEGER,
    frames INTEGER,
    duration_s REAL,
    crfs TEXT,                     -- JSON list, one CRF per shot
    timings TEXT,                  -- JSON from EncodeResult.timings
    result TEXT,                   -- JSON EncodeResult.to_dict() without the plan internals
    attempts INTEGER NOT NULL DEFAULT 0,
    encodes INTEGER NOT NULL DEFAULT 0,  -- completed encodes; >1 means work was repeated
    started_at REAL,
    finished_at REAL,
    updated_at REAL
);
"""

_HASH_CHUNK = 1 << 20


def quick_hash(path: str | os.PathLike) -> str:
    """sha256 of size + first and last MiB: cheap on multi-GB masters, catches replaced files.

    A full hash would read every input on every rerun, which is the cost the
    journal exists to avoid; size/mtime are checked first, this only decides
    when they disagree (a touched or copied-over file).
    """
    h = hashlib.sha256()
    size = os.path.getsize(path)
    h.update(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(_HASH_CHUNK))
        if size > 2 * _HASH_CHUNK:
            f.seek(-_HASH_CHUNK, os.SEEK_END)
            h.update(f.read(_HASH_CHUNK))
    return h.hexdigest()


@dataclass
class Fingerprint:
    size: int
    mtime_ns: int
    hash: str | None = None

    @classmethod
    def of(cls, path: str | os.PathLike, with_hash: bool = False) -> "Fingerprint":
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, quick_hash(path) if with_hash else None)


# SQLite takes text as UTF-8 only, and a file name may hold bytes that are not (Python keeps them as surrogates,
# which the driver refuses): such text is stored as the hex of its file-system bytes behind this mark, and read back
_FS_BYTES = "fs-bytes:"


def _to_db(value):
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _FS_BYTES + value.encode("utf-8", "surrogateescape").hex()
    return value


def _from_db(value):
    if isinstance(value, str) and value.startswith(_FS_BYTES):
        try:
            return bytes.fromhex(value[len(_FS_BYTES):]).decode("utf-8", "surrogateescape")
        except ValueError:
            return value
    return value


def _from_row(row) -> dict:
    return {k: _from_db(row[k]) for k in row.keys()}


class Journal:
    """SQLite-backed item states. ``readonly`` opens an existing journal without creating anything."""

    def __init__(self, output_dir: str | os.PathLike, readonly: bool = False):
        self.path = Path(output_dir) / STATE_DIR / "journal.sqlite"
        self.readonly = readonly
        if readonly:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) if self.path.exists() else None
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                # isolation_level=None: autocommit, each statement is durable on its own
                self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")  # 'done' must survive a power cut too
                self.db.executescript(_SCHEMA)
            except sqlite3.OperationalError as exc:  # a journal a user cannot write (another's, read-only)
                raise UserError(f"{self.path}: the batch journal cannot be opened for writing ({exc})") from None
        if self.db is not None:
            self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _ex(self, sql: str, params: tuple = ()):
        return self.db.execute(sql, tuple(_to_db(p) for p in params))

    def get(self, key: str) -> dict | None:
        if self.db is None:
            return None
        row = self._ex("SELECT * FROM items WHERE key = ?", (key,)).fetchone()
        return _from_row(row) if row is not None else None

    def rows(self) -> Iterator[dict]:
        """Every item, in key order."""
        if self.db is None:
            return
        for row in self.db.execute("SELECT * FROM items ORDER BY key"):
            yield _from_row(row)

    def _upsert(self, key: str, **fields) -> None:
        if self.readonly:
            raise RuntimeError("journal opened read-only")
        fields["updated_at"] = time.time()
        sets = ", ".join(f"{c} = ?" for c in fields)
        cur = self._ex(f"UPDATE items SET {sets} WHERE key = ?", (*fields.values(), key))
        if cur.rowcount == 0:
            cols = ", ".join(fields)
            marks = ", ".join("?" for _ in fields)
            self._ex(f"INSERT INTO items (key, {cols}) VALUES (?, {marks})", (key, *fields.values()))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # A change of several statements commits whole or not at all: an interrupt between them left an item
        # 'done' that counted no encode (a rolled-back 'done' stays 'running', and a rerun adopts the output)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def mark_pending(self, key: str, input: str, output: str) -> None:
        if self.get(key) is None:
            self._upsert(key, input=input, output=output, status="pending")

    def mark_running(self, key: str, input: str, output: str, fp: Fingerprint, options: str) -> float:
        started = time.time()
        with self._transaction():
            self._upsert(key, input=input, output=output, status="running", reason=None, input_size=fp.size,
                         input_mtime_ns=fp.mtime_ns, input_hash=fp.hash, options=options, started_at=started,
                         finished_at=None)
            self._ex("UPDATE items SET attempts = attempts + 1 WHERE key = ?", (key,))
        return started

    def mark_done(self, key: str, *, output_size: int, frames: int, duration_s: float | None, crfs: list,
                  timings: dict, result: dict) -> None:
        with self._transaction():
            self._upsert(key, status="done", reason=None, output_size=output_size, frames=frames,
                         duration_s=duration_s, crfs=json.dumps(crfs), timings=json.dumps(timings),
                         result=json.dumps(result), finished_at=time.time())
            self._ex("UPDATE items SET encodes = encodes + 1 WHERE key = ?", (key,))

    def mark_failed(self, key: str, reason: str, timings: dict | None = None, status: str = "failed") -> None:
        """``status``: failed, or over_size (an output not written because it would not shrink enough)."""
        self._upsert(key, status=status, reason=reason, timings=json.dumps(timings or {}), finished_at=time.time())

    def input_unchanged(self, row: dict, path: str | os.PathLike) -> bool:
        """Same size and mtime, or (when those moved) the same quick hash."""
        try:
            now = Fingerprint.of(path)
        except OSError:
            return False
        if now.size != row["input_size"]:
            return False
        if now.mtime_ns == row["input_mtime_ns"]:
            return True
        return row["input_hash"] is not None and quick_hash(path) == row["input_hash"]
