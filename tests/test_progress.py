"""Progress adapter and journal reads: small pieces other tests only touch in passing."""
from __future__ import annotations

import inspect
import io

from tqdm import tqdm

from jndenc.batch.journal import Fingerprint, Journal
from jndenc.progress import FrameCounter


def test_frame_counter_turns_absolute_frame_numbers_into_increments():
    with tqdm(total=100, file=io.StringIO()) as bar:
        count = FrameCounter(bar)
        for frame in (10, 10, 7, 25, 100):  # FFmpeg repeats and, after a reset, may report a lower number
            count(frame)
        assert bar.n == 100
    # no dead knobs: `offset` was accepted and never read
    assert list(inspect.signature(FrameCounter).parameters) == ["bar"]


def test_journal_rows_are_every_item_in_key_order(tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(b"x")
    with Journal(tmp_path / "out") as j:
        for key in ("b.mp4", "a.mp4"):
            j.mark_pending(key, str(src), str(tmp_path / key))
        j.mark_running("a.mp4", str(src), str(tmp_path / "a.mp4"), Fingerprint.of(src), "{}")
        assert [(r["key"], r["status"]) for r in j.rows()] == [("a.mp4", "running"), ("b.mp4", "pending")]
    # no dead knobs: `keys` filtered nothing any caller asked for
    assert list(inspect.signature(Journal.rows).parameters) == ["self"]
