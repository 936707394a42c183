"""The user's own encoder options tried on two tiny frames before any work: x264, x265 and SVT-AV1 skip a key of
their parameter string they do not know with a line in FFmpeg's log and encode on, so a misspelt
``--enc x264-params=aq-strenght=1.2`` would change nothing without a word (ab-av1 and Av1an pass such strings
through the same way); and an option FFmpeg or the encoder refuses would otherwise fail the first encode, after
the analysis.

Twice: before the input is known (8-bit frames, `checked` in `jndenc.encode`, which a batch asks once before its
first file), where only a skipped key is refused, since an option may suit the input's format and not 8 bits (a
10-bit profile); then in the input's own format after its probe, where any failure stops the run.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from ..errors import FFmpegError, JndencError, UserError
from .enc_params import Params, merged
from .ffargs import pix_fmt
from .runner import run_ffmpeg

# what each encoder logs for a key it skipped: x264 "Error parsing option 'k = v'.", x265 "Unknown option: k.",
# SVT-AV1 "Error parsing option k: v."
_SKIPPED = re.compile(r"Error parsing option '?([^'=:\s]+)|Unknown option: ([^.\s]+)")


# what x264 and x265 log for a rate cap they drop (a maxrate without a bufsize, or the reverse): they encode on
# uncapped, so a delivery spec's cap would not hold
_IGNORED = re.compile(r"(VBV [^\n]*?), ignored")


def skipped_keys(log: str) -> list[str]:
    """The parameter-string keys an encoder's log says it skipped."""
    return [a or b for a, b in _SKIPPED.findall(log)]


def try_options(params: Params, encoder: str, bit_depth: int | None = None) -> None:
    """Refuse ``params`` where ``encoder`` would skip a key of them. ``bit_depth`` None: the input is not known
    yet, so a trial that fails for another reason is left to the trial in its format; else the frames are in the
    input's format and a failed trial raises (`UserError` for a refused option, as the real encode would)."""
    if not params:
        return
    fmt = pix_fmt(bit_depth or 8)
    log = _passed(params, encoder, fmt)
    if log is None:
        if bit_depth is None:
            return
        try:
            log = _trial(params, encoder, fmt, keep_log=True)  # fails again, now keeping its log, and raises
        except FFmpegError as exc:
            # the trial is the user's options alone on frames any encoder takes: they are what the encoder
            # cannot start with (libvpx: a rate cap without a bitrate), a mistake to fix, not jndenc's failure
            raise UserError(f"--enc: {encoder} cannot encode with these options"
                            + (f" ({said})" if (said := _encoder_said(exc, encoder)) else "")
                            + (f" (log: {exc.log_path})" if exc.log_path else "")) from None
    skipped = skipped_keys(log)
    if skipped:
        raise UserError(f"--enc: {encoder} cannot read {', '.join(skipped)} (an unknown key or a value it does not "
                        f"take): it would skip {'it' if len(skipped) == 1 else 'them'} and encode on")
    dropped = _IGNORED.search(log)
    if dropped:
        raise UserError(f"--enc: {encoder} would encode uncapped ({dropped.group(1)}): a cap takes both maxrate and "
                        "bufsize (e.g. --enc maxrate=6M --enc bufsize=12M)")


def _encoder_said(exc: FFmpegError, encoder: str) -> str | None:
    """The first line the encoder itself logged in a failed run (its version banner aside), e.g. libvpx's "Rate
    control parameters set without a bitrate"; None where the log is gone or it said nothing."""
    try:
        text = Path(exc.log_path).read_text(errors="replace") if exc.log_path else exc.log_tail
    except OSError:
        text = exc.log_tail
    for line in text.splitlines():
        if line.startswith(f"[{encoder} @"):
            said = line.split("] ", 1)[-1].strip()
            if said and not re.fullmatch(r"v?\d[\w.\-]*", said):
                return said
    return None


@functools.lru_cache(maxsize=32)
def _passed(params: Params, encoder: str, fmt: str) -> str | None:
    """A trial's log, or None where it failed (no log kept): the same options on the same encoder and format are
    tried once per process (the check before the probe and the one after it on 8-bit input, a batch's files, the
    fallback of frames too small to measure)."""
    try:
        return _trial(params, encoder, fmt, keep_log=False)
    except JndencError:
        return None


def _trial(params: Params, encoder: str, fmt: str, *, keep_log: bool) -> str:
    """Two 64x64 frames in ``fmt`` through ``encoder`` with ``params``; FFmpeg's log, or its failure raised."""
    args = ["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=25", "-frames:v", "2", "-pix_fmt", fmt,
            "-c:v", encoder, *merged([], params), "-f", "null", "-"]
    return run_ffmpeg(args, what=f"trying the --enc options on {encoder}", keep_log=keep_log)
