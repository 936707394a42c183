"""A user's own encoder options (`jndenc encode --enc KEY=VALUE`, as ab-av1's ``--enc`` and Av1an's video params):
a delivery spec's profile and level, a keyframe interval for HLS/DASH segments, a VBV cap (capped CRF), a tune.

Pure: parsed into (key, value) pairs and merged into the argument lists jndenc builds. What jndenc itself decides
is refused (the quality knob, the encoder, the preset, threads, frames and filters), and so are the keys of an
encoder's parameter string that keep segments joinable or the measurement honest (x264's ``stitchable``, the
zones of a one-pass plan, SVT-AV1's film grain); any other key of ``x264-params`` / ``x265-params`` /
``svtav1-params`` is added to jndenc's own string. The output file's own options (its video tag, ``movflags``) go
to the muxer that writes it (`output_options`), and a key frame interval puts key frames on its grid from the
output's first frame (`gop`, `jndenc.media.segments.keyframe_grid`).
"""
from __future__ import annotations

from typing import Sequence

from ..errors import UserError
from .ffargs import MP4_FAMILY

Params = tuple[tuple[str, str], ...]

# FFmpeg output options jndenc sets itself, by every spelling FFmpeg accepts for them
OWNED = {"c:v", "codec:v", "vcodec", "c", "codec", "crf", "qp", "q:v", "qscale:v", "b:v", "preset", "pix_fmt",
         "frames:v", "vframes", "fps_mode", "vsync", "r", "vf", "filter:v", "filter_complex", "map", "threads",
         "force_key_frames", "f", "ss", "t", "to", "an", "sn", "y", "speed", "cpu-used", "deadline"}
PARAM_STRINGS = ("x264-params", "x265-params", "svtav1-params")
# keys inside those strings that jndenc needs as they are
OWNED_PARAMS = {"stitchable", "zones", "crf", "qp", "film-grain", "lp", "pools", "frame-threads", "threads",
                "log-level", "preset", "input-depth", "output-depth"}


def parse(items: Sequence[str]) -> Params:
    """``KEY=VALUE`` items (a leading ``-`` on the key is dropped) into pairs; a one-line error for anything
    malformed or owned by jndenc."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not key or not value:
            raise UserError(f"--enc {item}: expected KEY=VALUE (e.g. --enc maxrate=6M --enc profile:v=high)")
        if key in ("s", "size"):
            raise UserError(f"--enc {item}: the output keeps the source's frame size (VMAF compares every frame with "
                            "the source's); scale the input first")
        if key in OWNED:
            raise UserError(f"--enc {item}: jndenc sets -{key} itself (the loop chooses the quality; --codec, "
                            "--encoder, --preset and --threads pick the rest)")
        if key in PARAM_STRINGS:
            for part in value.split(":"):
                name = part.partition("=")[0].strip()
                if name in OWNED_PARAMS:
                    raise UserError(f"--enc {item}: jndenc sets {name} in -{key} itself")
        if key in dict(out) or (key in _TAG_KEYS and any(k in _TAG_KEYS for k, _ in out)):
            raise UserError(f"--enc {key} given twice")
        if key == "g" and not (value.isdigit() and int(value) > 0):
            # FFmpeg takes any integer here, and a negative one quietly meant the encoder's default
            raise UserError(f"--enc {item}: a key frame interval is a whole number of frames, 1 or more")
        out.append((key, value))
    return tuple(out)


_PARAM_STRING_OF = {"libx264": "x264-params", "libx265": "x265-params", "libsvtav1": "svtav1-params"}


def check_for(params: Params, encoder: str) -> None:
    """Refuse another encoder's parameter string (FFmpeg would only warn, and the user's options would be lost)."""
    for key, _ in params:
        if key in PARAM_STRINGS and key != _PARAM_STRING_OF.get(encoder):
            own = _PARAM_STRING_OF.get(encoder)
            raise UserError(f"--enc {key}=...: {encoder} does not read -{key}"
                            + (f" (its parameter string is -{own})" if own else ""))


# options of the output file rather than the encoder: the loop's segments are Matroska files joined into the output
# by another FFmpeg run, so these go to that run (given to a segment's encode, they were lost)
MUX_KEYS = ("tag:v", "vtag", "movflags")
_TAG_KEYS = ("tag:v", "vtag")


def for_encoder(params: Params) -> Params:
    """The options that go to every encode (all but `MUX_KEYS`)."""
    return tuple((k, v) for k, v in params if k not in MUX_KEYS)


def video_tag(params: Params, encoder: str, ext: str) -> str | None:
    """The output's video codec tag: the user's (``--enc tag:v=...``), else ``hvc1`` for HEVC in MP4 and
    QuickTime (Apple's players and HLS take HEVC only under that tag; FFmpeg's default, ``hev1``, announces
    parameter sets inside the stream, and x265's are all in the header here), else the muxer's own (None)."""
    mine = [v for k, v in params if k in _TAG_KEYS]
    if mine:
        return mine[-1]
    return "hvc1" if encoder == "libx265" and ext.lower() in MP4_FAMILY else None


def output_options(params: Params, encoder: str, ext: str) -> dict:
    """What the output's muxer gets besides jndenc's container options (`jndenc.media.ffargs.container_options`),
    which these replace: the video tag (`video_tag`) and the user's ``movflags`` (a fragmented MP4 for CMAF,
    say)."""
    out = {}
    tag = video_tag(params, encoder, ext)
    if tag:
        out["tag:v"] = tag
    flags = dict(params).get("movflags")
    if flags:
        out["movflags"] = flags
    return out


def gop(params: Params) -> int | None:
    """The user's key frame interval: ``--enc g=N``, or ``keyint=N`` in an encoder's parameter string; None."""
    given = dict(params)
    if given.get("g") is not None:
        return int(given["g"])
    for key in PARAM_STRINGS:
        for part in given.get(key, "").split(":"):
            name, _, value = part.partition("=")
            if name.strip() == "keyint" and value.strip().isdigit() and int(value) > 0:
                return int(value)
    return None


def notes(params: Params, segmented: bool) -> list[str]:
    """What the user's options mean for the output, said in the result's notes."""
    keys = {k for k, _ in params}
    out = []
    if segmented and keys & {"maxrate", "bufsize"}:
        out.append("--enc maxrate/bufsize: each shot is its own segment, and its encoder starts with its own VBV "
                   "buffer, so at a shot's start the joined stream may draw on more buffer than the cap allows for a "
                   "moment; where a player's buffer must hold exactly, use --effort fast (one pass, one buffer)")
    n = gop(params)
    if n is not None:
        out.append(f"--enc key frame interval {n}: a key frame at every {n}th frame counted from the first (where "
                   "HLS/DASH renditions align), besides one at each shot's start")
    return out


def merged(args: Sequence[str], params: Params) -> list[str]:
    """``args`` (encoder options, no output path) with ``params``: a key already there takes the user's value (a
    parameter string gets the user's keys appended), any other key is added."""
    out = list(args)
    for key, value in params:
        flag = f"-{key}"
        if flag in out:
            i = out.index(flag) + 1
            out[i] = f"{out[i]}:{value}" if key in PARAM_STRINGS else value
        else:
            out += [flag, value]
    return out


def merged_kwargs(kw: dict, params: Params) -> dict:
    """The same for ffmpeg-python's output keywords (the one-pass paths)."""
    out = dict(kw)
    for key, value in params:
        out[key] = f"{out[key]}:{value}" if key in PARAM_STRINGS and key in out else value
    return out
