#!/usr/bin/env python3
"""Every 3rd frame instead of every 5th: balanced with sampled readings from every 5th frame (``--before``) and
from every 3rd (``--after``, `jndenc.effort`), both with the recheck rules of `loop_recheck.py`. Every 5th frame
aliases with 3:2 pulldown, whose five-frame cadence puts two combed frames in every five.

    python benchmarks/experiments/loop_stride.py --before A.json --after B.json \\
        --out benchmarks/results/loop_stride.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced``) on the multi-shot
training and validation clips of `loop_recheck.py`, at 7303bef and 46d8b50, each run as two processes pinned to
one core each. Reported as `loop_recheck.py` reports.

Run it only on training and validation clips.
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
