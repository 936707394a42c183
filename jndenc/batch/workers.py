"""Batch workers: the per-file encode that runs in a worker process, and the executors that run it.

`encode_item` runs in a local process pool (`process_executor`) or on Dask
(`dask_executor`); it never raises for a bad file but reports a plain dict the
coordinator journals. Each worker process loads the JND model once and shares
it among the items it encodes. Pool workers watch their parent and stop (and
clean up) when a SIGKILLed coordinator dies.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import FFmpegError, JndencError, OverSize
from ..fileio import write_text_atomic
from ..cluster import dask_executor  # noqa: F401 - batch's executors: local processes here, Dask there
from ..media.ffargs import threads_per_job

DEFAULT_THREADS = 2  # FFmpeg threads per encode when neither --jobs nor --threads is given


def default_parallelism(jobs: int | None, threads: int | None, cores: int | None = None) -> tuple[int, int]:
    """(jobs, FFmpeg threads per encode) with jobs x threads ~ cores.

    Neither given: ``threads = 2`` and ``jobs = cores // 2`` (x264/x265 scale
    well to 2 threads; beyond that, whole files in parallel use cores better).
    Only ``jobs``: ``threads = cores // jobs``. Only ``threads``: ``jobs = cores // threads``.
    """
    cores = cores or os.cpu_count() or 1
    if jobs is None:
        threads = threads or DEFAULT_THREADS
        jobs = max(1, cores // threads)
    elif threads is None:
        threads = threads_per_job(cores, jobs)
    return jobs, threads


# ---------------------------------------------------------------- worker side

_PREDICTORS: dict[str, Any] = {}


def _predictor(weights) -> Any:
    """One model per worker process, shared by every item it encodes."""
    key = str(weights or "")
    if key not in _PREDICTORS:
        from ..pipeline import load_predictor

        _PREDICTORS[key] = load_predictor(weights)
    return _PREDICTORS[key]


def needs_model(opts: dict) -> bool:
    """Whether these encode options plan with the JND model (predict, or guided starting from it; no fixed CRF)."""
    if opts.get("crf") is not None:
        return False
    from ..modes import REGISTRY

    m = REGISTRY.get(opts.get("mode", "predict"))
    return m is not None and m.needs_model(opts.get("prior"))


def _auto_threads() -> int | None:
    """Inside a Dask worker: share its cores among the tasks it runs at once."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import get_worker

        return threads_per_job(None, get_worker().state.nthreads)
    except (ValueError, AttributeError):
        return None


def failure_reason(exc: BaseException) -> str:
    """One line for the journal: the error, FFmpeg's last log line, the type of an unexpected exception."""
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, FFmpegError) and exc.log_tail:
        last = exc.log_tail.strip().splitlines()[-1:] or [""]
        msg = f"{msg}: {last[0].strip()}"
    if not isinstance(exc, JndencError):
        msg = f"{type(exc).__name__}: {msg}"
    return msg


def encode_item(src: str, dst: str, options: dict, threads: int | None, plan_path: str,
                report_path: str | None = None) -> dict:
    """Run in a worker process (local pool or Dask): encode one file, report a plain dict.

    Never raises for a bad file: the reason travels back so the coordinator can
    journal it and carry on.
    """
    global _BUSY
    _BUSY = True
    try:
        return _encode_item(src, dst, options, threads, plan_path, report_path)
    finally:
        _BUSY = False


def item_encode_options(options: dict) -> dict:
    """An item's options (the batch's, under its manifest row's: `BatchRun.item_options`) as `jndenc.encode` takes
    them."""
    opts = dict(options)
    # the batch runs files side by side: one shot at a time within each (encoded, or probed by fast's probes)
    opts.setdefault("jobs", 1)
    if opts.get("mode") is not None or opts.get("crf") is not None or opts.get("effort") == "fast":
        opts.pop("resume", None)  # only the shot loop has shots to take up
    return opts


def _encode_item(src: str, dst: str, options: dict, threads: int | None, plan_path: str,
                 report_path: str | None) -> dict:
    from ..encode import encode
    from ..options import EncodeOptions

    t0 = time.perf_counter()
    try:
        opts = item_encode_options(options)
        if needs_model(opts):
            opts["predictor"] = _predictor(opts.get("weights"))
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        Path(plan_path).parent.mkdir(parents=True, exist_ok=True)
        options = EncodeOptions.from_kwargs(overwrite=True, quiet=True, plan_out=plan_path,
                                            threads=threads if threads is not None else _auto_threads(), **opts)
        r = encode(src, dst, options)
        if report_path is not None:
            from ..report import write

            Path(report_path).parent.mkdir(parents=True, exist_ok=True)
            write(r, report_path)
    except Exception as exc:  # noqa: BLE001 - any failure is this item's, not the batch's
        if isinstance(exc, OverSize):
            # final for this batch (a rerun keeps the source): the shots it had finished would wait for an output
            # that is never written, in a hidden folder of OUTPUT_DIR nothing else removes
            from ..resume import remove_stale

            remove_stale(Path(dst))
        return {"ok": False, "reason": failure_reason(exc), "over_size": isinstance(exc, OverSize),
                "timings": {"total_s": round(time.perf_counter() - t0, 3)}}
    d = r.to_dict()
    out = {"ok": True, "bytes": r.bytes, "frames": r.frames,
           "duration_s": r.frames / r.plan.fps if r.plan.fps else None,
           "crfs": [s["crf"] for s in d["shots"]], "timings": r.timings, "result": d}
    try:
        # beside the plan, for a coordinator that is gone by now (Ctrl-C stops a Dask batch's client, and the
        # file being encoded on a worker still finishes): the rerun adopts the output with its result, whose start
        # labels the files after it learn from
        write_text_atomic(result_path(plan_path), json.dumps(out))
    except OSError:
        pass
    return out


def result_path(plan_path: str | os.PathLike) -> Path:
    """Where a worker keeps an item's result beside its plan (`_encode_item`)."""
    return Path(plan_path).with_suffix(".result.json")


def _watch_parent(ppid: int) -> None:
    # A SIGKILLed coordinator cannot shut its pool down; without this the
    # orphaned workers would keep encoding (and renaming) behind a rerun.
    while os.getppid() == ppid:
        time.sleep(0.5)
    # aimed at the main thread: only there does the signal interrupt a blocking read; the
    # interrupt lets encode() kill FFmpeg and remove its temp file
    signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)
    # the pool's worker loop swallows that interrupt and would wait forever for work
    # from the dead parent (it holds its own queue's write end, so no EOF comes)
    time.sleep(3.0)
    os._exit(1)


_BUSY = False  # an item is being encoded in this worker
_STOPPING = False  # and a signal has already interrupted it


def _on_stop_signal(signum, frame):
    global _STOPPING
    if _BUSY and not _STOPPING:
        _STOPPING = True
        raise KeyboardInterrupt(signum)  # run_ffmpeg kills FFmpeg and encode() removes its temp file
    # Idle, the worker waits on the pool's queue: an interrupt there only printed a traceback (a terminal's Ctrl-C
    # reaches every worker), and the pool's shutdown wakes it anyway. Stopping already: a second signal (Ctrl-C
    # and the coordinator passing it on both arrive) must not break into the cleanup of the first.


def _init_worker(ppid: int) -> None:
    signal.signal(signal.SIGTERM, _on_stop_signal)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a background job's ignored Ctrl-C stays ignored
        signal.signal(signal.SIGINT, _on_stop_signal)
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True).start()


# ---------------------------------------------------------------- executors: (executor, slots, close)


def process_executor(jobs: int) -> tuple[cf.Executor, int, Callable[..., None]]:
    """A pool of ``jobs`` local worker processes."""
    # spawn: the coordinator holds SQLite and tqdm threads that must not be forked
    pool = cf.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_init_worker, initargs=(os.getpid(),))

    def close(stop: bool = False) -> None:
        """Shut the pool down; ``stop``: interrupt the running encodes rather than wait for them."""
        if stop:
            # A signal from kill, a supervisor or `timeout` reaches only this process (a terminal's Ctrl-C reaches
            # the workers too): without passing it on, the shutdown waited for every running encode to finish.
            # No public API lists a pool's processes.
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                try:
                    proc.terminate()
                except OSError:
                    pass
        pool.shutdown(wait=True, cancel_futures=True)

    return pool, jobs, close
