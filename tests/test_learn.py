"""Learning the start from measured shots (`jndenc.learn`, `jndenc.batch.learning`): the pure rules, then real
encodes (an offset moves the first attempt; a batch corrects later files from earlier ones, in input order)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import jndenc
from jndenc import batch, learn
from jndenc import loop as L
from jndenc.batch.learning import Learning, quarters_of, report
from jndenc.errors import UserError

from conftest import ffmpeg

BAND = L.Band.around(94.0)  # [93.7, 95.0], aim 94.3


def test_label_interpolates_a_bracket_and_steps_from_one_side():
    two = [L.Attempt(20.0, 96.3, 1), L.Attempt(24.0, 92.3, 1)]
    x = learn.label(21.0, two, BAND, slope=1.0, outcome="in_band", frames=10, min_crf=12)
    assert x.found == pytest.approx(22.0) and x.residual == pytest.approx(1.0)
    one = [L.Attempt(20.0, 94.3, 1)]  # exactly at the aim: found where it was encoded
    assert learn.label(26.0, one, BAND, slope=1.0, outcome="in_band", frames=10, min_crf=12).found == \
        pytest.approx(20.0)
    high = [L.Attempt(20.0, 97.0, 1)]  # above: the aim lies at a higher CRF
    assert learn.label(20.0, high, BAND, slope=1.0, outcome="above", frames=10, min_crf=12).found > 20.5


def test_label_none_where_the_attempts_only_bound_the_aim():
    clamped = [L.Attempt(40.0, 99.0, 1)]
    assert learn.label(30.0, clamped, BAND, slope=1.0, outcome="clamped", frames=5, min_crf=12) is None
    floor = [L.Attempt(14.0, 90.0, 1), L.Attempt(12.0, 91.0, 1)]
    assert learn.label(14.0, floor, BAND, slope=1.0, outcome="below", frames=5, min_crf=12) is None


def test_label_maps_a_codec_scale_back_to_x264():
    att = [L.Attempt(30.0, 96.3, 1), L.Attempt(40.0, 92.3, 1)]  # aim at codec CRF 35
    x = learn.label(20.0, att, BAND, slope=1.0, outcome="in_band", frames=1, min_crf=10, to_x264=(-5.0, 2.0))
    assert x.found == pytest.approx(20.0)  # (35 + 5) / 2


def _file(*residuals: float) -> list[learn.ShotLabel]:
    return [learn.ShotLabel(20.0, 20.0 + r, 10) for r in residuals]


def test_offset_shrinks_toward_zero_uses_file_medians_and_is_bounded():
    assert learn.offset([]) == 0.0
    assert learn.offset([_file(4.0)], prior=1.0) == pytest.approx(2.0)
    assert learn.offset([_file(4.0)] * 3, prior=1.0) == pytest.approx(3.0)
    # one wild shot in a file does not move its vote
    assert learn.offset([_file(2.0, 2.0, 30.0)], prior=0.0) == pytest.approx(2.0)
    assert learn.offset([_file(30.0)] * 9, prior=0.0) == learn.MAX_OFFSET
    assert learn.offset([[], _file(2.0)], prior=1.0) == pytest.approx(1.0)  # a file with no labels: no vote


def test_errors_compare_the_corrected_start_with_the_model():
    e = learn.errors([(0.0, _file(3.0)), (2.0, _file(3.0, 1.0))])
    assert e["shots"] == 3
    assert e["model_mae"] == pytest.approx((3 + 3 + 1) / 3, abs=1e-3)
    assert e["start_mae"] == pytest.approx((3 + 1 + 1) / 3, abs=1e-3)
    assert learn.errors([(0.0, [])])["start_mae"] is None


def test_learner_round_trips_and_learns_in_order():
    a = jndenc.StartLearner()
    a.add(_file(2.0))
    a.add(_file(4.0))
    b = jndenc.StartLearner.from_dict(json.loads(json.dumps(a.to_dict())))
    assert b.offset() == a.offset() == pytest.approx(2.0)


def test_a_learner_keeps_the_vmaf_model_of_its_labels_and_refuses_another():
    a = jndenc.StartLearner()
    a.add(_file(2.0), "vmaf_v0.6.1neg")
    b = jndenc.StartLearner.from_dict(json.loads(json.dumps(a.to_dict())))
    assert b.vmaf_model == "vmaf_v0.6.1neg"
    b.add(_file(3.0), "vmaf_v0.6.1neg")
    with pytest.raises(UserError, match="measured in vmaf_v0.6.1neg"):
        b.add(_file(3.0), "vmaf_v0.6.1")
    assert len(b.files) == 2
    # kept before the model was recorded: any model may add to it, and then names it
    old = jndenc.StartLearner.from_dict({"prior": 1.0, "files": [[x.to_dict() for x in _file(1.0)]]})
    old.add(_file(1.0), "vmaf_v0.6.1")
    assert old.vmaf_model == "vmaf_v0.6.1"


def test_batch_learning_waits_for_exactly_the_files_it_learns_from():
    lr = Learning(lag=2, finished=[0])
    assert lr.ready(1) and lr.ready(2) and not lr.ready(3)  # 3 learns from 0 and 1; 1 still runs
    lr.record(0, {"start": {"offset": 0.0, "labels": [x.to_dict() for x in _file(2.0)]}})
    lr.record(1, {"start": {"offset": 0.0, "labels": [x.to_dict() for x in _file(4.0)]}})
    assert lr.ready(3)
    assert lr.offset(2) == pytest.approx(1.0)  # only file 0
    assert lr.offset(3) == pytest.approx(2.0)  # files 0 and 1, whatever finished since
    lr.record(2, {"start": {"offset": 1.0, "labels": [x.to_dict() for x in _file(30.0)]}})
    assert lr.offset(3) == pytest.approx(2.0)


def test_each_source_learns_its_own_offset_shrunk_toward_the_others():
    a, b = _file(4.0), _file(-2.0)
    # one source: exactly the batch's offset, whatever its name
    assert learn.source_offset([("s", a), ("s", a)], "s") == learn.offset([a, a])
    assert learn.source_offset([], "s") == 0.0
    # a new source starts where the others put the start, then moves to its own residual
    assert learn.source_offset([("A", a)] * 3, "B") == pytest.approx(learn.offset([a] * 3)) == pytest.approx(3.0)
    assert learn.source_offset([("A", a)] * 3 + [("B", b)], "B") == pytest.approx((-2.0 + 3.0) / 2)
    many = [("A", a)] * 9 + [("B", b)] * 9
    assert learn.source_offset(many, "A") == pytest.approx((9 * 4.0 - 1.8) / 10)  # B's offset: -18 / 10
    assert learn.source_offset(many, "B") == pytest.approx((9 * -2.0 + 3.6) / 10)
    assert learn.offset([f for _, f in many]) == pytest.approx(18 / 19, abs=1e-3)  # one offset for both: right for neither
    assert learn.source_offset([("A", _file(40.0))] * 9, "A") == learn.MAX_OFFSET


def test_batch_learning_keeps_sources_apart():
    lr = Learning(lag=1, sources=["A", "B", "A", "B", "B"])
    for i, r in enumerate((4.0, -2.0, 4.0, -2.0)):
        lr.record(i, {"start": {"offset": 0.0, "labels": [x.to_dict() for x in _file(r)]}})
    assert lr.offset(1) == pytest.approx(2.0)  # B's first file: what A taught
    assert lr.offset(2) == pytest.approx(learn.source_offset([("A", _file(4.0)), ("B", _file(-2.0))], "A"))
    assert lr.offset(4) < 0 < lr.offset(2)
    assert Learning(lag=1).offset(0) == 0.0


def test_report_cuts_the_batch_into_quarters_in_input_order():
    files = [{"start": {"offset": float(k), "labels": [x.to_dict() for x in _file(3.0)]},
              "loop": {"attempts": 3 - k // 3}} for k in range(8)]
    r = report(files, lag=1)
    assert [q["files"] for q in r["quarters"]] == [2, 2, 2, 2]
    assert r["quarters"][0]["start_mae"] == pytest.approx(2.5)  # offsets 0 and 1 against residual 3
    assert r["quarters"][-1]["start_mae"] == pytest.approx(3.5)  # offsets 6 and 7 overshoot
    assert r["quarters"][0]["attempts_per_shot"] == 3.0 and r["quarters"][-1]["attempts_per_shot"] == 1.0
    assert report([{"loop": {}}], lag=1) is None
    assert "per_source" not in r and r["sources"] == 1
    two = report(files, lag=1, sources=["A"] * 4 + ["B"] * 4)
    assert two["sources"] == 2 and two["quarters"] == r["quarters"]  # the batch's quarters as before
    assert two["per_source"]["B"]["files"] == 4 and two["per_source"]["B"]["first"]["start_mae"] == pytest.approx(1.0)


# ---------------------------------------------------------------- real encodes


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> Path:
    """Five small clips of one kind (a series): testsrc2 in different hues."""
    d = tmp_path_factory.mktemp("series")
    for k in range(5):
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=128x96:rate=25:duration=1,hue=h={k * 50}", "-pix_fmt", "yuv420p",
               "-c:v", "libx264", "-preset", "ultrafast", "-crf", "8", str(d / f"ep{k}.mp4"))
    return d


def test_offset_moves_the_first_attempt_and_the_learner_learns(series, tmp_path):
    src = series / "ep0.mp4"
    base = jndenc.encode(src, tmp_path / "a.mp4", jobs=1).to_dict()
    moved = jndenc.encode(src, tmp_path / "b.mp4", jobs=1, start_offset=-2.5).to_dict()
    model = base["start"]["labels"][0]["model"]
    assert base["shots"][0]["attempts"][0]["crf"] == model
    assert moved["shots"][0]["attempts"][0]["crf"] == model - 2.5
    assert moved["start"]["offset"] == -2.5 and moved["start"]["labels"][0]["model"] == model
    learner = jndenc.StartLearner()
    jndenc.encode(src, tmp_path / "c.mp4", jobs=1, learner=learner)
    assert len(learner.files) == 1
    assert learner.offset() == learn.offset([[learn.ShotLabel.from_dict(base["start"]["labels"][0])]]) != 0.0


def test_offset_needs_a_measured_effort(series, tmp_path):
    with pytest.raises(UserError, match="measured effort"):
        jndenc.encode(series / "ep0.mp4", tmp_path / "o.mp4", effort="fast", start_offset=1.0)
    assert not (tmp_path / "o.mp4").exists()


def _run(series: Path, out: Path, **kw) -> tuple[list, dict]:
    r = batch.run(batch.collect_items(series, out), out, jobs=1, threads=1, **kw)
    items = sorted(r, key=lambda i: i.key)
    return items, r.summary


def test_batch_corrects_each_file_from_the_files_before_it_and_resumes_the_same(series, tmp_path):
    items, summary = _run(series, tmp_path / "out")
    assert [i.status for i in items] == ["done"] * 5
    labels = []
    for i in items:  # ep0 .. ep4: input order
        assert i.start["offset"] == pytest.approx(learn.offset(labels))
        assert i.start["shots"] == 1
        labels.append(_labels_of(tmp_path / "out", i.key))
    assert items[0].start["offset"] == 0.0 and items[-1].start["offset"] != 0.0
    lr = summary["learning"]
    assert lr["lag"] == 1 and sum(q["files"] for q in lr["quarters"]) == 5
    # a resumed batch rebuilds the same corrections from its journal: the redone file comes out byte-identical
    kept = (tmp_path / "out" / "ep3.mp4").read_bytes()
    (tmp_path / "out" / "ep3.mp4").unlink()
    again, _ = _run(series, tmp_path / "out")
    assert [i.status for i in again] == ["skipped", "skipped", "skipped", "done", "skipped"]
    assert (tmp_path / "out" / "ep3.mp4").read_bytes() == kept


def test_a_library_of_folders_learns_each_folder_apart(series, tmp_path):
    lib = tmp_path / "lib"
    for k, show in enumerate(["A", "A", "B", "B", "B"]):
        (lib / show).mkdir(parents=True, exist_ok=True)
        shutil.copy(series / f"ep{k}.mp4", lib / show / f"ep{k}.mp4")
    out = tmp_path / "out"
    r = batch.run(batch.collect_items(lib, out, recursive=True), out, jobs=1, threads=1)
    items = sorted(r, key=lambda i: i.key)
    assert [i.key for i in items] == ["A/ep0.mp4", "A/ep1.mp4", "B/ep2.mp4", "B/ep3.mp4", "B/ep4.mp4"]
    earlier: list = []
    for i in items:  # input order; each file from its own folder's files, shrunk toward the other folder's
        assert i.start["offset"] == pytest.approx(learn.source_offset(earlier, i.key.split("/")[0]))
        earlier.append((i.key.split("/")[0], _labels_of(out, i.key)))
        assert i.start["source"] == str(lib / i.key.split("/")[0])
    assert items[3].start["offset"] != pytest.approx(learn.offset([f for _, f in earlier[:3]]), abs=1e-3)
    assert r.summary["learning"]["sources"] == 2
    per = r.summary["learning"]["per_source"]
    assert {k: v["files"] for k, v in per.items()} == {str(lib / "A"): 2, str(lib / "B"): 3}
    assert per[str(lib / "B")]["first"]["offset_last"] == items[2].start["offset"]  # B's first quarter: its first file
    import click
    from click.testing import CliRunner

    from jndenc.cli.batch import _print_summary

    said = CliRunner().invoke(click.command()(lambda: _print_summary(r.summary)), [])
    assert "learned from earlier files of the same source (2 sources)" in said.output


def test_a_manifest_names_the_source_a_file_learns_with(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "b.mp4").write_bytes(b"")
    (tmp_path / "list.csv").write_text("input,source,crf\na.mp4,show one,\nb.mp4,,\n")
    a, b = batch.collect_items(tmp_path / "list.csv", tmp_path / "out")
    assert a.learns_with == "show one" and b.learns_with == str(tmp_path)


def test_no_learn_starts_every_file_at_the_model(series, tmp_path):
    items, summary = _run(series, tmp_path / "out", learn=False)
    assert all(i.start["offset"] == 0.0 for i in items) and summary["learning"] is None


def test_two_jobs_learn_the_same_whichever_finishes_first(series, tmp_path):
    a, _ = _run_jobs(series, tmp_path / "a")
    b, _ = _run_jobs(series, tmp_path / "b")
    assert [i.start["offset"] for i in a] == [i.start["offset"] for i in b]
    assert a[0].start["offset"] == a[1].start["offset"] == 0.0  # lag 2: ep1 starts beside ep0, learning nothing
    for i in a:
        assert (tmp_path / "a" / i.key).read_bytes() == (tmp_path / "b" / i.key).read_bytes()


def _run_jobs(series: Path, out: Path) -> tuple[list, dict]:
    r = batch.run(batch.collect_items(series, out), out, jobs=2, threads=1)
    return sorted(r, key=lambda i: i.key), r.summary


def _labels_of(out: Path, key: str) -> list[learn.ShotLabel]:
    from jndenc.batch.journal import Journal
    from jndenc.batch.learning import labels_of
    from jndenc.batch.summary import result_of

    with Journal(out, readonly=True) as journal:
        return labels_of(result_of(journal.get(key)))


def test_cli_prints_the_learning_line(series, tmp_path):
    import subprocess
    import sys

    shutil.copytree(series, tmp_path / "in")
    p = subprocess.run([sys.executable, "-m", "jndenc", "batch", str(tmp_path / "in"), str(tmp_path / "out"), "-j", "1"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "starts  error" in p.stdout and "attempts/shot" in p.stdout


def test_cli_learn_file_carries_the_correction_between_encodes(series, tmp_path):
    import subprocess
    import sys

    state = tmp_path / "series.json"

    def run(ep: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "jndenc", "encode", str(series / ep), str(tmp_path / ep),
                               "--learn", str(state), "--jobs", "1", "--json", "-q", *extra],
                              capture_output=True, text=True, timeout=300)

    first = run("ep0.mp4")
    assert first.returncode == 0, first.stderr
    a = json.loads(first.stdout)["start"]
    assert a["offset"] == 0.0 and len(jndenc.learn.load(state).files) == 1
    second = run("ep1.mp4")
    assert second.returncode == 0, second.stderr
    b = json.loads(second.stdout)["start"]
    assert b["offset"] == learn.offset([learn.labels_from(a)]) != 0.0
    assert len(learn.load(state).files) == 2
    bad = run("ep2.mp4", "--effort", "fast")
    assert bad.returncode == 2 and "measured effort" in bad.stderr and "Traceback" not in bad.stderr
    assert len(learn.load(state).files) == 2
    assert learn.load(state).vmaf_model == "vmaf_v0.6.1"  # the file says which model its labels are in
    other = run("ep2.mp4", "--vmaf-model", "vmaf_v0.6.1neg")
    assert other.returncode == 2 and "measured in vmaf_v0.6.1" in other.stderr and "Traceback" not in other.stderr
    assert len(learn.load(state).files) == 2 and not (tmp_path / "ep2.mp4").exists()


    named = run("ep2.mp4", "--learn-source", "other show")
    assert named.returncode == 0, named.stderr
    c = json.loads(named.stdout)["start"]  # a new source starts where the file's other (unnamed) files put it
    assert c["source"] == "other show" and b["source"] is None  # named as a learning batch's items name it
    assert c["offset"] == learn.offset([learn.labels_from(a), learn.labels_from(b)])
    assert learn.load(state).sources == [None, None, "other show"]
    lone = subprocess.run([sys.executable, "-m", "jndenc", "encode", str(series / "ep3.mp4"), str(tmp_path / "x.mp4"),
                           "--learn-source", "x"], capture_output=True, text=True, timeout=300)
    assert lone.returncode == 2 and "--learn" in lone.stderr and "Traceback" not in lone.stderr


def test_a_learner_seen_from_one_source_learns_that_source():
    import copy
    import pickle

    lr = jndenc.StartLearner()
    a, b = lr.for_source("A"), lr.for_source("B")
    for _ in range(3):
        a.add(_file(4.0), "vmaf_v0.6.1")
    b.add(_file(-2.0))
    assert lr.sources == ["A", "A", "A", "B"] and len(a.files) == 4  # one learner behind both views
    assert b.offset() == pytest.approx((-2.0 + 3.0) / 2) and a.offset() > b.offset()
    assert lr.offset("B") == b.offset() and lr.for_source("B").offset() == b.offset()
    with pytest.raises(UserError, match="measured in vmaf_v0.6.1"):
        b.add(_file(1.0), "vmaf_v0.6.1neg")
    again = jndenc.StartLearner.from_dict(json.loads(json.dumps(a.to_dict())))
    assert again.sources == lr.sources and again.offset("A") == a.offset()
    assert jndenc.StartLearner([_file(1.0)]).to_dict().keys() == {"prior", "files"}  # unnamed: as before
    assert copy.copy(a).offset() == pickle.loads(pickle.dumps(a)).offset() == a.offset()
    with pytest.raises(UserError, match="sources"):
        jndenc.StartLearner.from_dict({"files": [[]], "sources": [3]})


def test_an_encode_given_a_source_view_starts_and_learns_as_that_source(series, tmp_path):
    learner = jndenc.StartLearner([_file(4.0)] * 3, sources=["A"] * 3)
    view = learner.for_source("B")
    r = jndenc.encode(series / "ep0.mp4", tmp_path / "b.mp4", jobs=1, learner=view).to_dict()
    assert r["start"]["offset"] == pytest.approx(3.0)  # B has no files yet: where A put the start
    assert learner.sources == ["A", "A", "A", "B"] and learner.vmaf_model == "vmaf_v0.6.1"


def test_quarters_cut_a_series_in_order_as_evenly_as_it_goes():
    assert [list(q) for q in quarters_of(list(range(10)))] == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    assert [list(q) for q in quarters_of([1, 2])] == [[1], [2]]
    assert sum(len(q) for q in quarters_of(list(range(23)))) == 23
    assert quarters_of([]) == []


def test_a_json_file_that_is_not_a_learner_is_refused_and_left_as_it_was(tmp_path):
    """--learn FILE names the learner's file; an encode's --json result or a plan given there by mistake is
    refused, never overwritten with a new learner."""
    other = tmp_path / "result.json"
    text = json.dumps({"input": "a.mp4", "bytes": 1234, "shots": []})
    other.write_text(text)
    with pytest.raises(UserError, match="files"):
        learn.load(other)
    with pytest.raises(UserError, match="not a StartLearner"):
        learn.append(other, _file(1.0))
    assert other.read_text() == text
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    with pytest.raises(UserError):
        learn.load(empty)
    kept = tmp_path / "kept.json"
    learn.append(kept, _file(1.0))  # a new file, and one a learner wrote, are learners
    learn.append(kept, _file(2.0))
    assert len(learn.load(kept).files) == 2


def test_appends_from_many_processes_keep_every_file_and_leave_no_lock_file(tmp_path):
    # encodes sharing one --learn file each add their labels under a lock; the lock file went away with the last
    # (an empty FILE.json.lock was left beside the user's file), and a holder removing it must not let two in
    import multiprocessing as mp

    path = tmp_path / "season.json"
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        pool.starmap(learn.append, [(path, _file(float(i % 3))) for i in range(16)])
    assert len(learn.load(path).files) == 16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["season.json"]
