#!/usr/bin/env python3
"""Would x265 take fewer attempts with a longer first step? x265's first steps fell short of the aim by about a fifth
at the median on training and validation clips (`loop_codec_steps.py`, both directions), where x264's, SVT-AV1's
and VP9's centred on it: x265 is stepped as one x265 step per x264 step, and its curves are flatter than that near
the target. The variant takes x265's first step 1.25 times as long (the first step's share of the model's chord,
`LoopOptions.slope_scale`, 0.6 / 1.25); later steps follow the measured points as before.

    python benchmarks/experiments/loop_x265_step.py CLIPS... --cpu 0 --out A.json
    python benchmarks/experiments/loop_x265_step.py CLIPS... --cpu 1 --out B.json
    python benchmarks/experiments/loop_x265_step.py --merge A.json B.json --out benchmarks/results/loop_x265_step.json

`benchmarks/segments.py` with the variant registered as an effort level (`study.segments_with`) and run on x265
beside balanced in the same process, every output measured per shot on the finished file. Training and
validation clips only: a setting would be chosen here.

Verdict: not adopted. On the 21 training and validation clips of the other loop studies the longer step took more
attempts (2.10 -> 2.21 a shot, frames encoded 2.04x -> 2.16x the output) for a little more bytes: the first step's
reach is spread wide, so a step long enough for the median shot carries the upper half past the band
(`benchmarks/results/loop_x265_step.json`; benchmarks/README.md, after "Does the loop's first step fit every
encoder?").
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study import segments_with  # noqa: E402

from jndenc.effort import EFFORTS  # noqa: E402

FACTOR = 1.25
BALANCED = EFFORTS["balanced"].loop
VARIANTS = {"balanced-x265step": replace(BALANCED, slope_scale=BALANCED.slope_scale / FACTOR)}
ROWS = ("crf23", "balanced@x265", "balanced-x265step@x265")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rc = segments_with(VARIANTS, ROWS, argv)
    if rc == 0 and "--out" in argv:  # the factor the variant ran at, for its table
        import json

        out = Path(argv[argv.index("--out") + 1])
        out.write_text(json.dumps({**json.loads(out.read_text()), "factor": FACTOR}, indent=1) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
