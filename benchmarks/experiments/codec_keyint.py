#!/usr/bin/env python3
"""What the encoders' own key-frame intervals cost: balanced on SVT-AV1 and VP9 with each encoder's default
interval (``--before``: SVT-AV1 about 5 s, libvpx-vp9 128 frames) and with x264's 250 frames (``--after``,
`jndenc.media.segments.KEYINT`). Every segment starts with a key frame; a shorter interval adds one inside
every piece longer than it.

    python benchmarks/experiments/codec_keyint.py --before A.json --after B.json \\
        --out benchmarks/results/codec_keyint.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced@av1,balanced@vp9``) on
the same training and validation clips, at the commit before the change (4290b54) and the one that made it
(adc83d0), each process pinned to its own core. Reported per row and run: shots, attempts per shot, encoded
frames over output frames, bytes, worst shot, shots <= 95.5 (VMAF per shot on the finished file) and time over
the plain x264 CRF 23 encode of the same process.

Run it only on training and validation clips.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402

ROWS = ("balanced@av1", "balanced@vp9")


def main(argv=None) -> int:
    return pair.codec_main(__doc__, ROWS, argv)


if __name__ == "__main__":
    sys.exit(main())
