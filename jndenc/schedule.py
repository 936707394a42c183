"""Which shots run when, and where (`Scheduler`): one plan's shots in waves (a shot that starts from another's
attempts waits for it), ``jobs`` at a time on threads here or on the workers of a Dask cluster, each recorded as it
finishes so that a resumed run (`jndenc.resume`) takes them up; then the pieces of a long shot joined.

A module of its own because where a shot runs changes no shot's result: `jndenc.shotjob` decides each shot,
`jndenc.shotloop` runs the whole and joins it.
"""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from . import resume as R
from . import loop as L
from .cluster import DaskExecutor
from .errors import JndencError
from .media.runner import ffmpeg_group, stop_group
from .output import refuse_over
from .planner import ShotPlan
from .progress import bar
from .shotjob import ShotJob, ShotLoop


def longest_first(shots: Sequence[ShotPlan], tasks: list[tuple]) -> list[tuple]:
    """A wave's tasks (shot index first) longest shot first: a pool takes tasks in the order given, and a long
    shot started last would run alone at the end. The order changes no shot's result, only the wall time."""
    return sorted(tasks, key=lambda t: (shots[t[0]].start_frame - shots[t[0]].end_frame, t[0]))



def _run_remote(job: ShotJob, i: int, head: ShotLoop | None, head_index: int | None, run: str
                ) -> tuple[ShotLoop, str, dict]:
    """A Dask task: one shot's loop on a worker, its FFmpeg processes in the group ``run`` that the client stops
    on an interrupt or a failure (`jndenc.cluster.DaskExecutor.stop`)."""
    with ffmpeg_group(run) as stop:
        done = threading.Event()
        watch = threading.Thread(target=_stop_when_released, args=(run, _this_task(), done), daemon=True)
        watch.start()
        try:
            shot, seg, cost = job.run(i, head, head_index, stop=stop)
        except KeyboardInterrupt:
            # what a stopped shot raises; out of a task, Dask would take it for a Ctrl-C and shut the worker down
            raise JndencError(f"shot {i} stopped: the run was interrupted or another shot failed") from None
        finally:
            done.set()
            watch.join()
    return shot, str(seg), cost


RELEASE_POLL_S = 1.0  # how often a worker's shot looks whether the scheduler still wants it


def _this_task() -> tuple | None:
    """The Dask worker running this thread's task and the task's key; None outside a Dask task. Only the task's
    own thread can tell (the worker knows its tasks by thread)."""
    try:
        from distributed import get_worker

        worker = get_worker()
        return worker, worker.get_current_task()
    except (ImportError, ValueError, KeyError):
        return None


def _stop_when_released(run: str, task: tuple | None, done: threading.Event) -> None:
    """On a Dask worker, beside a running shot (``task``, `_this_task`): stop group ``run`` once the scheduler no
    longer wants the task (its client cancelled it, or went away: a `jndenc encode --dask` killed outright stops
    nothing itself, and its shots would run their attempts on for minutes, holding the workers). Returns when
    ``done`` is set."""
    if task is None:
        return
    worker, key = task
    while not done.wait(RELEASE_POLL_S):
        task = worker.state.tasks.get(key)
        if task is None or task.state == "cancelled":
            stop_group(run)
            return



class Scheduler:
    """The loop over one plan's shots, side by side on a pool of threads here or on the workers of a Dask cluster."""

    def __init__(self, job: ShotJob, notes: list[str], executor: DaskExecutor | None = None,
                 store: R.ShotStore | None = None, limit: tuple[int, float] | None = None,
                 shown: Path | None = None) -> None:
        self.job, self.notes, self.executor, self.store = job, notes, executor, store
        # --max-size: (the input's video bytes, percent); the finished shots' kept bytes, which the output's video
        # takes whatever the other shots keep (the join copies them)
        self.limit, self.shown, self.kept_bytes, self.finished = limit, shown, 0, 0
        self.run_name = f"jndenc-shots-{uuid.uuid4().hex}"  # the workers' name for this run's tasks, to stop them by
        self.taken_up = 0  # shots a previous run had finished (`jndenc.resume`)
        self.cost: dict = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def _add(self, cost: dict) -> None:
        with self.lock:
            for kind, c in cost.items():
                mine = self.cost.setdefault(kind, {"wall_s": 0.0, "cpu_s": 0.0})
                mine["wall_s"] += c["wall_s"]
                mine["cpu_s"] += c["cpu_s"]

    def all(self, jobs: int, quiet: bool) -> list[tuple[ShotLoop, Path]]:
        """Every shot, ``jobs`` at a time, in waves: the shots that start from the model's estimate, then those
        that start from one of them (later pieces of a long shot, shots that cut back to an earlier one;
        `ShotJob.heads`), then the later pieces of those. Which shot starts where depends only on what was
        measured, so the output depends neither on ``jobs`` nor on where the shots ran. On any failure or
        interrupt the others are stopped and killed."""
        plan = self.job.plan
        n = len(plan.shots)
        head = self.job.heads()
        depth = [0] * n
        for i in range(n):  # a head always comes before the shots it starts
            depth[i] = 0 if head[i] is None else depth[head[i]] + 1
        done: dict[int, tuple[ShotLoop, Path]] = self.store.load(n, ShotLoop) if self.store is not None else {}
        self.taken_up = len(done)
        for shot, _ in done.values():
            self._count(shot)
        with bar(plan.frames, f"encoding ({plan.codec}, {n} shots)", quiet) as pb:
            pb.update(sum(s.end_frame - s.start_frame for s, _ in done.values()))
            for d in range(max(depth, default=-1) + 1):
                tasks = [(i, None if head[i] is None else done[head[i]][0], head[i]) for i in range(n)
                         if depth[i] == d and i not in done]
                done.update(self._wave(longest_first(plan.shots, tasks), jobs, pb))
        return [done[i] for i in range(n)]

    def _finish(self, i: int, got: tuple[ShotLoop, Path | str, dict], pb) -> tuple[ShotLoop, Path]:
        shot, seg, cost = got
        self._add(cost)
        if self.store is not None:
            self.store.save(i, shot, Path(seg))
        pb.update(shot.end_frame - shot.start_frame)  # the bar moves per shot
        self._count(shot)
        return shot, Path(seg)

    def _count(self, shot: ShotLoop) -> None:
        """Add a finished shot's kept bytes; stop the run (`OverSize`) once they alone exceed --max-size: the
        output cannot fit, and its other shots need not be encoded."""
        self.kept_bytes += shot.attempts[shot.kept].bytes
        self.finished += 1
        if self.limit is not None:
            refuse_over(self.kept_bytes, self.limit, self.shown, shots=(self.finished, len(self.job.plan.shots)))

    def _run_local(self, i: int, h: ShotLoop | None, hi: int | None, pb) -> tuple[ShotLoop, Path, dict]:
        """One shot on this process's pool, its FFmpeg processes in this run's group: what a failure stops."""
        with ffmpeg_group(self.run_name):
            return self.job.run(i, h, hi, stop=self.stop, status=pb.set_postfix_str)

    def _wave(self, tasks: list[tuple[int, ShotLoop | None, int | None]], jobs: int, pb
              ) -> dict[int, tuple[ShotLoop, Path]]:
        if not tasks:
            return {}
        if self.executor is None and (jobs == 1 or len(tasks) == 1):
            return {i: self._finish(i, self.job.run(i, h, hi, stop=self.stop, status=pb.set_postfix_str), pb)
                    for i, h, hi in tasks}
        own = self.executor is None
        pool = ThreadPoolExecutor(min(jobs, len(tasks)), thread_name_prefix="jndenc-shot") if own else self.executor
        futs: dict[int, Future] = {}
        try:
            for i, h, hi in tasks:
                futs[i] = (pool.submit(self._run_local, i, h, hi, pb) if own
                           else pool.submit(_run_remote, self.job, i, h, hi, self.run_name))
            # each shot as it finishes, so an interrupted run has recorded every shot that finished
            index = {f: i for i, f in futs.items()}
            got = {index[f]: self._finish(index[f], f.result(), pb) for f in as_completed(futs.values())}
            return {i: got[i] for i in futs}
        except BaseException:
            self.stop.set()
            for f in futs.values():
                f.cancel()
            # this run's FFmpeg only: another encode in this process (a pipeline's other thread) runs on
            stop_group(self.run_name)
            if not own:  # before the work folder goes: the workers' shots write into it until stopped
                self.executor.stop(self.run_name)
            raise
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)

    def join_pieces(self, results: list[tuple[ShotLoop, Path]]) -> list[tuple[ShotLoop, Path]]:
        """Pieces of one long shot brought within a CRF step of each other (`jndenc.loop.joined_pieces`): one
        more attempt each at the lower CRF, kept whatever it measures (it can only be better)."""
        out = list(results)
        for i, crf in L.joined_pieces([r[0].crf for r in results], self.job.continues(),
                                      L.JOIN_STEP * self.job.scale).items():
            crf = L.floored(crf, self.job.step)  # whole steps on AV1/VP9, never past the join's limit
            shot, old = results[i]
            cost: dict = {}
            seg, m, rechecked = self.job.attempt(i, len(shot.attempts), crf, cost)
            self._add(cost)
            old.unlink(missing_ok=True)
            attempts = shot.attempts + [L.Attempt(crf, m.vmaf, m.bytes)]
            k = len(attempts) - 1
            out[i] = (replace(shot, attempts=attempts, kept=k, p5=m.p5, rechecks=shot.rechecks + rechecked,
                              outcome=L.outcome(attempts, self.job.band, k, self.job.hi), joined=True), seg)
        return out

