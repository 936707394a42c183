#!/usr/bin/env python3
"""What screen-content mode saves SVT-AV1: balanced with SVT-AV1's content-adaptive default (``--before``, scm=2) and with
``scm=1`` (``--after``, `jndenc.media.segments.codec_args`), both with quantisation matrices, at preset 8.

    python benchmarks/experiments/codec_scm.py --before A.json --after B.json \\
        --out benchmarks/results/codec_scm.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced@av1``) on the same
training and validation clips, at the commit before the change (ded8232) and the one that made it (f409b46),
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
    before, after, out_path = pair.load(__doc__, argv)
    pair.codec_rows(before, after, ("balanced@av1",), out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
