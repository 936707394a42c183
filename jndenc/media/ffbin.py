"""The one place that decides which FFmpeg binary jndenc runs.

Order: ``JNDENC_FFMPEG`` (a path), then ``ffmpeg`` on PATH, then the binary
shipped in the imageio-ffmpeg wheel (FFmpeg with libx264/libx265/libvmaf), so a
plain ``pip install`` is enough on a machine without system FFmpeg.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from ..errors import UserError

REQUIRED = ("libx264", "libx265", "libvmaf")


@functools.lru_cache(maxsize=None)
def ffmpeg_exe() -> str:
    env = os.environ.get("JNDENC_FFMPEG")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise UserError(f"JNDENC_FFMPEG={env}: not an executable file")
        return env
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise UserError("no FFmpeg found: set JNDENC_FFMPEG, put ffmpeg on PATH or pip install imageio-ffmpeg") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class FFmpegInfo:
    path: str
    version: str
    encoders: frozenset
    filters: frozenset
    broken: str = ""  # why the binary does not run at all ("" where it does)

    @property
    def missing(self) -> list[str]:
        have = self.encoders | self.filters
        return [name for name in REQUIRED if name not in have]


def _list(exe: str, what: str) -> frozenset:
    out = subprocess.run([exe, "-hide_banner", what], capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and re.fullmatch(r"[A-Z.|]{2,6}", parts[0]):
            names.add(parts[1])
    return frozenset(names)


@functools.lru_cache(maxsize=None)
def ffmpeg_info() -> FFmpegInfo:
    exe = ffmpeg_exe()
    try:
        r = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True)
    except OSError as exc:
        return FFmpegInfo(exe, "unknown", frozenset(), frozenset(), f"does not run ({exc.strerror or exc})")
    if r.returncode != 0:  # a broken binary first on PATH read as one lacking every encoder
        said = (r.stderr.strip().splitlines() or [""])[-1]
        return FFmpegInfo(exe, "unknown", frozenset(), frozenset(),
                          f"does not run (-version exited {r.returncode}{': ' + said if said else ''})")
    first = r.stdout.splitlines()
    version = first[0].split(" ")[2] if first and len(first[0].split(" ")) > 2 else "unknown"
    return FFmpegInfo(exe, version, _list(exe, "-encoders"), _list(exe, "-filters"))


def require(*names: str) -> None:
    """Fail with one clear line if the FFmpeg build lacks an encoder/filter."""
    info = ffmpeg_info()
    if info.broken:
        raise UserError(f"{info.path} {info.broken}; point JNDENC_FFMPEG at a working build (`jndenc doctor`)")
    have = info.encoders | info.filters
    missing = [n for n in names if n not in have]
    if missing:
        raise UserError(f"{info.path} lacks {', '.join(missing)}; point JNDENC_FFMPEG at a build that has it (`jndenc doctor`)")
