#!/usr/bin/env python3
"""SVT-AV1's screen-content tools on every frame (``scm=1``) in the loop, against its own per-clip detection (the
default): `benchmarks/segments.py` outputs (rows ``crf23,balanced@av1``) at ded8232 (``--before``) and f409b46
(``--after``, which set ``scm=1`` in `jndenc.media.segments.codec_args`, since reverted) on the 14 training and
validation clips of `codec_qm.py`, the two runs side by side, each pinned to its own core:

    python benchmarks/experiments/codec_scm.py --before A.json --after B.json --out benchmarks/results/codec_scm.json

Figures as `codec_qm.py` reports them. Training and validation clips only.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402


def main(argv=None) -> int:
    return pair.codec_main(__doc__, ("balanced@av1",), argv)


if __name__ == "__main__":
    sys.exit(main())
