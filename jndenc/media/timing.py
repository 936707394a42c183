"""Whether a source's frames are evenly spaced: one rule for the probe, the loop's segments and the one-pass
encode (each keeps an unevenly spaced source on its own time base)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def variable_rate(pts: Sequence[int]) -> bool:
    """Whether frames at these timestamps (display order) are unevenly spaced: an interval off the median by more
    than two ticks and a twentieth of it. A constant rate on a coarse grid (30 fps in milliseconds: 33 and 34)
    is not."""
    gaps = np.diff(np.asarray(pts, dtype=np.int64))
    if gaps.size < 2:
        return False
    med = float(np.median(gaps))
    return bool(np.any(np.abs(gaps - med) > max(2.0, 0.05 * med)))
