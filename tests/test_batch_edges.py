"""`jndenc batch` at its edges, as a pipeline meets them: interrupts, odd inputs, quiet runs. Real encodes, no mocks."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jndenc.batch.journal import Fingerprint, Journal

from conftest import ffmpeg, interruptible

FAST = ["--crf", "30", "--preset", "ultrafast"]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jndenc", "batch", *args], capture_output=True, text=True,
                          timeout=120)


def tiny(path: Path, seconds: int = 1, size: str = "64x48") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}", "-pix_fmt", "yuv420p",
           "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", str(path))
    return path


def wait_for(cond, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, "the batch ended before the moment the test waits for"
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.05)


def leftovers(out: Path) -> list[str]:
    """Files in OUTPUT_DIR outside its journal folder that are not finished outputs (temp files, segment folders)."""
    return [str(p) for p in out.rglob("*") if ".jndenc" not in p.relative_to(out).parts[:1]
            and p.name.startswith(".")]


@pytest.fixture
def slow_clip(tmp_path) -> Path:
    """One clip whose placebo encode takes seconds, so an interrupt lands while it runs."""
    return tiny(tmp_path / "in" / "slow.mp4", seconds=6, size="320x240")


def test_sigterm_to_the_batch_alone_stops_its_running_encode(slow_clip, tmp_path):
    # kill PID, a supervisor or `timeout` signal the batch process only, not its workers: the batch used to
    # wait for every running encode to finish (and write its output) before it exited
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "jndenc", "batch", str(slow_clip.parent), str(out), "--crf", "20",
           "--preset", "placebo", "-j", "1", "--threads", "1"]
    with interruptible(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        wait_for(lambda: any((out / ".jndenc" / "plans").glob("*.json")), proc)  # written as the encode starts
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert not (out / "slow.mp4").exists(), "the encode ran to the end after SIGTERM"
    assert leftovers(out) == []
    with Journal(out, readonly=True) as j:
        assert j.get("slow.mp4")["status"] == "running"  # a rerun encodes it again


def test_ctrl_c_with_an_idle_worker_prints_no_traceback(slow_clip, tmp_path):
    # a terminal's Ctrl-C reaches every worker; one waiting for work printed a KeyboardInterrupt traceback
    tiny(slow_clip.parent / "quick.mp4")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "jndenc", "batch", str(slow_clip.parent), str(out), "--crf", "20",
           "--preset", "placebo", "-j", "2", "--threads", "1"]
    with interruptible(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       start_new_session=True) as proc:
        wait_for(lambda: (out / "quick.mp4").exists(), proc)
        time.sleep(0.5)  # its worker back to waiting on the pool's queue
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "jndenc: interrupted", err
    assert not (out / "slow.mp4").exists()
    assert leftovers(out) == []


def test_done_and_its_encode_count_commit_together(tmp_path):
    # an interrupt between the two statements of mark_done left an item 'done' that counted no encode; a failure
    # of the second statement (SQLite's authorizer refuses it) stands in for the interrupt
    j = Journal(tmp_path)
    j.mark_pending("a.mp4", "in.mp4", "a.mp4")
    j.mark_running("a.mp4", "in.mp4", "a.mp4", Fingerprint(1, 1), "{}")
    j.db.set_authorizer(lambda action, a1, a2, *_: sqlite3.SQLITE_DENY if a2 == "encodes" else sqlite3.SQLITE_OK)
    with pytest.raises(sqlite3.DatabaseError):
        j.mark_done("a.mp4", output_size=10, frames=1, duration_s=0.04, crfs=[30], timings={}, result={})
    j.db.set_authorizer(None)
    row = j.get("a.mp4")
    assert (row["status"], row["encodes"], row["attempts"]) == ("running", 0, 1)
    j.mark_done("a.mp4", output_size=10, frames=1, duration_s=0.04, crfs=[30], timings={}, result={})
    row = j.get("a.mp4")
    assert (row["status"], row["encodes"]) == ("done", 1)
    j.close()


def test_quiet_still_names_the_files_that_failed(tmp_path):
    src = tmp_path / "in"
    tiny(src / "good.mp4")
    (src / "broken.mp4").write_bytes(b"\x00" * 4000)
    p = cli(str(src), str(tmp_path / "out"), "-q", *FAST)
    assert p.returncode == 3
    assert p.stdout == ""
    assert "broken.mp4" in p.stderr and "good.mp4" not in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


def test_a_container_that_cannot_carry_the_codec_is_refused_before_any_work(tmp_path):
    src = tmp_path / "in"
    tiny(src / "a.mp4")
    p = cli(str(src), str(tmp_path / "out"), "--container", "webm", *FAST)
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "WebM" in p.stderr, p.stderr
    assert not (tmp_path / "out").exists()
    # a manifest row's output in a container jndenc does not write, likewise
    (tmp_path / "list.csv").write_text("input,output\nin/a.mp4,a.flv\n")
    p = cli(str(tmp_path / "list.csv"), str(tmp_path / "out"), *FAST)
    assert p.returncode == 2 and ".flv" in p.stderr, p.stderr
    assert not (tmp_path / "out").exists()


def test_a_video_or_binary_file_given_as_the_list_is_a_user_error(tmp_path):
    clip = tiny(tmp_path / "a.mp4")
    p = cli(str(clip), str(tmp_path / "out"), *FAST)
    assert p.returncode == 2 and "jndenc encode" in p.stderr, p.stderr
    (tmp_path / "list.csv").write_bytes(clip.read_bytes())
    p = cli(str(tmp_path / "list.csv"), str(tmp_path / "out"), *FAST)
    assert p.returncode == 2 and "not a CSV/JSONL manifest" in p.stderr, p.stderr
    assert "internal error" not in p.stderr
    assert not (tmp_path / "out").exists()


def test_a_spreadsheets_csv_with_a_byte_order_mark_is_read(tmp_path):
    tiny(tmp_path / "a.mp4")
    (tmp_path / "list.csv").write_text("input,output,crf\na.mp4,x.mp4,31\n", encoding="utf-8-sig")
    p = cli(str(tmp_path / "list.csv"), str(tmp_path / "out"), "--json", "--preset", "ultrafast")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out" / "x.mp4").is_file()
    assert '"crf": 31.0' in p.stdout


def test_an_unknown_codec_in_a_manifest_row_is_refused_up_front(tmp_path):
    tiny(tmp_path / "a.mp4")
    (tmp_path / "list.csv").write_text("input,codec\na.mp4,h264\n")
    p = cli(str(tmp_path / "list.csv"), str(tmp_path / "out"), *FAST)
    assert p.returncode == 2 and "codec='h264'" in p.stderr, p.stderr
    assert not (tmp_path / "out").exists()


def test_an_earlier_batchs_output_folder_inside_the_input_is_not_input(tmp_path):
    src = tmp_path / "footage"
    tiny(src / "a.mp4")
    tiny(src / "day2" / "b.mp4")
    assert cli(str(src), str(src / "v1"), "-r", "-q", *FAST).returncode == 0
    assert (src / "v1" / "a.mp4").is_file() and (src / "v1" / "day2" / "b.mp4").is_file()
    p = cli(str(src), str(src / "v2"), "-r", "--dry-run", *FAST)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("would-encode") == 2, p.stdout  # a.mp4 and day2/b.mp4, not v1's outputs of them


def test_a_manifest_output_that_names_another_rows_input_is_refused(tmp_path):
    # row 1 wrote over b.mp4, row 2's input, and the batch reported success
    tiny(tmp_path / "a.mkv")
    b = tiny(tmp_path / "b.mp4", size="80x60")
    before = b.read_bytes()
    (tmp_path / "list.csv").write_text("input,output\na.mkv,b.mp4\nb.mp4,c.mp4\n")
    p = cli(str(tmp_path / "list.csv"), str(tmp_path), *FAST)
    assert p.returncode == 2 and "an input of this batch" in p.stderr, p.stderr
    assert b.read_bytes() == before
    assert not (tmp_path / "c.mp4").exists()


def test_an_output_the_batch_did_not_write_is_left_alone_without_overwrite(tmp_path):
    src = tmp_path / "in"
    tiny(src / "a.mp4")
    tiny(src / "b.mp4")
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "a.mp4"
    mine.write_bytes(b"a file of the user's")
    r = cli(str(src), str(out), *FAST, "-q")
    assert r.returncode == 3 and "did not write" in r.stderr
    assert mine.read_bytes() == b"a file of the user's" and (out / "b.mp4").stat().st_size > 1000
    # a rerun leaves it alone too; --overwrite replaces it, and what the batch wrote is its own from then on
    assert cli(str(src), str(out), *FAST, "-q").returncode == 3 and mine.read_bytes() == b"a file of the user's"
    assert cli(str(src), str(out), *FAST, "-q", "--overwrite").returncode == 0 and mine.stat().st_size > 1000
    r = cli(str(src), str(out), "--crf", "31", "--preset", "ultrafast", "-q")  # other options: its own files redone
    assert r.returncode == 0, r.stderr


def test_the_users_encoder_options_reach_every_file(tmp_path):
    src = tmp_path / "in"
    tiny(src / "a.mp4")
    out = tmp_path / "out"
    r = cli(str(src), str(out), *FAST, "-q", "--enc", "g=7", "--enc", "x264-params=aq-mode=3")
    assert r.returncode == 0, r.stderr
    data = (out / "a.mp4").read_bytes()
    assert b"keyint=7 " in data and b" aq=3" in data
    r = cli(str(src), str(out), *FAST, "-q", "--enc", "crf=3")
    assert r.returncode == 2 and "sets -crf" in r.stderr


@pytest.mark.parametrize("args, needle", [
    (["--codec", "vp9", "--crf", "40"], "shot loop"),
    (["--mode", "predict", "--target-vmaf", "90"], "--target-vmaf"),
    (["--tighten", "--no-verify"], "--no-verify"),
])
def test_options_no_file_can_run_are_refused_before_any_work(tmp_path, args, needle):
    src = tmp_path / "in"
    tiny(src / "a.mp4")
    r = cli(str(src), str(tmp_path / "out"), *args)
    assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_an_interrupt_stops_the_encodes_on_its_own_local_dask_cluster(slow_clip, tmp_path):
    # closing a LocalCluster ended its worker processes but not their FFmpeg children, which encoded on and left
    # their temp output in OUTPUT_DIR
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "jndenc", "batch", str(slow_clip.parent), str(out), "--crf", "20",
           "--preset", "placebo", "--dask-local", "1", "-q"]
    with interruptible(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        wait_for(lambda: bool(leftovers(out)), proc, timeout=90)  # the encode's temp file: it is running
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    time.sleep(2.0)  # an orphaned encoder would still be writing here
    assert leftovers(out) == [] and not (out / "slow.mp4").exists()


def test_file_names_that_are_not_utf8_go_through_the_journal(tmp_path):
    """SQLite takes UTF-8 text only: a file name with stray bytes (kept by Python as surrogates) stopped the whole
    batch with an internal error; it is encoded, journalled, summarised, and skipped when the batch runs again."""
    odd = os.fsdecode(os.path.join(os.fsencode(tmp_path / "in"), b"caf\xe9.mp4"))
    tiny(Path(odd))
    tiny(tmp_path / "in" / "plain.mp4")
    for run in range(2):
        r = subprocess.run([sys.executable, "-m", "jndenc", "batch", str(tmp_path / "in"), str(tmp_path / "out"),
                            *FAST, "--json"], capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        summary = __import__("json").loads(r.stdout.decode().splitlines()[-1])
        assert summary["done"] == 2 and summary["encoded_this_run"] == (2 if run == 0 else 0)
    assert sorted(os.listdir(os.fsencode(tmp_path / "out"))) == [b".jndenc", b"caf\xe9.mp4", b"plain.mp4"]
    with Journal(tmp_path / "out", readonly=True) as j:
        assert {row["key"] for row in j.rows()} == {os.path.basename(odd), "plain.mp4"}


def test_a_file_starts_only_where_its_memory_fits_beside_the_running_ones(tmp_path):
    from jndenc.batch.memory import WORKER_BYTES, fits, item_memory
    from jndenc.media.ffargs import attempt_memory

    small = tiny(tmp_path / "small.mp4")
    deep = tmp_path / "deep.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=1", "-pix_fmt", "yuv420p10le", "-c:v", "ffv1",
           str(deep))
    assert item_memory(small, {}) == WORKER_BYTES + attempt_memory("libx264", 64, 48, 8)
    # a 10-bit source on SVT-AV1 (a manifest row's codec) counts at its depth, on its encoder
    assert item_memory(deep, {"codec": "av1"}) == WORKER_BYTES + attempt_memory("libsvtav1", 640, 360, 10)
    assert item_memory(tmp_path / "missing.mp4", {}) == WORKER_BYTES  # the encode says what is wrong with it
    assert fits(10, 0, 5)  # the first file starts however large
    assert fits(4, 5, 10) and not fits(6, 5, 10) and fits(6, 5, None)


def closed_port() -> str:
    """An address on this machine where nothing listens (a port just bound and released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def test_an_unreachable_dask_scheduler_is_refused_before_any_work(tmp_path):
    src = tmp_path / "in"
    tiny(src / "a.mp4")
    addr = closed_port()
    p = cli(str(src), str(tmp_path / "out"), "--dask", addr, *FAST)
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and f"cannot reach Dask scheduler {addr}" in p.stderr, p.stderr
    assert not (tmp_path / "out").exists()  # no folder, no journal of files marked pending
    # an encode says it before its analysis
    p = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(src / "a.mp4"), str(tmp_path / "a.mp4"),
                        "--dask", addr, "-q"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and f"cannot reach Dask scheduler {addr}" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not list(tmp_path.glob("a*.mp4")), p.stderr
