"""Batch transcoding: many files, local processes or Dask, resumable through a journal.

``run(items, output_dir, ...)`` returns an iterator of `ItemResult`s in
completion order; its ``summary`` is filled in once it is exhausted (and
written to ``OUTPUT_DIR/.jndenc/summary.json``).

Why it is safe to kill at any moment: `jndenc.encode` renames a validated
temp file into place, and the journal (written only by this coordinating
process) marks an item ``done`` only after the worker reported that rename.
The one gap, a kill between the rename and the journal commit, is closed on
the next run by *adopting* the output: an item left ``running`` whose output
is newer than the attempt's start and whose plan file was written by that
attempt is recorded done without encoding it again.

Parallelism: each item is one process (``--jobs``) or one Dask task, and each
encode gets ``threads`` FFmpeg threads so that jobs x threads ~ cores.

This module holds the public API and the coordinator (journal decisions, the
dispatch loop, the summary); `batch_items` collects the inputs and
`batch_workers` holds the worker-side encode and the executors that run it.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from ..fileio import try_lock, write_text_atomic
from .items import Item, as_items, collect_items  # noqa: F401 - collect_items: public API, re-exported
from .learning import Learning
from .memory import fits, item_memory
from .summary import passes_of, result_of, start_of, summarize, unmeasured, verify_of
from .decide import EXISTS, adopt, decide, options_fingerprint
from .arguments import check_arguments, refused
from .workers import (dask_executor, default_parallelism, encode_item, failure_reason,
                      needs_model, process_executor)
from ..cluster import check_reachable
from ..effort import measures
from ..errors import UserError
from ..media.ffargs import available_memory, threads_per_job
from ..output import check_container, check_folder
from .journal import STATE_DIR, Fingerprint, Journal



@dataclass
class ItemResult:
    key: str
    input: str
    output: str
    status: str  # done | skipped | adopted | failed | over_size | would-encode | would-skip | would-fail
    reason: str | None = None
    input_bytes: int | None = None
    output_bytes: int | None = None
    frames: int | None = None
    duration_s: float | None = None
    crfs: list | None = None
    timings: dict | None = None
    encodes: int = 0  # times the batch folder finished this output (not the loop's attempts)
    options: dict = field(default_factory=dict)
    verify: dict | None = None  # worst-shot VMAF etc. when the encode verified its output
    passes: list | None = None  # --ensure/--tighten: each pass's bytes, worst shot, shots below, kept
    start: dict | None = None  # measured efforts: the learned offset its first attempts took, the starts' error

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- coordinator side


def _budget() -> int | None:
    """The bytes a local batch's files may hold together: most of the memory free when it starts."""
    free = available_memory()
    return None if free is None else int(free * 0.8)


class BatchRun:
    """Iterator over `ItemResult`s; ``summary`` is set when it is exhausted."""

    def __init__(self, items: list[Item], output_dir: Path, *, jobs: int | None, threads: int | None,
                 dask: str | None, dask_local: int | None, retry_failed: bool, dry_run: bool, quiet: bool,
                 encode_options: dict, report: bool = False, learn: bool = True, overwrite: bool = False):
        if "predictor" in encode_options:
            raise UserError("batch loads the model once per worker process; pass weights=, not predictor=")
        if dask and dask_local:
            raise UserError("--dask and --dask-local are exclusive")
        self.items, self.output_dir = items, output_dir
        self.dask, self.dask_local = dask, dask_local
        if dask_local:
            jobs = dask_local
            threads = threads or threads_per_job(None, dask_local)
        elif not dask:
            jobs, threads = default_parallelism(jobs, threads)
        self.jobs, self.threads = jobs, threads
        self.memory_waits = 0  # times a free slot stayed empty because the next file's memory did not fit
        self.not_measured: dict[str, str] = {}  # done earlier, taken as they are: what this run asked that they lack
        self.retry_failed, self.dry_run, self.quiet, self.report = retry_failed, dry_run, quiet, report
        self.learn, self.overwrite = learn, overwrite
        self.lag: int | None = None  # files side by side, set when the executor starts (`jndenc.batch.learning`)
        self.options = encode_options
        self.summary: dict | None = None
        self._check_containers()
        self._check_model()
        self._it = self._run()

    def __iter__(self) -> "BatchRun":
        return self

    def __next__(self) -> ItemResult:
        return next(self._it)

    def _check_containers(self) -> None:
        """--container webm with an x264 batch (or a manifest row's output named .ts) failed every such file, one
        by one, after the batch had started: said once, before any work."""
        for item in self.items:
            check_container(item.output, self.item_options(item).get("codec") or "x264")

    def _check_model(self) -> None:
        """Fail once, up front, rather than journal every item as failed for a missing model (or a --weights or
        --calibration file that is not there)."""
        for name in ("weights", "calibration"):
            path = self.options.get(name)
            if path is not None and not Path(path).is_file():
                raise UserError(f"--{name} {path}: no such file")
        if self.options.get("weights") or not any(needs_model(self.item_options(i)) for i in self.items):
            return
        from ..predictor import default_weights_path, no_weights_reason

        if default_weights_path() is None:
            raise UserError(f"{no_weights_reason()}; use --crf, --mode search or --weights PATH")

    @property
    def executor_name(self) -> str:
        if self.dask_local:
            return f"dask-local:{self.dask_local}"
        if self.dask:
            return f"dask:{self.dask}"
        return f"processes:{self.jobs}"

    def item_options(self, item: Item) -> dict:
        """The batch's options under the item's manifest overrides; a row that picks its own recipe (an effort
        level, or a mode or CRF) replaces the batch's choice of the other kind (a row's effort under a batch-wide
        --crf was dropped, and its --json still named it)."""
        base = dict(self.options)
        if item.overrides.get("effort") is not None:
            base.pop("mode", None), base.pop("crf", None)
        if item.overrides.get("mode") is not None or item.overrides.get("crf") is not None:
            base.pop("effort", None)
        return {**base, **item.overrides}

    def report_path(self, item: Item) -> Path | None:
        """Where ``--report`` writes the item's page: OUTPUT_DIR/.jndenc/reports/<output path>.html; an output a
        manifest sends outside OUTPUT_DIR gets <its name>-<a digest of its path>.html there (its absolute key
        joined to the folder replaced it, and the page overwrote a file beside that output)."""
        if not self.report:
            return None
        reports = self.output_dir / STATE_DIR / "reports"
        if not Path(item.key).is_absolute():
            return reports / (item.key + ".html")
        digest = hashlib.sha1(item.key.encode("utf-8", "surrogateescape")).hexdigest()[:12]
        return reports / "elsewhere" / f"{Path(item.key).name}-{digest}.html"

    def _plan_path(self, item: Item) -> Path:
        digest = hashlib.sha1(item.key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        return self.output_dir / STATE_DIR / "plans" / (digest + ".json")

    # -- decisions (`jndenc.batch.decide`) ----------------------------------

    def _decide(self, journal: Journal, item: Item) -> tuple[str, dict | None]:
        return decide(journal, item, options_fingerprint(self.item_options(item)), self._plan_path(item),
                      overwrite=self.overwrite, retry_failed=self.retry_failed)

    def _adopt(self, journal: Journal, item: Item, row: dict) -> ItemResult:
        adopt(journal, item, row, self._plan_path(item))
        return self._result(item, "adopted", journal.get(item.key))

    def _result(self, item: Item, status: str, row: dict | None, reason: str | None = None) -> ItemResult:
        row = row or {}
        crfs = json.loads(row["crfs"]) if row.get("crfs") else None
        timings = json.loads(row["timings"]) if row.get("timings") else None
        try:
            in_bytes = row.get("input_size") or item.input.stat().st_size
        except OSError:
            in_bytes = None
        return ItemResult(key=item.key, input=str(item.input), output=str(item.output), status=status,
                          reason=reason if reason is not None else row.get("reason"), input_bytes=in_bytes,
                          output_bytes=row.get("output_size") if status != "failed" else None,
                          frames=row.get("frames"), duration_s=row.get("duration_s"), crfs=crfs, timings=timings,
                          encodes=row.get("encodes") or 0, options=item.overrides, verify=verify_of(row),
                          passes=passes_of(row), start=self._start(item, row))

    def _start(self, item: Item, row: dict) -> dict | None:
        """The item's ``start``; in a learning batch with the source its offset came from."""
        start = start_of(row)
        return start | {"source": item.learns_with} if start and self.learn else start

    # -- the run ----------------------------------------------------------

    def _run(self) -> Iterator[ItemResult]:
        t0 = time.perf_counter()
        if self.dry_run:
            yield from self._dry_run()
            return
        counts = {"encoded": 0, "skipped": 0, "adopted": 0, "failed": 0, "not_retried": 0, "over_size": 0}
        media_s = 0.0
        if self.dask:
            check_reachable(self.dask)  # before the folder and its journal are made
        for folder in (self.output_dir, self.output_dir / STATE_DIR):
            check_folder(folder, "batch folder")
        with Journal(self.output_dir) as journal, self._held():
            todo: list[Item] = []
            for item in self.items:
                decision, row = self._decide(journal, item)
                if decision == "encode":
                    journal.mark_pending(item.key, str(item.input), str(item.output))
                    todo.append(item)
                    continue
                if decision == "exists":
                    journal.mark_pending(item.key, str(item.input), str(item.output))
                    journal.mark_failed(item.key, EXISTS)
                    counts["failed"] += 1
                    yield self._result(item, "failed", journal.get(item.key))
                    continue
                res = (self._adopt(journal, item, row) if decision == "adopt"
                       else self._result(item, {"skip": "skipped", "over_size": "over_size"}.get(decision, "failed"),
                                         row))
                if decision in ("skip", "adopt") and (why := unmeasured(journal.get(item.key) or {},
                                                                      self.item_options(item))):
                    self.not_measured[item.key] = why
                counts[{"skip": "skipped", "adopt": "adopted", "failed": "not_retried",
                        "over_size": "skipped"}[decision]] += 1
                yield res
            for res in self._execute(journal, todo):
                if res.status == "done":
                    counts["encoded"] += 1
                    media_s += res.duration_s or 0.0
                else:
                    counts["over_size" if res.status == "over_size" else "failed"] += 1
                yield res
            self.summary = self._summarize(journal, counts, media_s, time.perf_counter() - t0)
        write_text_atomic(self.output_dir / STATE_DIR / "summary.json", json.dumps(self.summary, indent=1))

    @contextmanager
    def _held(self) -> Iterator[None]:
        """The output folder for this run alone: a second batch into it encoded every file again beside the first
        and contradicted itself in its summary. The lock goes with the process, however it ends."""
        fh = try_lock(self.output_dir / STATE_DIR / "batch.lock",
                      f"{self.output_dir}: another jndenc batch is writing into this folder; wait for it or stop it")
        try:
            yield
        finally:
            if fh is not None:
                fh.close()

    def _dry_run(self) -> Iterator[ItemResult]:
        journal = Journal(self.output_dir, readonly=True)
        counts = {"would-encode": 0, "would-skip": 0, "would-fail": 0}
        try:
            for item in self.items:
                decision, row = self._decide(journal, item)
                status = {"encode": "would-encode", "skip": "would-skip", "adopt": "would-skip",
                          "over_size": "would-skip", "failed": "would-fail", "exists": "would-fail"}[decision]
                reason = EXISTS if decision == "exists" else None
                if decision == "encode":
                    reason = refused(self.item_options(item))  # a manifest row's option no file could run with
                    if reason is None and not item.input.is_file():  # as the run would say, reading it
                        reason = f"{item.input}: no such file"
                    status = "would-fail" if reason else status
                counts[status] += 1
                yield self._result(item, status, row, reason=reason)
        finally:
            journal.close()
        self.summary = {"dry_run": True, "items": len(self.items), **counts, "executor": self.executor_name,
                        "jobs": self.jobs, "threads": self.threads,
                        "learning_sources": self._sources() if self.learn else None}

    def _sources(self) -> int:
        """How many sources learn their starts apart: those of the files that run the measured loop."""
        return len({i.learns_with for i in self.items if measures(self.item_options(i))})

    def _executor(self):
        """(executor, slots, close); ``close(stop=True)`` interrupts running work where the executor can."""
        if self.dask or self.dask_local:
            return dask_executor(self.dask, self.dask_local)
        return process_executor(self.jobs)

    def _execute(self, journal: Journal, todo: list[Item]) -> Iterator[ItemResult]:
        if not todo:
            return
        from ..progress import bar

        executor, slots, close = self._executor()
        pos = {item.key: i for i, item in enumerate(self.items)}
        learning = self._learning(journal, todo, slots) if self.learn else None
        inflight: dict[cf.Future, Item] = {}
        # a local pool starts a file only where the memory its attempts hold fits beside the files running
        budget = None if (self.dask or self.dask_local) else _budget()
        held: dict[cf.Future, int] = {}
        needs: dict[str, int] = {}  # each file's estimate, read from its header once however often it waits
        crashes: dict[str, int] = {}
        done_bytes = 0
        stopped = True  # until every item is back: an interrupt, an error or a caller that stops iterating
        try:
            with bar(len(todo), "batch", self.quiet, unit="file") as pb:
                queue = list(todo)
                while queue or inflight:
                    # hand out only as many as can run, so 'running' in the journal means running; a learning
                    # batch also waits for the files the next one learns from
                    while queue and len(inflight) < slots:
                        if learning is not None and inflight and not learning.ready(pos[queue[0].key]):
                            break
                        head = queue[0]
                        if budget is not None and head.key not in needs:
                            needs[head.key] = item_memory(head.input, self.item_options(head))
                        need = needs.get(head.key, 0)
                        if not fits(need, sum(held.values()), budget):
                            self.memory_waits += 1
                            break
                        item = queue.pop(0)
                        try:
                            fp = Fingerprint.of(item.input, with_hash=True)
                        except OSError as exc:
                            journal.mark_failed(item.key, f"{item.input}: {exc.strerror or exc}")
                            if learning is not None:
                                learning.record(pos[item.key], None)
                            yield self._result(item, "failed", journal.get(item.key))
                            pb.update(1)
                            continue
                        opts = self.item_options(item)
                        journal.mark_running(item.key, str(item.input), str(item.output), fp,
                                             options_fingerprint(opts))
                        if learning is not None and measures(opts):  # derived, so not in the fingerprint
                            opts["start_offset"] = learning.offset(pos[item.key])
                        rep = self.report_path(item)
                        fut = executor.submit(encode_item, str(item.input), str(item.output), opts, self.threads,
                                              str(self._plan_path(item)), None if rep is None else str(rep))
                        inflight[fut] = item
                        held[fut] = need
                    if not inflight:
                        continue
                    pb.set_postfix_str(f"{done_bytes / 1e6:.1f} MB in; now: "
                                       + ", ".join(i.input.name for i in list(inflight.values())[:3]))
                    finished, _ = cf.wait(list(inflight), return_when=cf.FIRST_COMPLETED)
                    broken = False
                    for fut in finished:
                        item = inflight.pop(fut)
                        held.pop(fut, None)
                        try:
                            out = fut.result()
                        except cf.process.BrokenProcessPool:
                            # one item killed its worker and with it the pool: retry every item
                            # it took down once; an item that does it twice is the culprit
                            broken = True
                            crashes[item.key] = crashes.get(item.key, 0) + 1
                            if crashes[item.key] < 2:
                                queue.insert(0, item)
                                continue
                            out = {"ok": False, "reason": "the worker process died while encoding this file"}
                        except Exception as exc:  # noqa: BLE001 - e.g. a Dask worker lost
                            out = {"ok": False, "reason": failure_reason(exc)}
                        if learning is not None:
                            learning.record(pos[item.key], out.get("result") if out["ok"] else None)
                        yield self._record(journal, item, out)
                        done_bytes += item.input.stat().st_size if item.input.exists() else 0
                        pb.update(1)
                    if broken:
                        queue = sorted(queue + list(inflight.values()), key=lambda i: pos[i.key])
                        inflight.clear()
                        close()
                        executor, slots, close = self._executor()
            stopped = False
        finally:
            # stopped: no result still running would be journaled, so interrupt it rather than wait for it
            close(stop=stopped)

    def _learning(self, journal: Journal, todo: list[Item], slots: int) -> Learning:
        """Every file not to encode now has finished; the journal's results give the labels of those done."""
        self.lag = slots
        waiting = {i.key for i in todo}
        finished = [k for k, item in enumerate(self.items) if item.key not in waiting]
        learning = Learning(slots, finished, [item.learns_with for item in self.items])
        for k in finished:
            row = journal.get(self.items[k].key)
            if row is not None and row["status"] == "done":
                learning.record(k, result_of(row))
        return learning

    def _record(self, journal: Journal, item: Item, out: dict) -> ItemResult:
        if out["ok"]:
            journal.mark_done(item.key, output_size=out["bytes"], frames=out["frames"],
                              duration_s=out["duration_s"], crfs=out["crfs"], timings=out["timings"],
                              result=out["result"])
            return self._result(item, "done", journal.get(item.key))
        status = "over_size" if out.get("over_size") else "failed"
        journal.mark_failed(item.key, out["reason"], out.get("timings"), status)
        return self._result(item, status, journal.get(item.key))

    def _summarize(self, journal: Journal, counts: dict, media_s: float, wall: float) -> dict:
        keys = [i.key for i in self.items]
        mine = set(keys)
        return summarize([r for r in journal.rows() if r["key"] in mine], keys, counts, media_s, wall,
                         {"executor": self.executor_name, "jobs": self.jobs, "threads": self.threads,
                          "memory_waits": self.memory_waits}, learn=self.learn, lag=self.lag,
                         sources={i.key: i.learns_with for i in self.items}) | {"not_measured": self.not_measured}


def run(items: Iterable[Item | str | os.PathLike | dict], output_dir: str | os.PathLike, *, jobs: int | None = None,
        threads: int | None = None, dask: str | None = None, dask_local: int | None = None,
        retry_failed: bool = False, dry_run: bool = False, quiet: bool = True, container: str = "mp4",
        report: bool = False, learn: bool = True, overwrite: bool = False, **encode_options) -> BatchRun:
    """Encode ``items`` into ``output_dir``; iterate the result to drive the work.

    ``items``: `Item`s from `collect_items`, manifest-style dicts
    (``{"input": ..., "output": ..., "crf": ...}``) or input paths.
    ``encode_options`` are `jndenc.encode` plan options (mode, crf, codec, preset,
    target_jnd, ...), overridden per item by the item's overrides. ``jobs``
    local processes (see `default_parallelism`), or ``dask_local`` LocalCluster
    workers, or ``dask`` a scheduler address (inputs and OUTPUT_DIR must then
    be at the same paths on every worker). ``report``: each encoded item's page (`jndenc.report`) under
    OUTPUT_DIR/.jndenc/reports/, named after its output. ``learn``: each measured file's shots correct the first
    attempts of the files after it in input order (`jndenc.batch.learning`); the summary's ``learning`` reports the
    starts' error and the attempts per shot by quarter of the batch. ``overwrite``: replace outputs this batch's
    journal does not know (without it such a file fails, untouched).
    """
    if isinstance(items, (str, bytes, os.PathLike)):
        # a folder is what the CLI takes here: iterated, a path gave one "file" per character
        raise TypeError("items takes a list of inputs or manifest rows, not one path (collect_items(folder, "
                        "output_dir) lists a folder's videos)")
    check_arguments(dict(jobs=jobs, threads=threads, dask_local=dask_local),
                    dict(retry_failed=retry_failed, dry_run=dry_run, quiet=quiet, report=report, learn=learn,
                         overwrite=overwrite), encode_options)
    out = Path(output_dir).absolute()
    return BatchRun(as_items(items, out, container), out, jobs=jobs, threads=threads, dask=dask,
                    dask_local=dask_local, retry_failed=retry_failed, dry_run=dry_run, quiet=quiet,
                    encode_options=encode_options, report=report, learn=learn, overwrite=overwrite)
