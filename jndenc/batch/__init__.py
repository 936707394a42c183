"""Batch transcoding: many files, parallel (processes or Dask), resumable from a journal.

``jndenc.batch.run(items, out_dir)`` is the API behind ``jndenc batch``.
"""
from __future__ import annotations

from .items import Item, as_items, collect_items
from .decide import options_fingerprint
from .runner import BatchRun, ItemResult, run
from .workers import default_parallelism

__all__ = ["run", "collect_items", "as_items", "Item", "ItemResult", "BatchRun", "default_parallelism",
           "options_fingerprint"]
