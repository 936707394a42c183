#!/usr/bin/env python3
"""What scoring each attempt with the frames before its shot in front changes (`LoopOptions.score_lead`).

VMAF's motion term reads the reference video alone, from the frame before: a segment scored on its own reads its
first frame as still, several VMAF lower than the same frame reads in the finished file, where the frame before
is there. The loop then read a shot after a cut low (0.3 to 0.7 on shots of 12 to 50 frames in an audit), and
spent bytes keeping it in the band. With the lead, the attempt's frames read as the finished file's do
(`tests/test_segments.py` checks it frame for frame).

    python benchmarks/experiments/loop_lead.py CLIPS... --cpu 0 --out A.json
    python benchmarks/experiments/loop_lead.py --merge A.json B.json --out benchmarks/results/loop_lead.json

`benchmarks/segments.py` with the old measurement registered as an effort level (`study.segments_with`) and run
beside balanced in the same process, every output measured per shot on the finished file (every frame).
Training and validation clips only.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study import segments_with  # noqa: E402

from jndenc.effort import EFFORTS  # noqa: E402

BALANCED = EFFORTS["balanced"].loop
VARIANTS = {"balanced-nolead": replace(BALANCED, score_lead=False)}
ROWS = ("crf23", "balanced", "balanced-nolead")


def main(argv=None) -> int:
    return segments_with(VARIANTS, ROWS, list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
