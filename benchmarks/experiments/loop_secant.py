#!/usr/bin/env python3
"""A step along a measured secant limited to 1.5x the distance between its two attempts
(`jndenc.loop.SECANT_GROWTH`, chosen by `loop_secant_cap.py`'s replay): balanced without the limit
(``--before``) and with it (``--after``), measured.

    python benchmarks/experiments/loop_secant.py --before A.json --after B.json \\
        --out benchmarks/results/loop_secant.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced``) on the multi-shot
training and validation clips of `loop_recheck.py`, at 46d8b50 (the loop as shipped before the limit) and
c261e6c, each run as two processes pinned to one core each; the figures `loop_recheck.py` gives. Training and
validation clips only: the limit was kept on this run.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402
from loop_recheck import measured  # noqa: E402


def main(argv=None) -> int:
    return pair.main(__doc__, measured, argv)


if __name__ == "__main__":
    sys.exit(main())
