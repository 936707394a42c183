#!/usr/bin/env python3
"""Would a measured fast level pay? `--effort fast` is one unmeasured pass at probe mode's estimate less a margin;
on the test clips it keeps a third of the oracle's saving (issue 24 asks for half). The alternative tried here:
fast as the shot loop itself, cheaper than balanced, with two attempts a shot (a third where they missed the band
on both sides, `jndenc.loop.allowed`) and a band reaching further above the target, so that more first attempts
are kept. Its savings would not rest on the model's accuracy (every shot is measured); its cost would.

    python benchmarks/experiments/loop_fast.py CLIPS... --cpu 0 --out A.json
    python benchmarks/experiments/loop_fast.py CLIPS... --cpu 1 --out B.json
    python benchmarks/experiments/loop_fast.py --merge A.json B.json --out benchmarks/results/loop_fast.json

This is `benchmarks/segments.py` (rows ``ROWS``: CRF 23, the oracle, fast, balanced and each variant, every output
measured per shot on the finished file) with the variants (`VARIANTS`) registered as effort levels for the run.
Run it on training and validation clips only: a level would be chosen here. The run in the results used the 21
training and validation clips with more than one shot in their first 240 frames (those of `loop_recheck.py`),
split over two processes, each pinned to its own core.

The rule for choosing was set before the runs finished: a variant replaces fast only if it keeps at least 95% of
shots at VMAF 93 or above (the issue's floor for fast) at no more time than fast's. Verdict: not adopted. On the
21 clips every variant saved more than fast (between two thirds and nine tenths of the oracle's per-clip saving,
fast half), but each attempt costs an encode and a VMAF pass: 1.6 to 1.9 attempts a shot took about nine tenths
of balanced's time and a third or more above fast's, and the shots that two attempts left under the band stayed
there (the worst lower than fast's). Fast stays the one pass it is (`benchmarks/results/loop_fast.json`; the
table in benchmarks/README.md, "A sixteenth").
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study import segments_with  # noqa: E402

from jndenc.loop_options import LoopOptions  # noqa: E402

# a measured fast: balanced's loop (start at the model's median, every 3rd frame scored) with two attempts a shot
# and the band's upper edge this far above the target (balanced's: + 1.0)
VARIANTS = {f"fast-b2-a{round(10 * above):d}": LoopOptions(budget=2, above=above, subsample=3)
            for above in (1.0, 1.5, 2.0)}
ROWS = ("crf23", "oracle", "fast", "balanced", *VARIANTS)


def main(argv=None) -> int:
    return segments_with(VARIANTS, ROWS, list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
