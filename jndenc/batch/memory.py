"""How much memory a file of a batch holds while it encodes, so that a local batch starts no more files than the
machine's memory holds (a 64-core machine ran 32 files of 2160p side by side at up to 6 GB each). Dask workers
size themselves; this gates the local process pool only."""
from __future__ import annotations

import os

from ..errors import JndencError
from ..media.ffargs import attempt_memory
from ..media.probe import _pick_video_stream, bit_depth_of, open_container
from ..media.segments import encoder_of

# a worker process: Python, PyAV's decode of the analysis and the model on LiteRT (about 300 MB measured)
WORKER_BYTES = 400 << 20


def item_memory(path: str | os.PathLike, options: dict) -> int:
    """Bytes one file holds at its peak in a worker: the worker and one attempt (or probe, which holds less) at the
    file's frame size and bit depth on its encoder (the batch runs one shot at a time in each file). A header that
    cannot be read counts the worker alone: the encode will say what is wrong with the file."""
    try:
        container = open_container(path)
    except (JndencError, OSError):
        return WORKER_BYTES
    try:
        ctx = _pick_video_stream(container)[0].codec_context
        width, height = ctx.width, ctx.height
        pix = ctx.format.name if ctx.format is not None else ""
    except (JndencError, AttributeError):
        return WORKER_BYTES
    finally:
        container.close()
    try:
        encoder = encoder_of(options.get("codec") or "x264", options.get("encoder"))
    except JndencError:
        encoder = ""
    return WORKER_BYTES + attempt_memory(encoder, width, height, bit_depth_of(pix))


def fits(need: int, held: int, budget: int | None) -> bool:
    """Whether a file needing ``need`` bytes may start beside files holding ``held``, within ``budget`` (None: no
    limit known). The first file always starts, however large."""
    return budget is None or held == 0 or held + need <= budget
