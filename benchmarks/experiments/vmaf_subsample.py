#!/usr/bin/env python3
"""How far libvmaf's own subsampling (``n_subsample=N``: every Nth frame of a segment scored, from its first)
moves a shot's mean VMAF from the mean over every frame, and what it saves, on the loop's own attempts.

    python benchmarks/experiments/vmaf_subsample.py CLIPS... --out A.json [--cpu 0]
    python benchmarks/experiments/vmaf_subsample.py --merge A.json B.json --out RESULT.json

Unlike the ``select`` sampling of `benchmarks/sampling.py`, libvmaf's subsampling still feeds every frame to
its temporal feature (motion), so each scored frame reads exactly what it reads in a full pass (checked here
on every run: the scored frames' values are compared with the full log's). What remains is the error of a
mean over fewer frames, which this measures without a second pass: per clip (a lossless cut of its first
``--max-frames`` frames), per CRF and per piece length, every piece is encoded as its own segment with
`jndenc.media.segments.attempt_args` (so it starts with a key frame, as a loop attempt does) and scored on
every frame; the every-Nth means are taken from that log, two ways: the plain mean of the scored frames, and
`jndenc.media.segments.sampled_mean` (the segment's first frame at its own weight: a key frame whose motion term
has no previous frame reads unlike the rest, and a plain every-Nth mean weighs it N times). Time: per clip, one
attempt over the whole cut at the middle CRF for each N, against a plain x264 medium encode of the cut in the
same process.

Run it on training and validation clips only: the loop's measurement is chosen from it.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from jndenc.media.ffargs import encode_args
from jndenc.media.runner import run_ffmpeg
from jndenc.media.segments import SegmentCodec, attempt_args, encoder_threads, sampled_mean

sys.path.insert(0, str(Path(__file__).resolve().parent))
import study  # noqa: E402

NS = (2, 3, 4, 5, 6, 8, 10, 12)
TIMED_NS = (1, 2, 4, 5, 6, 8, 12)
CRFS = (22, 26, 30)
PIECE_SECONDS = (1.0, 3.0, 8.0)
# what the loop's choice looks at: shots long enough to be subsampled, read near the target's band
CHOICE_FRAMES = 48
CHOICE_RANGE = (90.0, 98.0)


def frame_scores(log: Path) -> dict[int, float]:
    return {f["frameNum"]: f["metrics"]["vmaf"] for f in json.loads(log.read_text())["frames"]}


def run_clip(clip: Path, work: Path, max_frames: int) -> dict:
    src, info = study.cut(clip, work, max_frames)
    codec = SegmentCodec(threads=encoder_threads(info.width, info.height), bit_depth=info.bit_depth)
    n = info.frames
    rec = {"clip": clip.name, "frames": n, "size": [info.width, info.height], "pieces": [], "time": {}}
    for length in PIECE_SECONDS:
        step = max(1, int(round(length * info.fps)))
        pieces = [(a, min(n, a + step)) for a in range(0, n, step) if min(n, a + step) - a >= step // 2]
        for crf in CRFS:
            for a, b in pieces:
                out, log = work / "seg.mp4", work / "seg.json"
                run_ffmpeg(attempt_args(src, out, log, (a, b), codec=codec, crf=crf), what="encoding a piece")
                v = np.array([s for _, s in sorted(frame_scores(log).items())])
                rec["pieces"].append({"seconds": length, "crf": crf, "frames": b - a, "full": float(v.mean()),
                                      "p5": float(np.percentile(v, 5)),
                                      "gap": {str(k): float(v[::k].mean() - v.mean()) for k in NS},
                                      "gap_first_own_weight": {str(k): float(sampled_mean(v[::k], len(v)) - v.mean())
                                                               for k in NS}})
    # time, and the check that a subsampled pass scores its frames as the full pass does
    mid = CRFS[len(CRFS) // 2]
    t = time.perf_counter()
    run_ffmpeg(encode_args(src, work / "plain.mp4", encoder="libx264", preset="medium", crf=mid,
                           threads=codec.threads), what="plain encode")
    rec["time"]["plain"] = time.perf_counter() - t
    full = None
    for k in TIMED_NS:
        out, log = work / f"all{k}.mp4", work / f"all{k}.json"
        t = time.perf_counter()
        run_ffmpeg(attempt_args(src, out, log, (0, n), codec=codec, crf=mid, subsample=k), what="timed attempt")
        rec["time"][str(k)] = time.perf_counter() - t
        scores = frame_scores(log)
        if k == 1:
            full = scores
        else:
            rec.setdefault("max_frame_diff", 0.0)
            rec["max_frame_diff"] = max(rec["max_frame_diff"], max(abs(s - full[i]) for i, s in scores.items()))
    return rec


def summary(clips: list[dict]) -> tuple[list[dict], dict, list[dict]]:
    """Per piece length and N: the gap (sampled - full mean) over the pieces; the time of each N; and the choice's
    view: pieces of at least `CHOICE_FRAMES` frames whose full mean lies near the target (`CHOICE_RANGE`)."""
    pieces = [p for c in clips for p in c["pieces"]]
    rows = []
    for length in PIECE_SECONDS:
        ps = [p for p in pieces if p["seconds"] == length]
        rows += [dict(piece_seconds=length, estimate=key, **_gaps(ps, k, key))
                 for key in ("gap", "gap_first_own_weight") for k in NS]
    near = [p for p in pieces if p["frames"] >= CHOICE_FRAMES and CHOICE_RANGE[0] <= p["full"] <= CHOICE_RANGE[1]]
    choice = [dict(min_frames=CHOICE_FRAMES, vmaf_range=list(CHOICE_RANGE), estimate=key, **_gaps(near, k, key))
              for key in ("gap", "gap_first_own_weight") for k in NS]
    times = {}
    for k in TIMED_NS:
        times[str(k)] = {
            "vs_full_median": round(float(np.median([c["time"][str(k)] / c["time"]["1"] for c in clips])), 3),
            "vs_plain_median": round(float(np.median([c["time"][str(k)] / c["time"]["plain"] for c in clips])), 3)}
    return rows, times, choice


def _gaps(pieces: list[dict], k: int, key: str) -> dict:
    g = np.array([p[key][str(k)] for p in pieces])
    return {"every": k, "pieces": len(pieces), "mean_gap": round(float(g.mean()), 3),
            "mean_abs_gap": round(float(np.abs(g).mean()), 3),
            "p95_abs_gap": round(float(np.percentile(np.abs(g), 95)), 3),
            "p95_reads_high": round(float(np.percentile(g, 95)), 3),  # the unsafe side: sampled above full
            "max_abs_gap": round(float(np.abs(g).max()), 3)}


def main(argv=None) -> int:
    ap = study.parser(__doc__, 240)
    args = ap.parse_args(argv)
    commit, clips = study.clips(ap, args, lambda clip, tmp: run_clip(clip, tmp, args.max_frames), "jndenc-subsample-")
    rows, times, choice = summary(clips)
    args.out.write_text(json.dumps({"commit": commit, "crfs": CRFS, "clips": clips, "summary": rows,
                                    "choice": choice, "time": times}, indent=1) + "\n")
    for r in choice:
        print(r)
    print(times)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
