#!/usr/bin/env python3
"""Should balanced score short shots on a sample too? It scores every 3rd frame of shots of 48 frames or more
(`LoopOptions.subsample_min_frames`) and every frame of shorter ones: the sampling study measured pieces of 48
frames or more only. On edited material a quarter of the frames can lie in shorter shots, where an attempt scored
on every frame costs about 1.6 times as much per frame as a sampled one (a 30-frame 720p attempt against a
90-frame one, one core). The variants lower the minimum; a reading near the band's lower edge is still measured
again on every frame (the window grows with the sample's standard error, which is larger on few frames).

    python benchmarks/experiments/loop_short_sampling.py CLIPS... --cpu 0 --out A.json
    python benchmarks/experiments/loop_short_sampling.py CLIPS... --cpu 1 --out B.json
    python benchmarks/experiments/loop_short_sampling.py --merge A.json B.json \\
        --out benchmarks/results/loop_short_sampling.json

`benchmarks/segments.py` with the variants registered as effort levels (`study.segments_with`), every output
measured per shot on the finished file, each variant in the same process as balanced. Run it on training and
validation clips only: a default would be chosen here.

Verdict: not adopted. On the 21 training and validation clips with more than one shot in their first 240 frames
(those of `loop_fast.py`) more readings fell inside the recheck window (a sample of a few frames is less sure)
and were measured again on every frame, and some shots took another path of attempts: the attempts took longer
at either minimum, and the bytes rose a little (`benchmarks/results/loop_short_sampling.json`; the table in
benchmarks/README.md, "A seventeenth").
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study import segments_with  # noqa: E402

from jndenc.effort import EFFORTS  # noqa: E402

BALANCED = EFFORTS["balanced"].loop
VARIANTS = {f"balanced-min{n}": replace(BALANCED, subsample_min_frames=n) for n in (24, 16)}
ROWS = ("crf23", "balanced", *VARIANTS)


def main(argv=None) -> int:
    return segments_with(VARIANTS, ROWS, list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
