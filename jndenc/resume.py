"""Finished shots kept across runs (`jndenc encode --resume`): a long encode stopped by an error, Ctrl-C or a lost
machine starts again where it stopped, not from the first shot.

The shot loop writes each finished shot's attempts and its kept segment into a work folder beside the output
whose name is a digest of everything that decides a shot's result (the input file as it is on disk, the plan,
the band, the encoder and the loop's settings, jndenc's version) and of the output's path (two outputs of one
input, say an MP4 and an MKV, run side by side without sharing a folder). A run with the same digest takes the shots
recorded there and encodes only the others; since a shot's result depends only on those inputs and on the shot it
starts from, the output is the one an uninterrupted run writes. A changed input or option gives another digest,
so nothing stale is reused.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

from .fileio import try_lock, write_text_atomic
from . import loop as L
from .errors import UserError

RECORD = "shot{:05d}.json"
PREFIX = ".jndenc-resume-"
SEGMENTS_PREFIX = ".jndenc-segments-"  # a run's own work folder beside its output, without --resume
ORPHAN_AGE_S = 60.0


def digest(src: Path, plan_dict: dict, **settings) -> str:
    """What decides every shot's result, hashed: the input (path, size, modification time), the plan and
    ``settings`` (band, encoder, loop options: anything JSON can hold)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("jndenc")
    except PackageNotFoundError:  # run from a source tree
        ours = "source"
    st = src.stat()
    key = {"version": ours, "src": os.path.abspath(src), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
           "plan": plan_dict, **settings}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]


def work_folder(src: Path, output: Path, plan, **settings) -> Path:
    """The work folder of one encode, beside its ``output`` (the segments' disk): named for the input, the output's
    path, what of ``plan`` decides the shots (their frames, starts and estimates, cuts and cut-backs, the codec
    options; not its timings, which change no result) and ``settings`` (band, encoder, loop options: anything
    that decides a shot and JSON can hold)."""
    decisive = {"shots": [[s.start_frame, s.end_frame, s.crf, s.jnd] for s in plan.shots], "options": plan.options,
                "codec": plan.codec, "preset": plan.preset, "cuts": plan.stats.get("cuts"),
                "returns": plan.stats.get("returns")}
    key = digest(src, decisive, output=os.path.abspath(output), **settings)
    return output.parent / f"{PREFIX}{output.name}.{key}"


def remove_stale(output: Path) -> None:
    """Once ``output`` is written, the work folders earlier runs left for it (a `--resume` encode stopped, then run
    again with another option or without `--resume`) go, unless a run holds one."""
    _remove_unheld(output.parent.glob(f"{PREFIX}{output.name}.*"))


def remove_orphans(folder: Path) -> None:
    """The segment folders in ``folder`` of runs killed outright (``kill -9``, the OOM killer: no handler ran to
    remove them): those no run holds (a run holds its folder until its process ends, however it ends) and untouched
    for a minute (a run between making its folder and locking it)."""
    import time

    def idle(p: Path) -> bool:
        try:
            return time.time() - p.stat().st_mtime >= ORPHAN_AGE_S
        except OSError:
            return False

    _remove_unheld(p for p in folder.glob(f"{SEGMENTS_PREFIX}*") if idle(p))


def _remove_unheld(folders) -> None:
    """Each of ``folders`` that no run holds, removed: one this process could lock (`ShotStore.acquire`); where
    another holds it, or the file system takes no lock (where no run could hold it either), it stays."""
    for other in folders:
        if not other.is_dir():
            continue
        store = ShotStore(other)
        try:
            store.acquire()
        except (UserError, OSError):
            continue
        try:
            if store.held:
                shutil.rmtree(other, ignore_errors=True)
        finally:
            store.release()


class ShotStore:
    """Finished shots in a work folder: one JSON record per shot beside its kept segment. One run at a time holds
    the folder (a lock on a file in it, released when the run's process ends however it ends)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self._lock = None

    def acquire(self) -> None:
        """Hold the folder, or refuse: two runs of the same encode would overwrite each other's attempts. On a file
        system that takes no lock the run goes on without (`held` is False)."""
        self._lock = try_lock(self.work / "lock", f"{self.work}: another jndenc run is encoding the same input with "
                                                  "--resume; wait for it or stop it")

    @property
    def held(self) -> bool:
        return self._lock is not None

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def save(self, i: int, shot, seg: Path) -> None:
        """Record shot ``i`` (a `jndenc.shotjob.ShotLoop`) and its kept segment; written whole or not at all."""
        rec = {"shot": dataclasses.asdict(shot), "segment": seg.name, "size": seg.stat().st_size}
        write_text_atomic(self.work / RECORD.format(i), json.dumps(rec))

    def load(self, n: int, make) -> dict:
        """``{i: (shot, segment)}`` for the shots of ``range(n)`` recorded here whose segment is still whole;
        ``make`` builds a shot from its recorded fields (`jndenc.shotjob.ShotLoop`)."""
        done = {}
        for i in range(n):
            p = self.work / RECORD.format(i)
            try:
                rec = json.loads(p.read_text())
                seg = self.work / rec["segment"]
                if seg.stat().st_size != rec["size"]:
                    continue
                fields = dict(rec["shot"])
                fields["attempts"] = [L.Attempt(**a) for a in fields["attempts"]]
                done[i] = (make(**fields), seg)
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not recorded, or left half-way: the shot runs again
        return done
