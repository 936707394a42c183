"""Scaled and cropped copies of real clips as extra label sources.

README.md section "Proxy-JND labels": a few dozen clips are too few labels, and the proxy JND
depends strongly on the frame size and on how much detail a frame carries.
A downscaled copy has the same scene at a new size and a denser texture; a
centre crop has the same texture at a smaller field of view. Each copy is a
new source whose labels are recomputed by trial encodes, never copied.

Copies are lossless (x264 ``-qp 0``) so the labels measure the encoder, not
our resampling. ``derived.json`` in the output folder maps each copy to its
parent clip; `jndenc dataset build` reads it and keeps every copy in the same
split as its parent, so nothing about a test clip leaks into training.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..output import check_folder
from ..errors import UserError
from ..media.ffargs import lossless_args
from ..media.probe import probe
from ..media.runner import write_atomic

MANIFEST = "derived.json"


@dataclass(frozen=True)
class Derivation:
    kind: str  # "scale" or "crop"
    factor: float  # fraction of the source width and height kept

    @property
    def tag(self) -> str:
        return f"{self.kind}{int(round(self.factor * 100)):02d}"

    @classmethod
    def parse(cls, text: str) -> "Derivation":
        """``scale:0.5`` or ``crop:0.5``."""
        kind, _, factor = text.partition(":")
        try:
            f = float(factor)
        except ValueError:
            f = 0.0
        if kind not in ("scale", "crop") or not 0.0 < f < 1.0:
            raise UserError(f"derivation {text!r}: expected scale:F or crop:F with 0 < F < 1")
        return cls(kind, f)


DEFAULT_DERIVATIONS = (Derivation("scale", 0.5), Derivation("scale", 0.25), Derivation("crop", 0.5))


def derived_size(width: int, height: int, d: Derivation) -> tuple[int, int]:
    """Even dimensions (4:2:0 needs them), rounded down."""
    return max(2, int(width * d.factor) // 2 * 2), max(2, int(height * d.factor) // 2 * 2)


def video_filter(width: int, height: int, d: Derivation) -> str:
    w, h = derived_size(width, height, d)
    if d.kind == "scale":
        # lanczos: what transcoding ladders commonly use to make their lower rungs
        return f"scale={w}:{h}:flags=lanczos"
    return f"crop={w}:{h}:{(width - w) // 2 // 2 * 2}:{(height - h) // 2 // 2 * 2}"


def applicable(width: int, height: int, derivations: Iterable[Derivation], min_side: int) -> list[Derivation]:
    """Derivations whose output keeps at least ``min_side`` pixels on its shorter side."""
    return [d for d in derivations if min(derived_size(width, height, d)) >= min_side]


def derive_args(src: Path, dst: Path, vf: str, seconds: float | None) -> list[str]:
    """FFmpeg arguments for one lossless 8-bit copy: the first ``seconds`` of ``src`` through ``vf``."""
    return lossless_args(src, dst, vf=vf, seconds=seconds)


def read_manifest(directory: str | os.PathLike) -> dict[str, dict]:
    p = Path(directory) / MANIFEST
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text())
    except ValueError as exc:
        raise UserError(f"{p}: not valid JSON ({exc})") from None


def parent_stem(clip: str) -> str:
    """The parent's stem of a clip name, read from the name alone: ``night~scale50.mkv`` and ``night.mp4`` ->
    ``night`` (`derive_clips` names each copy ``<parent stem>~<tag>.mkv``); `parents_of` has the full names."""
    return Path(clip).stem.split("~")[0]


def parents_of(dirs: Sequence[str | os.PathLike]) -> dict[str, str]:
    """Clip file name -> its parent's file name, from every ``derived.json`` among ``dirs``."""
    out = {}
    for d in dirs:
        if Path(d).is_dir():
            out.update({name: rec["parent"] for name, rec in read_manifest(d).items()})
    return out


def derive_clips(clips: Sequence[Path], out_dir: str | os.PathLike,
                 derivations: Sequence[Derivation] = DEFAULT_DERIVATIONS, seconds: float | None = 4.0,
                 min_side: int = 120, echo=print) -> list[Path]:
    """Write the applicable copies of every clip into ``out_dir`` (existing ones are kept) and the manifest."""
    out = Path(out_dir)
    check_folder(out, "output folder")
    manifest = read_manifest(out)
    made = []
    for clip in clips:
        info = probe(clip)
        w, h = info.width, info.height
        if info.rotation in (90, 270):
            w, h = h, w  # FFmpeg autorotates while decoding
        todo = applicable(w, h, derivations, min_side)
        if not todo:
            echo(f"{clip.name}: skipped, every copy would be under {min_side} px on its shorter side")
        for d in todo:
            dst = out / f"{clip.stem}~{d.tag}.mkv"
            made.append(dst)
            if dst.exists() and dst.name in manifest:
                # a rerun with other --seconds ran on in silence, the copies as they were
                echo(f"{dst.name}: kept as it is ({manifest[dst.name].get('seconds')} s; remove it to make it again)")
                continue
            vf = video_filter(w, h, d)
            write_atomic(dst, lambda tmp: derive_args(clip, tmp, vf, seconds), what=f"deriving {dst.name}")
            manifest[dst.name] = {"parent": clip.name, "derivation": d.tag, "filter": vf, "seconds": seconds,
                                  "size": list(derived_size(w, h, d))}
            (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
            echo(f"{dst.name}: {vf}")
    return made
