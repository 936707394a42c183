"""Run FFmpeg processes: progress, logs kept on failure, children killed on interrupt."""
from __future__ import annotations

import collections
import os
import subprocess
import tempfile
import threading
from typing import Callable, Sequence

from ..errors import FFmpegError, OutputError
from .ffbin import ffmpeg_exe


def run_ffmpeg(
    args: Sequence[str],
    *,
    what: str,
    on_frame: Callable[[int], None] | None = None,
    log_dir: str | None = None,
) -> str:
    """Run ``ffmpeg <args>``; return its stderr. Raise `FFmpegError` on failure.

    ``args`` excludes the binary. With ``on_frame``, FFmpeg's ``-progress``
    stream is parsed and the callback gets the output frame count. On failure
    the full stderr is written to a log file (in ``log_dir`` or the system
    temp dir) so the user can read more than the quoted last line.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y"]
    if on_frame is not None:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += list(args)
    tail: collections.deque[str] = collections.deque(maxlen=4000)
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE if on_frame is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    )

    def pump_stderr():
        for line in proc.stderr:
            tail.append(line)

    reader = threading.Thread(target=pump_stderr, daemon=True)
    reader.start()
    try:
        if on_frame is not None:
            for line in proc.stdout:
                if line.startswith("frame="):
                    try:
                        on_frame(int(line.split("=", 1)[1]))
                    except ValueError:
                        pass
        proc.wait()
    except BaseException:
        # Ctrl-C / SIGTERM / any error: never leave an encoder running behind us.
        proc.kill()
        proc.wait()
        raise
    finally:
        reader.join(timeout=5)
    stderr = "".join(tail)
    if proc.returncode != 0:
        fd, log_path = tempfile.mkstemp(prefix="jndenc-ffmpeg-", suffix=".log", dir=log_dir)
        with os.fdopen(fd, "w") as fh:
            fh.write(" ".join(cmd) + "\n\n" + stderr)
        if "No space left on device" in stderr:
            raise OutputError(f"no space left on device while {what} (log: {log_path})")
        if "Read-only file system" in stderr or ("Permission denied" in stderr and "Error opening output" in stderr):
            raise OutputError(f"cannot write output while {what}: read-only or permission denied (log: {log_path})")
        useful = [l for l in stderr.splitlines() if l.strip() and not l.startswith(("  ", "Input #", "Output #", "Stream mapping"))]
        raise FFmpegError(f"FFmpeg failed while {what}", "\n".join(useful[-5:]), log_path)
    return stderr
