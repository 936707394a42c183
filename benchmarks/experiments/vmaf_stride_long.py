#!/usr/bin/env python3
"""Which VMAF stride a long shot can be scored at: the sampled mean's gap from the full mean, and whether the
loop's recheck window (`LoopOptions.recheck_window`: the larger of 0.32 and two standard errors of the sampled
mean) covers it, per piece length and stride, on x264 attempts encoded as the loop encodes them.

    python benchmarks/experiments/vmaf_stride_long.py CLIPS... --out A.json [--cpu 0] [--max-frames 300]
    python benchmarks/experiments/vmaf_stride_long.py --merge A.json B.json --out RESULT.json

`vmaf_subsample.py` chose every 3rd frame on pieces of 48 to 240 frames; a scored frame costs about as much
as an encoded one at 720p on one core, so longer shots, where a stride of 3 scores many more frames than the
mean needs, might be scored on fewer. Strides 4, 6 and 8 alias with x264's frame types and 5 with a 3:2
pulldown cadence (that study), so the candidates here are odd and coprime with 5: 3, 7, 9, 11, 13. Per clip (a
lossless cut of its first ``--max-frames`` frames) and CRF, pieces of each length are encoded as their own
segments and scored on every frame; the sampled means come from that log. A piece is *uncovered* at a stride
when its sampled mean reads above the full mean by more than the recheck window: a shot just under the band's
lower edge could then be read inside it and kept. *Rechecked* counts the pieces whose window is wider than
0.32 (a reading near the edge would cost a full pass). Time: per clip one attempt over the whole cut per
stride, over the same attempt scored on every frame.

Run it on training and validation clips only: the loop's measurement is chosen from it.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from jndenc.loop_options import LoopOptions
from jndenc.media.runner import cpu_meter, run_ffmpeg
from jndenc.media.segments import SegmentCodec, attempt_args, encoder_threads, sampled_error, sampled_mean

sys.path.insert(0, str(Path(__file__).resolve().parent))
import study  # noqa: E402

STRIDES = (3, 7, 9, 11, 13)
CRFS = (26,)
PIECE_SECONDS = (4.0, 10.0)
WINDOW = LoopOptions(subsample=3).recheck_window
NEAR = (90.0, 98.0)  # the readings the loop's decisions turn on


def _scores(log: Path) -> np.ndarray:
    frames = json.loads(log.read_text())["frames"]
    return np.array([f["metrics"]["vmaf"] for f in sorted(frames, key=lambda f: f["frameNum"])], float)


def run_clip(clip: Path, work: Path, max_frames: int) -> dict:
    src, info = study.cut(clip, work, max_frames)
    codec = SegmentCodec(threads=encoder_threads(info.width, info.height), bit_depth=info.bit_depth)
    n = info.frames
    rec = {"clip": clip.name, "frames": n, "size": [info.width, info.height], "fps": info.fps, "pieces": [],
           "time": {}}
    out, log = work / "seg.mp4", work / "seg.json"
    for length in PIECE_SECONDS:
        step = max(1, int(round(length * info.fps)))
        pieces = [(a, min(n, a + step)) for a in range(0, n, step) if min(n, a + step) - a >= step // 2]
        for crf in CRFS:
            for a, b in pieces:
                run_ffmpeg(attempt_args(src, out, log, (a, b), codec=codec, crf=crf), what="encoding a piece")
                v = _scores(log)
                full = float(v.mean())
                by = {}
                for k in STRIDES:
                    s = v[::k]
                    err = sampled_error(s, len(v))
                    by[str(k)] = {"gap": round(sampled_mean(s, len(v)) - full, 4),
                                  "window": round(WINDOW(err), 4) if np.isfinite(err) else None}
                rec["pieces"].append({"seconds": length, "crf": crf, "start": a, "frames": b - a,
                                      "full": round(full, 4), "by_stride": by})
    for k in (1, *STRIDES):
        used: dict[str, float] = {}
        t0 = time.perf_counter()
        with cpu_meter(used, "attempt"):
            run_ffmpeg(attempt_args(src, out, log, (0, n), codec=codec, crf=CRFS[0], subsample=k),
                       what="timed attempt")
        rec["time"][str(k)] = {"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(used["attempt"], 3)}
    return rec


def summary(clips: list[dict]) -> dict:
    """Per length bucket and stride, over the pieces read near the target (`NEAR`)."""
    pieces = [p for c in clips for p in c["pieces"] if NEAR[0] <= p["full"] <= NEAR[1]]
    buckets = [(60, 160), (160, 10_000)]
    rows = []
    for lo, hi in buckets:
        ps = [p for p in pieces if lo <= p["frames"] < hi]
        for k in STRIDES:
            g = np.array([p["by_stride"][str(k)]["gap"] for p in ps])
            w = np.array([p["by_stride"][str(k)]["window"] or np.inf for p in ps])
            if not len(g):
                continue
            rows.append({"frames": [lo, hi], "every": k, "pieces": len(ps),
                         "mean_abs_gap": round(float(np.abs(g).mean()), 3),
                         "p95_abs_gap": round(float(np.percentile(np.abs(g), 95)), 3),
                         "max_reads_high": round(float(g.max()), 3),
                         "uncovered": int((g > w).sum()),
                         "wider_than_032": int((w > 0.3201).sum())})
    times = {}
    for k in (1, *STRIDES):
        times[str(k)] = round(float(np.median([c["time"][str(k)]["cpu_s"] / c["time"]["1"]["cpu_s"]
                                               for c in clips])), 3)
    return {"rows": rows, "cpu_vs_every_frame_median": times}


def main(argv=None) -> int:
    ap = study.parser(__doc__, 300)
    args = ap.parse_args(argv)
    commit, clips = study.clips(ap, args, lambda clip, tmp: run_clip(clip, tmp, args.max_frames), "jndenc-stride-")
    s = summary(clips)
    args.out.write_text(json.dumps({"commit": commit, "crfs": CRFS, "strides": STRIDES, "clips": clips,
                                    "summary": s}, indent=1) + "\n")
    for r in s["rows"]:
        print(r)
    print(s["cpu_vs_every_frame_median"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
