#!/usr/bin/env python3
"""BD-rate of jndenc vs a fixed-CRF ladder. See benchmarks/README.md and `--help`.

    python benchmarks/bdrate.py ../shared/clips --out results/

The logic lives in `jndenc.bench.bdrate` (also `jndenc bench bdrate`).
"""
import sys

from jndenc.bench.bdrate import main

if __name__ == "__main__":
    sys.exit(main())
