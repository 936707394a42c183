#!/usr/bin/env python3
"""Which sampled readings should be measured again on every frame? Balanced with every sampled reading within
0.32 of the band's lower edge, on either side, scored again (``--before``) and only those at or above the edge
by up to 0.32 or two standard errors of the sampled mean, whichever is more (``--after``,
`jndenc.loop.Band.just_above_low`, `jndenc.media.segments.sampled_error`): a reading under the edge sends the
loop toward quality anyway, and a shot whose frames differ a lot is read less surely.

    python benchmarks/experiments/loop_recheck.py --before A.json --after B.json \\
        --out benchmarks/results/loop_recheck.json

``--before`` and ``--after`` are `benchmarks/segments.py` outputs (rows ``crf23,balanced``) on the same
training and validation clips with more than one shot in their first 240 frames, at the commit before the
change (054a0df) and the one with both changes (7303bef), each run as two processes pinned to one core each.
Reported per run: shots, attempts per shot, rechecks, encoded frames over output frames, seconds in the
attempts, bytes, worst shot, shots >= 93.5 and <= 95.5 on the finished file (every frame scored,
`jndenc.verify`) and time over the plain CRF 23 encode of the same process (median and worst over clips).

Run it only on training and validation clips.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pair  # noqa: E402


def measured(run: dict) -> dict:
    out, clips = pair.loop_figures(run)
    out["per_clip"] = pair.per_clip(clips)
    return out


def main(argv=None) -> int:
    return pair.main(__doc__, measured, argv)


if __name__ == "__main__":
    sys.exit(main())
