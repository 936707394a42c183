#!/usr/bin/env python3
"""Should the loop's first attempt start a little above the model's estimate? Replayed, no encode: every
shot's VMAF-vs-CRF curve through the attempts of every run on it, and the loop's own decisions
(`jndenc.loop.next_crf`, balanced's band and budget) replayed from the first run's start moved by each
candidate shift (x264 CRF steps).

    python benchmarks/experiments/loop_start_shift.py --first M.json --also A.json B.json ... \\
        --out benchmarks/results/loop_start_shift.json

``--first``: a `benchmarks/segments.py` run (rows ``crf23,balanced``) from before `jndenc.loop.rise` (each
first step at the model's slope, so the slope a step took is the model's; recovered from where it went);
``--also``: later runs on some of those clips whose attempts add points to the curves. Shots measured at one
CRF only get a curve at the loop's default slope through that point. Bytes are modelled as exp(-0.11 CRF)
(x264's ~11% per CRF step), so the bytes column compares candidates, not codecs.

Run it only on training and validation clips: the shift is chosen here.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence


sys.path.insert(0, str(Path(__file__).resolve().parent))
from loop_rise import BAND, BUDGET, MAX_CRF, MIN_CRF, curve, first_slope_taken  # noqa: E402

from jndenc import loop as L  # noqa: E402

SHIFTS = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)


def clip_shots(first: dict, also: list[dict]):
    """Per clip of ``first``: the clip's entry and, per shot, its attempts there and every (CRF, VMAF) any run
    measured on it."""
    more: dict[tuple[str, int], dict[float, float]] = {}
    for d in also:
        for c in d["clips"]:
            for j, seq in enumerate(c["rows"]["balanced"]["attempts"]):
                more.setdefault((c["clip"], j), {}).update({float(a): float(v) for a, v in seq})
    for c in first["clips"]:
        yield c, [([(float(a), float(v)) for a, v in seq],
                   sorted(({float(a): float(v) for a, v in seq} | more.get((c["clip"], j), {})).items()))
                  for j, seq in enumerate(c["rows"]["balanced"]["attempts"])]


def shots(first: dict, also: list[dict]):
    """Per shot of ``first``: its attempts there and every (CRF, VMAF) any run measured on it."""
    for _, per_shot in clip_shots(first, also):
        yield from per_shot


def single_point_curve(c0: float, v0: float):
    """A shot measured at one CRF: the loop's default slope through that point on the headroom scale."""
    k = L.DEFAULT_SLOPE / (L.TOP - BAND.aim)  # headroom per CRF step near the aim
    return lambda c: float(min(L.TOP - math.exp(L.headroom(v0) + k * (c - c0)), 100.0))


def one_shot(seq: list, pts: list, shift: float, slope_of=first_slope_taken, band: L.Band = BAND,
             bracket_extra: bool = False) -> list[L.Attempt]:
    """The loop's attempts on one shot's curve (through ``pts``) from the run's start (``seq``'s first) moved by
    ``shift``, at the model's slope ``slope_of(seq)``, with ``band``; ``bracket_extra``: the budget grows as
    `jndenc.loop.allowed` lets it (the replays written before that rule keep the plain budget)."""
    v = curve(pts) if len(pts) >= 2 else single_point_curve(*pts[0])
    slope = slope_of(seq) if len(seq) >= 2 else L.DEFAULT_SLOPE
    got: list[L.Attempt] = []
    crf: float | None = L.quantise(min(max(seq[0][0] + shift, MIN_CRF), MAX_CRF))
    while crf is not None and len(got) < (L.allowed(got, band, BUDGET) if bracket_extra else BUDGET):
        got.append(L.Attempt(crf, v(crf), int(1e6 * math.exp(-0.11 * crf))))
        crf = L.next_crf(got, band, slope=slope, min_crf=MIN_CRF, max_crf=MAX_CRF, steeper_up=True)
    return got


@dataclass
class Tally:
    """What every replay counts over the shots it replays, with ``band``: attempts, first attempts and kept shots
    in the band, kept shots at or under 95.5, the worst kept, attempts weighted by each shot's frames, and the
    modelled bytes of the kept attempts (weighted by frames where ``add`` is told so)."""

    band: L.Band = BAND
    n: int = 0
    attempts: int = 0
    first_in: int = 0
    in_band: int = 0
    le: int = 0
    frames: int = 0
    frame_attempts: int = 0
    worst: float = 100.0
    cost: float = 0.0

    def add(self, got: list[L.Attempt], frames: int = 1, bytes_by_frames: bool = False) -> None:
        k = L.kept(got, self.band)
        self.n += 1
        self.attempts += len(got)
        self.frames += frames
        self.frame_attempts += frames * len(got)
        self.first_in += self.band.contains(got[0].vmaf)
        self.in_band += self.band.contains(got[k].vmaf)
        self.le += got[k].vmaf <= 95.5
        self.worst = min(self.worst, got[k].vmaf)
        self.cost += got[k].bytes * (frames if bytes_by_frames else 1)

    def figures(self, *keys: str, digits: int | None = 3) -> dict:
        """``keys`` of the figures, in that order (rounded to ``digits``, the worst to 2, unless ``digits`` is None)."""
        n = self.n
        all_ = {"shots": n, "first_in_band": self.first_in / n, "attempts_per_shot": self.attempts / n,
                "frame_weighted_attempts": self.frame_attempts / self.frames, "kept_in_band": self.in_band / n,
                "share_le_95_5": self.le / n, "worst_kept": self.worst, "bytes_model": self.cost}
        if digits is not None:
            all_ = {k: v if k in ("shots", "bytes_model") else round(v, 2 if k == "worst_kept" else digits)
                    for k, v in all_.items()}
        return {k: all_[k] for k in keys}


def replay(all_shots: list, shift: float, slope_of=first_slope_taken) -> dict:
    """The loop replayed on every shot's curve from its start moved by ``shift``; ``slope_of(seq)``: the model's
    slope behind a run's first step."""
    t = Tally()
    for seq, pts in all_shots:
        t.add(one_shot(seq, pts, shift, slope_of))
    return {"shift": shift, **t.figures("shots", "first_in_band", "attempts_per_shot", "kept_in_band",
                                        "share_le_95_5", "worst_kept", "bytes_model")}


def load_runs(doc: str, argv=None) -> tuple[dict, list[dict], Path]:
    """A replay's command line: ``--first M.json [--also A.json ...] --out OUT.json``, the runs read."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--first", type=Path, required=True)
    ap.add_argument("--also", nargs="*", type=Path, default=[])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    return json.loads(args.first.read_text()), [json.loads(p.read_text()) for p in args.also], args.out


def runs_header(first: dict, also: list[dict]) -> dict:
    """Which runs a replay read: each run's commit and clips, for its JSON."""
    return {"first": {"commit": first["commit"], "clips": [c["clip"] for c in first["clips"]]},
            "also": [{"commit": d["commit"], "clips": [c["clip"] for c in d["clips"]]} for d in also]}


def write_replay(out_path: Path, first: dict, also: list[dict], curves: Sequence[list], rows: list[dict], base: float,
                 bytes_key: str, **extra) -> int:
    """A replay's JSON: each row's modelled bytes against ``base`` as ``bytes_key`` (printed as it goes), the runs
    read, ``extra`` fields, how many shots' ``curves`` had one point, and the rows."""
    for r in rows:
        r[bytes_key] = round(100 * (r.pop("bytes_model") / base - 1), 2)
        print(r)
    out = {**runs_header(first, also), **extra, "curves_with_one_point": sum(len(p) < 2 for p in curves),
           "replay": rows}
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    return 0


def replay_main(doc: str, candidates: Sequence, run: Callable[[list, object], dict], name: str, base_value,
                bytes_key: str, argv=None) -> int:
    """A replay experiment's command: ``run(all_shots, candidate)`` per candidate on the ``--first`` run's shots
    (curves through ``--also``'s points too), bytes against the row whose ``name`` is ``base_value`` as
    ``bytes_key``, written to ``--out``."""
    first, also, out_path = load_runs(doc, argv)
    all_shots = list(shots(first, also))
    rows = [run(all_shots, k) for k in candidates]
    base = next(r["bytes_model"] for r in rows if r[name] == base_value)
    return write_replay(out_path, first, also, [p for _, p in all_shots], rows, base, bytes_key)


def main(argv=None) -> int:
    return replay_main(__doc__, SHIFTS, replay, "shift", 0.0, "bytes_vs_no_shift_pct", argv)


if __name__ == "__main__":
    sys.exit(main())
