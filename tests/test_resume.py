"""`jndenc encode --resume`: an encode stopped part-way keeps its finished shots and the next run takes them up,
writing the file an uninterrupted run writes; a second run at the same time is refused."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import interruptible, make_cut_clip
from jndenc import loop as L
from jndenc.errors import UserError
from jndenc.resume import PREFIX, ShotStore
from jndenc.shotjob import ShotLoop


def test_store_keeps_whole_shots_and_drops_broken_ones(tmp_path):
    store = ShotStore(tmp_path)
    shots = [ShotLoop(0, 40, [L.Attempt(23.25, 95.1234567, 1000), L.Attempt(25.0, 94.2, 800)], 1, "in_band", 90.5,
                      0.875, None, 1),
             ShotLoop(40, 90, [L.Attempt(30.0, 93.9, 500)], 0, "in_band", 91.0)]
    for i, shot in enumerate(shots):
        seg = tmp_path / f"shot{i:05d}_0.mkv"
        seg.write_bytes(b"x" * (10 + i))
        store.save(i, shot, seg)
    got = store.load(3, ShotLoop)
    assert {i: s for i, (s, _) in got.items()} == dict(enumerate(shots))  # floats and fields exactly as written
    # a segment cut short since, or a record left half-written, is not taken: that shot runs again
    (tmp_path / "shot00001_0.mkv").write_bytes(b"x")
    (tmp_path / "shot00002.json").write_text('{"shot": {"start_fr')
    assert list(store.load(3, ShotLoop)) == [0]


def test_one_run_at_a_time_holds_a_folder(tmp_path):
    a, b = ShotStore(tmp_path), ShotStore(tmp_path)
    a.acquire()
    with pytest.raises(UserError, match="another jndenc run"):
        b.acquire()
    a.release()
    b.acquire()
    b.release()


@pytest.fixture(scope="module")
def four_shots(tmp_path_factory) -> Path:
    """Three shots long enough (320x240, 2-3 s each) that an interrupt lands between the first and the last."""
    return make_cut_clip(tmp_path_factory.mktemp("resume") / "three.mp4", size="320x240", seconds=(2, 3, 3))


def test_an_interrupted_encode_resumes_to_the_same_file(four_shots, tmp_path):
    ref = tmp_path / "ref.mp4"
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", four_shots, ref, "-q", "--jobs", "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "o.mp4"
    cmd = [sys.executable, "-m", "jndenc", "encode", str(four_shots), str(out), "-q", "--jobs", "1", "--resume"]
    with interruptible(cmd, stderr=subprocess.PIPE, text=True) as proc:
        deadline = time.time() + 120
        # shots run longest first, so the first record written is not shot 0's: interrupt after whichever it is
        while time.time() < deadline and proc.poll() is None and not list(out_dir.glob(f"{PREFIX}*/shot?????.json")):
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, f"the encode ended before it could be interrupted: {err}"
    assert not out.exists()
    [work] = list(out_dir.glob(f"{PREFIX}*"))
    assert 1 <= len(list(work.glob("shot?????.json"))) < 3, sorted(p.name for p in work.iterdir())  # some kept, not all

    # while one run holds the folder, another is refused in one line
    holder = ShotStore(work)
    holder.acquire()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 2 and "another jndenc run" in r.stderr and "Traceback" not in r.stderr
    finally:
        holder.release()

    # what an earlier run with other settings left for this output goes once it is written; another output's stays
    stale, other = out_dir / f"{PREFIX}o.mp4.0123abcd", out_dir / f"{PREFIX}p.mp4.0123abcd"
    for d in (stale, other):
        d.mkdir()
        (d / "shot00000_0.mkv").write_bytes(b"x")
    r = subprocess.run([*cmd[:-3], "--jobs", "2", "--resume", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not stale.exists() and other.exists()
    shutil.rmtree(other)
    d = json.loads(r.stdout)
    assert any("taken from a previous run" in n for n in d["notes"]), d["notes"]
    assert out.read_bytes() == ref.read_bytes()
    assert not list(out_dir.glob(f"{PREFIX}*"))  # done: the work folder goes


def test_resume_is_refused_where_no_loop_runs(four_shots, tmp_path):
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", four_shots, tmp_path / "o.mp4", "--crf", "23",
                        "--resume"], capture_output=True, text=True)
    assert r.returncode == 2 and "--resume" in r.stderr and not (tmp_path / "o.mp4").exists()


def test_a_run_without_resume_clears_what_a_stopped_one_left(four_shots, tmp_path):
    # a user who gave up on --resume and encoded the file another way has no use for the folder any more
    left, other = tmp_path / f"{PREFIX}o.mp4.0123abcd", tmp_path / f"{PREFIX}p.mp4.0123abcd"
    for d in (left, other):
        d.mkdir()
        (d / "shot00000_0.mkv").write_bytes(b"x")
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", four_shots, tmp_path / "o.mp4", "--crf", "23",
                        "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not left.exists() and other.exists()
