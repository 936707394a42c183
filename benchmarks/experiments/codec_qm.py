#!/usr/bin/env python3
"""What quantisation matrices save SVT-AV1: balanced with SVT-AV1's default (``--before``: no matrices) and with
``enable-qm=1`` (``--after``, `jndenc.media.segments.codec_args`), at jndenc's default speed (preset 8).

    python benchmarks/experiments/codec_qm.py --before A.json --after B.json \\
        --out benchmarks/results/codec_qm.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced@av1``) on the same
training and validation clips, at the commit before the change (203e628) and the one that made it (3271642),
one after the other on the same core. Reported per run: shots, attempts per shot, encoded frames over output
frames, bytes, worst shot, shots <= 95.5 (VMAF per shot on the finished file) and time over the plain x264
CRF 23 encode of the same process.

Run it only on training and validation clips.
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
