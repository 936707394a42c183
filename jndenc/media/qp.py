"""Read back the QP an H.264 encoder actually used, per frame (PyAV + FFmpeg's venc_params).

This is how tests and benchmarks check that a plan's per-shot CRF was really
applied, rather than trusting the command line.
"""
from __future__ import annotations

import os

import numpy as np

from .probe import _pick_video_stream, open_container


def frame_qps(path: str | os.PathLike) -> np.ndarray:
    """Mean macroblock QP of every frame, in presentation order (NaN where unknown)."""
    container = open_container(path)
    try:
        stream, _ = _pick_video_stream(container)
        stream.codec_context.options = {"export_side_data": "venc_params"}
        out = []
        for frame in container.decode(stream):
            q = np.nan
            for item in frame.side_data:
                # PyAV 18.1.0 iterates the side data itself, 18.1.1 its types (a mapping's keys)
                sd = item if hasattr(item, "type") else frame.side_data[item]
                if getattr(sd.type, "name", "") == "VIDEO_ENC_PARAMS":
                    q = float(np.mean(sd.qp_map()))
            out.append(q)
        return np.asarray(out)
    finally:
        container.close()


def range_qps(path: str | os.PathLike, ranges) -> list[float]:
    q = frame_qps(path)
    return [float(np.nanmean(q[a:b])) for a, b in ranges]
