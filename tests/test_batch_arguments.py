"""What a pipeline hands `jndenc batch` and the Python API: arguments, manifest rows and learners that are wrong are
refused at the call in one line, before any file is touched (an API audit's findings; each failed on the old code)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jndenc import batch, encode
from jndenc.errors import UserError
from jndenc.learn import ShotLabel, StartLearner

from conftest import ffmpeg


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("args") / "a.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1", "-pix_fmt", "yuv420p", "-c:v", "libx264",
           "-preset", "ultrafast", str(p))
    return p


def test_a_flag_that_is_not_true_or_false_is_refused_and_the_file_kept(clip, tmp_path):
    """``overwrite="no"`` was taken as a yes, and the batch replaced a file it had not written."""
    out = tmp_path / "o"
    out.mkdir()
    (out / "a.mp4").write_text("precious")
    for name in ("overwrite", "dry_run", "learn", "retry_failed", "report", "quiet"):
        with pytest.raises(UserError, match=f"{name} takes True or False"):
            batch.run([clip], out, crf=30, preset="ultrafast", **{name: "no"})
    assert (out / "a.mp4").read_text() == "precious"


@pytest.mark.parametrize("kw, said", [
    ({"learner": StartLearner()}, "learns its files' starts itself"),  # it turned the batch's learning off
    ({"plan_out": "p.json"}, "writes each file's plan"),  # every file failed, one by one
    ({"start_offset": 2.0}, "pass learn=False"),  # dropped for the learning's own
])
def test_per_file_settings_the_batch_makes_itself_are_refused(clip, tmp_path, kw, said):
    with pytest.raises(UserError, match=said):
        batch.run([clip], tmp_path / "o", **kw)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("row, said", [
    ({"input": "a.mp4", "crff": 20}, "unknown column"),  # a misspelt key was dropped without a word
    ({"output": "x.mp4"}, "has no 'input'"),  # KeyError: 'input'
    ({"input": 5}, "input must be a path"),  # TypeError from pathlib
    ({"input": "a.mp4", "crf": True}, "crf takes a number"),  # encoded at CRF 1
    ({"input": "a.mp4", "target_jnd": 2.7}, "target_jnd takes a whole number"),  # became 2
    ({"input": "a.mp4", "margin": "foo"}, "margin takes a number or 'auto'"),  # "is not a valid <lambda>"
    ({"input": "a.mp4", "source": ["x"]}, "source must be a path"),  # learned as the string "['x']"
])
def test_bad_items_of_batch_run_are_refused_at_the_call(tmp_path, row, said):
    with pytest.raises(UserError, match=said):
        batch.run([row], tmp_path / "o")


@pytest.mark.parametrize("text, said", [
    ("input,output\na.mp4,x.mp4,extra\n", "more cells than the first line"),  # internal error: TypeError
    ("a.mp4\n", "the first line must name the columns"),  # the one file became the header: "nothing to do"
])
def test_csv_manifest_shapes_are_said_in_one_line(tmp_path, text, said):
    m = tmp_path / "m.csv"
    m.write_text(text)
    p = subprocess.run([sys.executable, "-m", "jndenc", "batch", str(m), str(tmp_path / "out"), "--dry-run"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and said in p.stderr, p.stderr


def test_a_spreadsheets_trailing_comma_is_no_column(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("input,output,\na.mp4,y.mp4,\n")
    assert [i.key for i in batch.collect_items(m, tmp_path / "out")] == ["y.mp4"]


def test_a_rows_effort_replaces_the_batchs_crf_and_the_other_way_round(tmp_path):
    """A row's effort under a batch-wide --crf was dropped (a fixed CRF, nothing measured) while its --json named
    it; a row's CRF under the batch's effort replaced the effort as before."""
    run = batch.run([{"input": "a.mp4", "effort": "thorough"}, {"input": "b.mp4", "crf": 22},
                     {"input": "c.mp4"}], tmp_path / "o", crf=30, mode="predict")
    a, b, c = run.items
    assert run.item_options(a) == {"effort": "thorough"}
    assert run.item_options(b) == {"crf": 22.0, "mode": "predict"}
    assert run.item_options(c) == {"crf": 30, "mode": "predict"}
    run = batch.run([{"input": "a.mp4", "crf": 22}], tmp_path / "o", effort="fast")
    assert run.item_options(run.items[0]) == {"crf": 22.0}


def test_a_report_for_an_output_outside_the_folder_stays_in_the_reports(clip, tmp_path):
    """A manifest row whose output lies outside OUTPUT_DIR: its key is the absolute path, which joined to the reports
    folder replaced it, and the page overwrote the user's file beside that output."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "e.mp4.html").write_text("my notes")
    m = tmp_path / "m.csv"
    m.write_text(f"input,output\n{clip},{elsewhere / 'e.mp4'}\n")
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "jndenc", "batch", str(m), str(out), "--report", "--crf", "30",
                        "--preset", "ultrafast", "-q"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (elsewhere / "e.mp4").is_file() and (elsewhere / "e.mp4.html").read_text() == "my notes"
    pages = list((out / ".jndenc" / "reports").rglob("*.html"))
    assert len(pages) == 1 and pages[0].name.startswith("e.mp4-")


def test_start_offsets_that_cannot_apply_are_refused(clip, tmp_path):
    with pytest.raises(UserError, match="finite"):  # "cannot convert float NaN to integer" from inside the loop
        encode(clip, tmp_path / "o.mp4", start_offset=float("nan"))
    with pytest.raises(UserError, match="give one"):  # the learner's offset replaced the one given
        encode(clip, tmp_path / "o.mp4", start_offset=3.0, learner=StartLearner())
    assert not (tmp_path / "o.mp4").exists()


def test_a_learner_takes_label_dicts_and_refuses_what_is_no_label(tmp_path):
    """An encode's ``"start"`` labels are dicts: added as they were, offset() failed later ("no attribute
    'residual'"); a NaN or an unknown VMAF model in a saved learner failed every later encode."""
    learner = StartLearner()
    learner.add([{"model": 25, "found": 27, "frames": 75}])
    assert learner.files == [[ShotLabel(25.0, 27.0, 75)]] and learner.offset() == pytest.approx(1.0)
    with pytest.raises(UserError, match="labels take"):
        learner.add([{"model": "x"}])
    for bad in ({"files": [[{"model": "nan", "found": 1, "frames": 1}]]}, {"files": [], "vmaf_model": "bogus"}):
        with pytest.raises(UserError):
            StartLearner.from_dict(bad)
    f = tmp_path / "l.json"
    f.write_text(json.dumps({"files": [[{"model": float("nan"), "found": 1, "frames": 1}]]}))
    p = subprocess.run([sys.executable, "-m", "jndenc", "encode", "in.mp4", str(tmp_path / "o.mp4"), "--learn",
                        str(f)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "internal error" not in p.stderr, p.stderr


def test_a_malformed_dask_address_is_said_in_one_line(clip, tmp_path):
    p = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(clip), str(tmp_path / "o.mp4"), "--dask",
                        "notanaddress", "--preset", "ultrafast", "-q"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "not a Dask scheduler address" in p.stderr and "internal error" not in p.stderr


@pytest.mark.parametrize("kw, error, said", [
    ({"mode": "guided", "prior": [30.0, 31.0]}, UserError, "prior takes one number"),  # cannot reshape
    ({"mode": "search", "thresholds": "94,88,82"}, TypeError, "thresholds takes VMAF numbers"),
    ({"mode": "guided", "crf_step": -1.0}, UserError, r"crf_step must be within 0.1..6 \(got -1.0\)"),  # got -0.5
    ({"mode": "crf"}, UserError, "give crf=N"),  # "--crf must be within 0..51 (got None)"
])
def test_expert_keywords_of_plan_are_said_as_given(clip, kw, error, said):
    from jndenc import plan
    with pytest.raises(error, match=said):
        plan(clip, **kw)


@pytest.mark.parametrize("kw, error, said", [
    ({"mode": "search", "thresholds": None}, TypeError, "thresholds takes"),  # "not iterable"
    ({"enc": None}, TypeError, "enc takes a list"),
    ({"mode": "bogus"}, UserError, "mode must be one of"),
    ({"crf": 99}, UserError, "crf must be within 0..51"),
    ({"min_crf": 30, "max_crf": 20}, UserError, "must not be above max_crf"),
])
def test_expert_keywords_of_encode_are_refused_before_any_work(clip, tmp_path, kw, error, said):
    with pytest.raises(error, match=said):
        encode(clip, tmp_path / "o.mp4", **kw)
    assert not (tmp_path / "o.mp4").exists()


def test_a_dry_run_says_which_rows_would_fail(clip, tmp_path):
    """A row naming a missing file, an unknown mode or a CRF out of range was reported as one that would encode, and
    failed in the real run."""
    rows = [{"input": str(tmp_path / "missing.mp4")}, {"input": str(clip), "mode": "bogus"},
            {"input": str(clip), "output": "z.mp4", "crf": 99}, {"input": str(clip), "output": "ok.mp4", "crf": 30}]
    got = [(r.status, r.reason) for r in batch.run(rows, tmp_path / "dry", dry_run=True)]
    assert [s for s, _ in got] == ["would-fail", "would-fail", "would-fail", "would-encode"]
    assert "no such file" in got[0][1] and "mode must be one of" in got[1][1] and "within 0..51" in got[2][1]


def test_a_missing_weights_file_fails_the_batch_once(clip, tmp_path):
    with pytest.raises(UserError, match="--weights .*no such file"):
        batch.run([clip], tmp_path / "o", weights=str(tmp_path / "nope.keras"))
