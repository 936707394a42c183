"""`jndenc batch`: real encodes of tiny generated clips (64x48, 1 s), fixed CRF so no model is needed."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jndenc import batch
from jndenc.media.decode import count_decoded_frames
from jndenc.errors import UserError

from conftest import ffmpeg

FAST = ["--crf", "30", "--preset", "ultrafast"]
GOOD = ["a.mp4", "b.mp4", "c.mp4", "m1.mp4", "m2.mp4", "sub/m3.mp4"]  # output keys
FRAMES = 25


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """6 good clips (one in a subfolder, one .mkv) and one corrupt 'bad.mp4'."""
    d = tmp_path_factory.mktemp("batch_in")
    (d / "sub").mkdir()
    src = {
        "a.mp4": "testsrc2=size=64x48:rate=25:duration=1",
        "b.mp4": "testsrc=size=64x48:rate=25:duration=1",
        "c.mp4": "testsrc2=size=64x48:rate=25:duration=1,hue=h=90",
        "m1.mkv": "mandelbrot=size=64x48:rate=25,trim=duration=1",
        "m2.mp4": "mandelbrot=size=64x48:rate=25:start_scale=1,trim=duration=1",
        "sub/m3.mp4": "mandelbrot=size=64x48:rate=25:maxiter=200,trim=duration=1",
    }
    for name, graph in src.items():
        ffmpeg("-f", "lavfi", "-i", graph, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
               "-crf", "10", str(d / name))
    (d / "bad.mp4").write_text("not a video\n" * 100)
    return d


def cli(*args: str, check_rc: int | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "jndenc", "batch", *args], capture_output=True, text=True, timeout=120)
    if check_rc is not None:
        assert p.returncode == check_rc, p.stderr
    return p


def journal_rows(out: Path) -> dict[str, dict]:
    db = sqlite3.connect(out / ".jndenc" / "journal.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return {r["key"]: dict(r) for r in db.execute("SELECT * FROM items")}
    finally:
        db.close()


def json_lines(stdout: str) -> tuple[list[dict], dict]:
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert lines[-1]["type"] == "summary"
    return [x for x in lines[:-1] if x["type"] == "item"], lines[-1]


@pytest.fixture(scope="module")
def jobs2(clips, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("batch_jobs2")
    return out, cli(str(clips), str(out), "-r", "-j", "2", "--json", *FAST)


def test_good_files_encoded_corrupt_recorded_and_exit_nonzero(jobs2):
    out, p = jobs2
    assert p.returncode == 3, p.stderr
    items, summary = json_lines(p.stdout)
    status = {i["key"]: i["status"] for i in items}
    assert status == {**{k: "done" for k in GOOD}, "bad.mp4": "failed"}
    for key in GOOD:
        assert count_decoded_frames(out / key) == FRAMES
    assert not (out / "bad.mp4").exists()
    rows = journal_rows(out)
    assert "not a video" in rows["bad.mp4"]["reason"]
    assert all(rows[k]["encodes"] == 1 and rows[k]["input_hash"] for k in GOOD)
    assert summary["done"] == 6 and summary["failed"] == 1 and summary["output_bytes"] > 0
    assert json.loads((out / ".jndenc" / "summary.json").read_text())["done"] == 6
    # nothing but outputs and the hidden state folder in OUTPUT_DIR
    assert sorted(p.name for p in out.iterdir()) == sorted({".jndenc", "sub", *(k for k in GOOD if "/" not in k)})


def test_rerun_skips_done_and_retry_failed_retries(jobs2, clips):
    out, _ = jobs2
    p = cli(str(clips), str(out), "-r", "-j", "2", "--json", *FAST, check_rc=3)
    items, summary = json_lines(p.stdout)
    assert {i["key"] for i in items if i["status"] == "skipped"} == set(GOOD)
    assert summary["not_retried_this_run"] == 1 and summary["encoded_this_run"] == 0
    before = journal_rows(out)["bad.mp4"]["attempts"]
    cli(str(clips), str(out), "-r", "-q", "--retry-failed", *FAST, check_rc=3)
    rows = journal_rows(out)
    assert rows["bad.mp4"]["attempts"] == before + 1
    assert all(rows[k]["encodes"] == 1 for k in GOOD)


def test_dask_local_matches_jobs(jobs2, clips, tmp_path):
    pytest.importorskip("distributed")
    ref, _ = jobs2
    out = tmp_path / "dask"
    p = cli(str(clips), str(out), "-r", "--dask-local", "2", "--json", *FAST, check_rc=3)
    items, summary = json_lines(p.stdout)
    assert summary["executor"] == "dask-local:2"
    assert {i["key"] for i in items if i["status"] == "done"} == set(GOOD)
    a, b = journal_rows(ref), journal_rows(out)
    for key in GOOD:
        assert b[key]["frames"] == a[key]["frames"] == FRAMES
        assert abs(b[key]["output_size"] - a[key]["output_size"]) <= 0.05 * a[key]["output_size"]
        assert b[key]["crfs"] == a[key]["crfs"]
    # the same journal serves every executor: a local rerun of the Dask batch has nothing to do
    p = cli(str(clips), str(out), "-r", "-j", "1", "--json", *FAST, check_rc=3)
    assert json_lines(p.stdout)[1]["encoded_this_run"] == 0


def test_existing_scheduler_resumes_a_local_batch(jobs2, clips, tmp_path):
    distributed = pytest.importorskip("distributed")
    ref, _ = jobs2
    out = tmp_path / "remote"
    shutil.copytree(ref, out)
    journal = sqlite3.connect(out / ".jndenc" / "journal.sqlite")
    journal.execute("UPDATE items SET output = replace(output, ?, ?)", (str(ref), str(out)))
    journal.commit()
    journal.close()
    (out / "b.mp4").unlink()  # lost output: must be redone, everything else skipped
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as lc:
        p = cli(str(clips), str(out), "-r", "--dask", lc.scheduler_address, "--json", *FAST, check_rc=3)
    items, summary = json_lines(p.stdout)
    assert [i["key"] for i in items if i["status"] == "done"] == ["b.mp4"]
    assert summary["skipped_this_run"] == 5 and summary["executor"].startswith("dask:tcp://")
    assert count_decoded_frames(out / "b.mp4") == FRAMES


def test_sigkill_then_rerun_no_truncated_output_no_double_encode(clips, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "jndenc", "batch", str(clips), str(out), "-r", "-j", "1", "--threads", "1", "-q",
           *FAST]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = out / ".jndenc" / "journal.sqlite"
    deadline = time.monotonic() + 60
    done_at_kill = -1
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db_path.exists():
                try:
                    done_at_kill = sum(r["status"] == "done" for r in journal_rows(out).values())
                except sqlite3.Error:
                    done_at_kill = -1
                if done_at_kill >= 2:
                    break
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert 2 <= done_at_kill < len(GOOD), "run was not killed part-way"
    time.sleep(1.0)  # orphaned pool workers notice the dead parent within 0.5 s and stop
    cli(str(clips), str(out), "-r", "-j", "1", "--threads", "1", "--json", *FAST, check_rc=3)
    rows = journal_rows(out)
    for key in GOOD:
        assert rows[key]["status"] == "done"
        assert rows[key]["encodes"] == 1, f"{key} encoded {rows[key]['encodes']} times"
        assert count_decoded_frames(out / key) == FRAMES
        assert (out / key).stat().st_size == rows[key]["output_size"]
    assert not list(out.rglob("*.jndenc-*")), "temp files left behind"


def test_adopts_output_renamed_just_before_kill(clips, tmp_path):
    """A kill between encode()'s rename and the journal commit: the rerun trusts the output, no re-encode."""
    out = tmp_path / "adopt"
    items = [{"input": clips / "a.mp4"}]
    assert [r.status for r in batch.run(items, out, jobs=1, crf=30, preset="ultrafast")] == ["done"]
    mtime = (out / "a.mp4").stat().st_mtime_ns
    db = sqlite3.connect(out / ".jndenc" / "journal.sqlite")
    db.execute("UPDATE items SET status='running', encodes=0, started_at=?", (time.time() - 5,))
    db.commit()
    db.close()
    res = list(batch.run(items, out, jobs=1, crf=30, preset="ultrafast"))
    assert [r.status for r in res] == ["adopted"] and res[0].crfs == [30.0]
    assert (out / "a.mp4").stat().st_mtime_ns == mtime
    assert journal_rows(out)["a.mp4"]["encodes"] == 1


def test_an_adopted_output_keeps_its_start_labels(clips, tmp_path):
    """A Dask batch's worker finishes the file in hand after Ctrl-C stopped the client: the rerun adopts the output
    with the result the worker kept beside its plan, so the files after it learn from its labels as before."""
    out = tmp_path / "adopt"
    items = [{"input": clips / "a.mp4"}]
    [first] = list(batch.run(items, out, jobs=1))
    labels = json.loads(journal_rows(out)["a.mp4"]["result"])["start"]["labels"]
    assert first.status == "done" and labels
    db = sqlite3.connect(out / ".jndenc" / "journal.sqlite")
    db.execute("UPDATE items SET status='running', encodes=0, started_at=?", (time.time() - 5,))
    db.commit()
    db.close()
    [again] = list(batch.run(items, out, jobs=1))
    assert again.status == "adopted" and again.start == first.start and again.crfs == first.crfs
    assert json.loads(journal_rows(out)["a.mp4"]["result"])["start"]["labels"] == labels


def test_a_failed_run_with_other_options_leaves_the_batchs_own_output_its_own(clips, tmp_path):
    """done, then a run whose row has a typo (failed), then the first options again: the output is the one this
    batch wrote, not a stranger's file to refuse."""
    out = tmp_path / "own"
    good = [{"input": clips / "a.mp4", "preset": "ultrafast"}]
    assert [r.status for r in batch.run(good, out, jobs=1, crf=30)] == ["done"]
    bad = [{"input": clips / "a.mp4", "preset": "ultrafastt"}]
    assert [r.status for r in batch.run(bad, out, jobs=1, crf=30)] == ["failed"]
    res = list(batch.run(good, out, jobs=1, crf=30))
    assert [r.status for r in res] == ["done"], res[0].reason


def test_batch_run_checks_its_arguments_at_the_call(clips, tmp_path):
    with pytest.raises(TypeError, match="did you mean 'effort'"):
        batch.run([clips / "a.mp4"], tmp_path / "o", efort="fast")
    with pytest.raises(UserError, match="effort must be one of"):
        batch.run([clips / "a.mp4"], tmp_path / "o", effort="turbo")
    with pytest.raises(UserError, match="jobs must be"):
        batch.run([clips / "a.mp4"], tmp_path / "o", jobs=0)
    with pytest.raises(TypeError, match="not one path"):
        batch.run(str(clips), tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_second_batch_into_a_folder_in_use_is_refused(clips, tmp_path):
    out = tmp_path / "busy"
    items = [{"input": clips / "a.mp4"}]
    first = batch.run(items, out, jobs=1, crf=30, preset="ultrafast")
    next(first)  # the first run holds the folder while it is iterated
    with pytest.raises(UserError, match="another jndenc batch"):
        list(batch.run(items, out, jobs=1, crf=30, preset="ultrafast"))
    list(first)
    assert [r.status for r in batch.run(items, out, jobs=1, crf=30, preset="ultrafast")] == ["skipped"]


def test_manifest_overrides_applied(clips, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"input,output,crf,preset\n{clips / 'a.mp4'},x/first.mp4,22,\nb.mp4,,,veryfast\n")
    # relative inputs are relative to the manifest's folder
    (tmp_path / "b.mp4").symlink_to(clips / "b.mp4")
    out = tmp_path / "out"
    p = cli(str(manifest), str(out), "--json", *FAST, check_rc=0)
    items, _ = json_lines(p.stdout)
    by_key = {i["key"]: i for i in items}
    assert by_key["x/first.mp4"]["crfs"] == [22.0] and by_key["x/first.mp4"]["options"] == {"crf": 22.0}
    assert by_key["b.mp4"]["crfs"] == [30.0]
    rows = journal_rows(out)
    assert json.loads(rows["x/first.mp4"]["result"])["preset"] == "ultrafast"
    assert json.loads(rows["b.mp4"]["result"])["preset"] == "veryfast"
    # larger CRF -> smaller file, from the same kind of content
    assert rows["x/first.mp4"]["output_size"] > rows["b.mp4"]["output_size"] * 0.5


def test_jsonl_manifest_and_bad_rows(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text('{"input": "a.mp4", "target_jnd": 2, "max_crf": 35}\n\n{"input": "b.mov", "output": "o/b.mkv"}\n')
    items = batch.collect_items(m, tmp_path / "out")
    assert [i.key for i in items] == ["a.mp4", "o/b.mkv"]
    assert items[0].overrides == {"target_jnd": 2, "max_crf": 35.0} and items[1].overrides == {}
    m.write_text('{"input": "a.mp4", "bitrate": 5}\n')
    with pytest.raises(UserError, match="unknown column"):
        batch.collect_items(m, tmp_path / "out")
    m.write_text('{"input": "a.mp4"}\n{"input": "a.mkv"}\n')
    with pytest.raises(UserError, match="both be written"):
        batch.collect_items(m, tmp_path / "out")
    with pytest.raises(UserError, match="must differ"):
        batch.collect_items(tmp_path, tmp_path)


def test_dry_run_encodes_nothing(clips, tmp_path):
    out = tmp_path / "dry"
    p = cli(str(clips), str(out), "-r", "--dry-run", "--json", *FAST, check_rc=0)
    items, summary = json_lines(p.stdout)
    assert {i["status"] for i in items} == {"would-encode"} and len(items) == 7
    assert summary["would-encode"] == 7
    assert summary["learning_sources"] == 0  # a fixed CRF measures nothing, so nothing learns
    assert not out.exists()
    said = cli(str(clips), str(out), "-r", "--dry-run", check_rc=0)  # balanced
    assert "2 sources (folders or manifest sources) would learn their starts apart" in said.stdout
    assert not out.exists()


def test_default_parallelism_fills_cores_without_oversubscribing():
    assert batch.default_parallelism(None, None, cores=16) == (8, 2)
    assert batch.default_parallelism(None, None, cores=2) == (1, 2)
    assert batch.default_parallelism(4, None, cores=16) == (4, 4)
    assert batch.default_parallelism(None, 1, cores=6) == (6, 1)
    assert batch.default_parallelism(3, 3, cores=2) == (3, 3)  # explicit wins


def test_predict_mode_without_model_fails_up_front(clips, tmp_path, monkeypatch):
    from jndenc.predictor import default_weights_path

    # JNDENC_WEIGHTS naming a missing file rules out the checkout's weights/ (inherited by the CLI below)
    monkeypatch.setenv("JNDENC_WEIGHTS", str(tmp_path / "no-such-weights.keras"))
    assert default_weights_path() is None
    p = cli(str(clips), str(tmp_path / "o"), check_rc=2)
    assert "weights" in p.stderr
    assert not (tmp_path / "o").exists()


def test_compare_crf_totals_in_the_summary(clips, tmp_path):
    # --crf 30 against a plain --compare-crf 20: jndenc's outputs are the smaller, and the summary's totals are
    # the items' own compare records; the comparison does not change what a rerun considers done
    out = tmp_path / "out"
    p = cli(str(clips), str(out), "--json", "--pattern", "a.mp4", "--verify", "--compare-crf", "20", *FAST,
            check_rc=0)
    items, summary = json_lines(p.stdout)
    c = summary["compare"]
    rec = json.loads(journal_rows(out)["a.mp4"]["result"])["compare"]
    assert c["items"] == 1 and c["crfs"] == [20.0]
    assert c["video_bytes"] == rec["video_bytes"] and c["jndenc_video_bytes"] == rec["jndenc_video_bytes"]
    assert c["saving_pct"] > 0 and c["worst_shot_vmaf"] == rec["verify"]["worst_shot_vmaf"]
    again = cli(str(clips), str(out), "--json", "--pattern", "a.mp4", *FAST, check_rc=0)
    assert json_lines(again.stdout)[1]["encoded_this_run"] == 0
    assert json_lines(again.stdout)[1]["not_measured"] == {}  # nothing asked, nothing missing
    # the same file asked for another comparison: taken as it is (a comparison is no reason to encode again),
    # and said, where the rerun skipped it without a word and its summary read as if it had compared
    other = cli(str(clips), str(out), "--pattern", "a.mp4", "--compare-crf", "25", *FAST, check_rc=0)
    assert "1 file(s) done by an earlier run were taken as they are, without --compare-crf 25" in other.stderr
    assert "--compare-crf CRF for a saving" not in other.stdout
    other = cli(str(clips), str(out), "--json", "--pattern", "a.mp4", "--verify", "--compare-crf", "20", *FAST,
                check_rc=0)
    assert json_lines(other.stdout)[1]["not_measured"] == {}  # what the first run measured


def test_a_file_over_max_size_is_kept_as_it_is_and_not_encoded_again(clips, tmp_path):
    # a library transcode must not replace a file by a larger one: the source is the file to keep, which is no
    # failure (exit 0) and, for the same input and options, no reason to encode it again
    out = tmp_path / "out"
    p = cli(str(clips), str(out), "--json", "--pattern", "[ab].mp4", "--max-size", "1", *FAST, check_rc=0)
    items, summary = json_lines(p.stdout)
    assert sorted(i["status"] for i in items) == ["over_size", "over_size"] and summary["failed"] == 0
    assert summary["over_size_this_run"] == 2 and set(summary["over_size"]) == {"a.mp4", "b.mp4"}
    assert all("over --max-size 1%: nothing written" in r for r in summary["over_size"].values())
    assert sorted(x.name for x in out.iterdir()) == [".jndenc"]
    assert {r["status"] for r in journal_rows(out).values()} == {"over_size"}
    again = cli(str(clips), str(out), "--json", "--pattern", "[ab].mp4", "--max-size", "1", *FAST, check_rc=0)
    items, summary = json_lines(again.stdout)
    assert summary["encoded_this_run"] == 0 and summary["skipped_this_run"] == 2 and len(summary["over_size"]) == 2
    assert [i["status"] for i in items] == ["over_size", "over_size"]
    roomy = cli(str(clips), str(out), "--json", "--pattern", "a.mp4", "--max-size", "1000", *FAST, check_rc=0)
    assert json_lines(roomy.stdout)[1]["encoded_this_run"] == 1 and (out / "a.mp4").is_file()


def test_an_over_size_file_of_the_shot_loop_leaves_no_finished_shots_behind(clips, tmp_path):
    # the loop stops once its finished shots pass the limit; a batch resumes by default, so they were kept in a
    # hidden folder for an output that this batch never writes, and nothing removed it
    out = tmp_path / "out"
    p = cli(str(clips), str(out), "--json", "--pattern", "a.mp4", "--max-size", "1", "--preset", "ultrafast",
            check_rc=0)
    items, summary = json_lines(p.stdout)
    assert [i["status"] for i in items] == ["over_size"]
    assert sorted(x.name for x in out.iterdir()) == [".jndenc"]


def test_tighten_passes_in_items_and_summary(clips, tmp_path):
    # --crf 14 is far below any JND: --tighten raises and re-encodes every item; the items list their passes,
    # the summary counts the re-encodes and totals the first passes' bytes against the outputs'
    out = tmp_path / "out"
    p = cli(str(clips), str(out), "--json", "--pattern", "[ab].mp4", "--tighten", "--crf", "14", "--preset",
            "ultrafast", check_rc=0)
    items, summary = json_lines(p.stdout)
    assert len(items) == 2 and all(len(i["passes"]) >= 2 and sum(x["kept"] for x in i["passes"]) == 1 for i in items)
    assert summary["corrected_items"] == 2
    assert summary["corrective_encodes"] == sum(len(i["passes"]) - 1 for i in items)
    assert summary["corrected_first_pass_bytes"] == sum(i["passes"][0]["bytes"] for i in items)
    assert summary["corrected_output_bytes"] == sum(i["output_bytes"] for i in items)
    assert summary["corrected_output_bytes"] < summary["corrected_first_pass_bytes"]
    text = cli(str(clips), str(tmp_path / "out2"), "--pattern", "a.mp4", "--tighten", "--crf", "14", "--preset",
               "ultrafast", check_rc=0)
    assert "re-encoded by --ensure/--tighten" in text.stdout


def test_cli_summary_does_not_call_the_input_ratio_a_saving(cut_clip, tmp_path):
    """Inputs are often near-lossless masters: their size is no baseline, so the summary says what it compares."""
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(cut_clip, src / "a.mp4")
    p = subprocess.run([sys.executable, "-m", "jndenc.cli", "batch", str(src), str(tmp_path / "out"), "--effort",
                        "fast", "--jobs", "1"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "of the inputs' size" in p.stdout and "(saving" not in p.stdout.split("bytes", 1)[1].splitlines()[0]
    # files side by side, one shot at a time within each: fast's probes too
    assert json.loads(journal_rows(tmp_path / "out")["a.mp4"]["result"])["probe"]["jobs"] == 1


def test_encoder_option_and_manifest_override_reach_each_encode(cut_clip, tmp_path):
    """`--encoder` (and a manifest row's ``encoder``) pick the AV1 encoder of every file's shot loop."""
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"input,output,encoder\n{cut_clip},one.mkv,\n{cut_clip},two.mkv,libaom-av1\n")
    out = tmp_path / "out"
    cli(str(manifest), str(out), "--codec", "av1", "--encoder", "librav1e", "--preset", "ultrafast", "--max-shot-seconds",
        "10", check_rc=0)
    rows = journal_rows(out)
    assert json.loads(rows["one.mkv"]["result"])["encoder"] == "librav1e"
    assert json.loads(rows["two.mkv"]["result"])["encoder"] == "libaom-av1"
    bad = cli(str(cut_clip.parent), str(tmp_path / "x"), "--encoder", "librav1e", "--pattern", cut_clip.name)
    assert bad.returncode == 2 and "does not encode x264" in bad.stderr and not (tmp_path / "x").exists()


def test_a_folder_batch_takes_every_video_file_encode_reads(tmp_path):
    """A DVD's .vob, a raw .m2v or .ivf stream, DV: `jndenc encode` reads them, and a folder batch passed over them
    without a word. Files that are not video stay out."""
    src = tmp_path / "in"
    src.mkdir()
    names = ["a.mp4", "b.vob", "c.m2v", "d.ivf", "e.dv", "f.nut", "g.m2t", "notes.txt", "h.srt"]
    for n in names:
        (src / n).write_bytes(b"")
    got = sorted(i.input.name for i in batch.collect_items(src, tmp_path / "out"))
    assert got == sorted(n for n in names if not n.endswith((".txt", ".srt")))
