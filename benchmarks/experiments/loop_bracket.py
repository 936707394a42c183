#!/usr/bin/env python3
"""One attempt more where the budget missed the band on both sides (`jndenc.loop.allowed`): `benchmarks/segments.py`
outputs (rows ``crf23,balanced,balanced@x265,balanced@av1,balanced@vp9``) at 4b2ebcf (``--before``, a budget of
three) and 229dfa1 (``--after``, which added the rule) on the 14 training and validation clips of `codec_qm.py`
(first 240 frames each), the two runs side by side, each pinned to its own core:

    python benchmarks/experiments/loop_bracket.py --before A.json --after B.json \\
        --out benchmarks/results/loop_bracket.json

Per encoder: bytes, worst shot, shots <= 95.5, attempts per shot, frames encoded over output frames and time over
a plain x264 encode, on the finished file. Training and validation clips only.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402


def main(argv=None) -> int:
    return pair.codec_main(__doc__, ("balanced", "balanced@x265", "balanced@av1", "balanced@vp9"), argv)


if __name__ == "__main__":
    sys.exit(main())
