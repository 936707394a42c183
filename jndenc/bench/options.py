"""The BD-rate benchmark's options, on their own so every bench module can import them without a cycle."""
from __future__ import annotations

from dataclasses import asdict, dataclass

BENCH_MODES = ("predict", "probe", "guided", "search")


@dataclass
class BenchOptions:
    crf_ladder: tuple[float, ...] = (18, 23, 28, 33, 38)
    targets: tuple[int, ...] = (1, 2, 3)
    # "auto": each mode's default in `jndenc encode` (predict/probe: calibrated per-shot margins, search 1, guided 0)
    margins: tuple[float | str, ...] = ("auto",)
    codec: str = "x264"
    preset: str = "medium"
    modes: tuple[str, ...] = ("predict", "probe", "guided", "search")
    max_frames: int | None = 60
    max_clips: int | None = 6
    thresholds: tuple[float, ...] | None = None  # search mode; None: jndenc's defaults
    weights: str | None = None
    calibration: str | None = None
    match: bool = True  # extra fixed-CRF encodes for the matched worst-shot comparison
    threads: int | None = None
    keep_encodes: bool = False
    quiet: bool = False

    def to_dict(self) -> dict:
        return asdict(self)
