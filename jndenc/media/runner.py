"""Run FFmpeg processes: progress, logs kept on failure, children killed on interrupt."""
from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import tempfile
import threading
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..errors import FFmpegError, InputError, OutputError, UserError
from ..fileio import replaced
from .ffbin import ffmpeg_exe


_meter = threading.local()
_live: dict[subprocess.Popen, str | None] = {}  # each running FFmpeg and the group it runs for (`ffmpeg_group`)
_live_lock = threading.Lock()
_group = threading.local()
_group_stops: dict[str, threading.Event] = {}
_group_users: collections.Counter[str] = collections.Counter()
# remembered past their last task: a Dask task of a stopped run can still start (cancelling races with starting)
_stopped: collections.deque[str] = collections.deque(maxlen=1024)
# FFmpeg processes killed on purpose (`kill_running`): their exit is a stop, not a failure with a log to keep
_killed: "weakref.WeakSet[subprocess.Popen]" = weakref.WeakSet()


def _dies_with_parent() -> tuple[str, ...]:
    """What FFmpeg's command is run behind so that it is killed when the thread that started it ends: util-linux's
    ``setpriv --pdeathsig KILL``, which sets that and execs FFmpeg in its place, where the system has it (Linux);
    else nothing. A jndenc killed outright (the OOM killer, ``kill -9``) cannot stop its FFmpeg, which ran on into a
    work folder nobody would join. The thread is the one that waits for it, so a normal run is never cut short.
    (Setting it from a ``preexec_fn`` instead made every start fork through Python's at-fork handlers, where a
    Ctrl-C arriving was swallowed and the encode ran on.)"""
    if os.uname().sysname != "Linux":
        return ()
    tool = shutil.which("setpriv")
    return (tool, "--pdeathsig", "KILL") if tool else ()


_BEHIND = _dies_with_parent()


def kill_running(group: str | None = None) -> None:
    """Kill every FFmpeg process this module started that is still running (a pool's other jobs on Ctrl-C), or
    only those of ``group`` (`ffmpeg_group`)."""
    with _live_lock:
        procs = [p for p, g in _live.items() if group is None or g == group]
        _killed.update(procs)
    for p in procs:
        try:
            p.kill()
        except OSError:
            pass


@contextmanager
def ffmpeg_group(name: str) -> Iterator[threading.Event]:
    """Run this thread's FFmpeg processes as part of group ``name`` and yield the Event `stop_group` sets.

    One process can run tasks of several callers (a Dask worker runs other clients' encodes): a group is what one
    caller can stop without touching the rest.
    """
    with _live_lock:
        stop = _group_stops.setdefault(name, threading.Event())
        _group_users[name] += 1
        if name in _stopped:
            stop.set()
    outer = getattr(_group, "name", None)
    _group.name = name
    try:
        yield stop
    finally:
        _group.name = outer
        with _live_lock:
            _group_users[name] -= 1
            if not _group_users[name]:
                del _group_users[name], _group_stops[name]


def stop_group(name: str) -> None:
    """Stop group ``name``: set its Event, kill its FFmpeg processes, and any it starts from now on."""
    with _live_lock:
        if name not in _stopped:
            _stopped.append(name)
        if name in _group_stops:
            _group_stops[name].set()
    kill_running(name)


def group_tasks(name: str) -> int:
    """How many threads are inside group ``name`` (`ffmpeg_group`)."""
    with _live_lock:
        return _group_users[name]

_meter_lock = threading.Lock()


@contextmanager
def cpu_meter(into: dict, key: str) -> Iterator[None]:
    """Add the CPU seconds (user + system) of every FFmpeg process this thread runs inside to ``into[key]``.

    Per process, from the kernel's accounting of the child (``wait4``): threads of one pool can run
    different kinds of work at once, and a phase's getrusage total cannot tell them apart.
    """
    prev = getattr(_meter, "target", None)
    _meter.target = (into, key)
    try:
        yield
    finally:
        _meter.target = prev


def _reap(proc: subprocess.Popen) -> None:
    """Wait for ``proc`` and charge its CPU time to the thread's `cpu_meter`, if any."""
    target = getattr(_meter, "target", None)
    if target is None:
        proc.wait()
        return
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:  # already reaped
        proc.wait()
        return
    proc.returncode = os.waitstatus_to_exitcode(status)
    into, key = target
    with _meter_lock:
        into[key] = into.get(key, 0.0) + usage.ru_utime + usage.ru_stime


def run_ffmpeg(
    args: Sequence[str],
    *,
    what: str,
    on_frame: Callable[[int], None] | None = None,
    feed: Iterable[bytes] | None = None,
    keep_log: bool = True,
) -> str:
    """Run ``ffmpeg <args>``; return its stderr. Raise `FFmpegError` on failure.

    ``args`` excludes the binary. With ``on_frame``, FFmpeg's ``-progress``
    stream is parsed and the callback gets the output frame count. With
    ``feed``, its chunks are written to FFmpeg's stdin (an input ``-i -``), then
    stdin is closed. On failure the full stderr is written to a log file in the
    system temp dir so the user can read more than the quoted last line (not with ``keep_log=False``: a trial
    whose failure is expected and handled).
    """
    if feed is not None and on_frame is not None:
        # both would need the calling thread (one writes stdin, the other reads stdout)
        raise ValueError("run_ffmpeg: feed and on_frame cannot be combined")
    # -nostdin stops FFmpeg reading keys from stdin; an input named "-" is still read from it
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y"]
    if on_frame is not None:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += list(args)
    tail: collections.deque[str] = collections.deque(maxlen=4000)
    proc = subprocess.Popen(
        [*_BEHIND, *cmd],
        stdout=subprocess.PIPE if on_frame is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
        # fed frames are bytes, so the pipes are binary then and the pump decodes stderr itself
        text=feed is None,
        errors="replace" if feed is None else None,
    )

    def pump_stderr():
        for line in proc.stderr:
            tail.append(line if isinstance(line, str) else line.decode(errors="replace"))

    reader = threading.Thread(target=pump_stderr, daemon=True)
    reader.start()
    group = getattr(_group, "name", None)
    with _live_lock:
        _live[proc] = group
        stopped = group is not None and group in _stopped
    try:
        if stopped:  # started between its task's last look at the stop and `stop_group`'s kill
            proc.kill()
        if feed is not None:
            _write_all(proc, feed)
        if on_frame is not None:
            for line in proc.stdout:
                if line.startswith("frame="):
                    try:
                        on_frame(int(line.split("=", 1)[1]))
                    except ValueError:
                        pass
        _reap(proc)
    except BaseException:
        # Ctrl-C / SIGTERM / any error: never leave an encoder running behind us.
        proc.kill()
        proc.wait()
        raise
    finally:
        with _live_lock:
            _live.pop(proc, None)
            killed = stopped or proc in _killed
            _killed.discard(proc)
        reader.join(timeout=5)
    stderr = "".join(tail)
    if proc.returncode != 0 and killed:
        # another thread stopped the run (Ctrl-C, a failed shot): nothing went wrong here to leave a log of
        raise FFmpegError(f"FFmpeg stopped while {what}")
    if proc.returncode != 0:
        raise _failure(cmd, stderr, what, keep_log)
    return stderr


def _failure(cmd: Sequence[str], stderr: str, what: str, keep_log: bool = True) -> Exception:
    """The error a failed FFmpeg run raises, by what its stderr says went wrong; the whole stderr goes to a log
    file in the system temp folder, which the message names (with ``keep_log``)."""
    log_path = None
    if keep_log:
        fd, log_path = tempfile.mkstemp(prefix="jndenc-ffmpeg-", suffix=".log")
        # a file name with bytes that are not UTF-8 is written as escapes rather than failing the report of a failure
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(" ".join(cmd) + "\n\n" + stderr)
    log = f" (log: {log_path})" if log_path else ""
    if "No space left on device" in stderr:
        return OutputError(f"no space left on device while {what}{log}")
    if "Read-only file system" in stderr or ("Permission denied" in stderr and "Error opening output" in stderr):
        return OutputError(f"cannot write output while {what}: read-only or permission denied{log}")
    if "Output file is empty, nothing was encoded" in stderr:
        # the frames come from jndenc's own decode of the same input; FFmpeg's decoder getting none of them
        # means a file whose end (or whole) is damaged, not a failing encoder
        return InputError(f"FFmpeg decoded none of the frames while {what}: the input may be damaged or cut short"
                          f"{log}")
    refused = _refused_option(stderr)
    if refused:
        # jndenc's own options are ones this FFmpeg takes: one it refuses is the user's (--enc), a mistake to
        # name in one line and exit 2, not an internal failure
        return UserError(f"FFmpeg refused {refused} while {what} (an --enc option?){log}")
    useful = [l for l in stderr.splitlines() if l.strip() and not l.startswith(("  ", "Input #", "Output #", "Stream mapping"))
              and " - core " not in l]  # the encoder's settings banner says nothing about the failure
    return FFmpegError(f"FFmpeg failed while {what}", "\n".join(useful[-5:]), log_path)


_REFUSALS = (re.compile(r"Unrecognized option '([^']+)'"),
             re.compile(r"Error setting option (\S+) to value (.+?)\.?$", re.M),
             re.compile(r"Error setting (profile) (\S+?)\.?$", re.M))


def _refused_option(stderr: str) -> str | None:
    """The option FFmpeg or its encoder refused, as ``-KEY`` or ``-KEY VALUE``, when that is why it failed."""
    for pattern in _REFUSALS:
        m = pattern.search(stderr)
        if m:
            return "the option -" + " ".join(m.groups())
    return None


def write_atomic(dst: str | os.PathLike, args_for: Callable[[Path], Sequence[str]], *, what: str,
                 feed: Iterable[bytes] | None = None) -> Path:
    """Run ``ffmpeg args_for(tmp)`` into a temp file beside ``dst``, then rename it to ``dst``.

    A failed or interrupted run leaves no partial ``dst`` (a rerun would take it
    for finished work). The temp name keeps ``dst``'s suffix: FFmpeg picks the muxer from it.
    """
    with replaced(dst, keep_suffix=True) as tmp:
        run_ffmpeg(args_for(tmp), what=what, feed=feed)
    return Path(dst)

def _write_all(proc: subprocess.Popen, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to the process's stdin and close it; a process that quit early is left to its exit code."""
    try:
        for chunk in chunks:
            proc.stdin.write(chunk)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # FFmpeg exited (an error): its return code and stderr tell why
