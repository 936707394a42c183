"""What a developer embedding jndenc's Python API hits: misspelt and mistyped keywords, saved learners and plans
that are not what they should be, `jndenc.quality.compare` on two unlike videos, the report of a one-pass encode.
Real FFmpeg encodes on small generated clips."""
from __future__ import annotations

import json

import numpy as np
import pytest

import jndenc
from conftest import ffmpeg
from jndenc.errors import InputError, UserError
from jndenc.learn import ShotLabel, StartLearner, load
from jndenc.options import EncodeOptions
from jndenc.planner import Plan
from jndenc.report import page


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("api_edges")
    full, short, small = d / "full.mp4", d / "short.mp4", d / "small.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "libx264", "-preset",
           "ultrafast", "-crf", "10", str(full))
    ffmpeg("-i", str(full), "-frames:v", "15", "-c:v", "libx264", "-preset", "ultrafast", str(short))
    ffmpeg("-i", str(full), "-vf", "scale=80:60", "-c:v", "libx264", "-preset", "ultrafast", str(small))
    return full, short, small


def test_a_misspelt_keyword_names_what_was_meant_in_from_kwargs_and_with_():
    with pytest.raises(TypeError, match="efort.*did you mean 'effort'"):
        EncodeOptions.from_kwargs(efort="fast")
    # with_ raised a bare KeyError('efort')
    with pytest.raises(TypeError, match="efort.*did you mean 'effort'"):
        EncodeOptions().with_(efort="fast")
    with pytest.raises(TypeError, match="the keywords are .*effort"):
        EncodeOptions.from_kwargs(zzqxv=1)


@pytest.mark.parametrize("kw, key", [({"target_vmaf": "93"}, "target_vmaf"), ({"crf": "23"}, "crf"),
                                     ({"jobs": "2"}, "jobs"), ({"min_crf": "20"}, "min_crf"),
                                     ({"target_jnd": "1"}, "target_jnd"), ({"preset": None}, "preset"),
                                     ({"enc": "g=48"}, "enc"), ({"learner": {"files": []}}, "learner"),
                                     ({"plan": {"frames": 50}}, "plan")])
def test_a_value_of_the_wrong_kind_is_a_type_error_naming_its_keyword(kw, key):
    with pytest.raises(TypeError, match=f"^{key} takes"):
        EncodeOptions.from_kwargs(**kw)


@pytest.mark.parametrize("kw, says", [({"codec": "h264"}, "codec must be one of x264"),
                                      ({"target_vmaf": 120}, "target_vmaf must be within 20..100"),
                                      ({"jobs": 0}, "jobs must be at least 1"),
                                      ({"compare_crf": 80}, "compare_crf must be within 0..51")])
def test_a_value_the_cli_refuses_is_a_user_error_from_the_api_too(kw, says):
    # codec="h264" was KeyError('h264'); the others ran (or failed in FFmpeg after the encode)
    with pytest.raises(UserError, match=says):
        EncodeOptions.from_kwargs(**kw)


def test_numpy_numbers_are_numbers():
    o = EncodeOptions.from_kwargs(jobs=np.int64(2), target_vmaf=np.float32(93.5))
    assert (o.work.jobs, o.aim.target_vmaf) == (2, 93.5) and type(o.work.jobs) is int


def test_a_mistyped_compare_crf_fails_before_the_output_is_written(clips, tmp_path):
    full, _, _ = clips
    out = tmp_path / "o.mp4"
    # it encoded, renamed the output into place, then failed formatting the plain encode's CRF
    with pytest.raises(TypeError, match="compare_crf"):
        jndenc.encode(full, out, effort="fast", compare_crf="23")
    assert not out.exists()


def test_plan_checks_its_keywords_as_encode_does(clips):
    full, _, _ = clips
    with pytest.raises(TypeError, match="min_crf takes a number"):  # was "'<=' not supported ..."
        jndenc.plan(full, min_crf="20")
    with pytest.raises(TypeError, match="target_jnd takes an integer"):  # was "must be 1, 2 or 3, not 1"
        jndenc.predict(full, target_jnd="1")


def test_a_saved_learner_of_the_wrong_shape_is_a_user_error(tmp_path):
    good = StartLearner([[ShotLabel(24.0, 26.5, 50)]], prior=2)
    again = StartLearner.from_dict(json.loads(json.dumps(good.to_dict())))
    assert again.to_dict() == good.to_dict() and again.offset() == good.offset() != 0
    for bad in ([], {"files": {"a": 1}}, {"files": [[{"model": 1}]]}, {"files": [[None]]},
                {"prior": -1, "files": [[{"model": 1, "found": 3, "frames": 3}]]}, {"prior": "1"}):
        with pytest.raises(UserError, match="not a StartLearner's to_dict"):
            StartLearner.from_dict(bad)
    with pytest.raises(ValueError, match="prior"):  # it divided by zero at the first file
        StartLearner([[ShotLabel(1.0, 2.0, 3)]], prior=-1)
    f = tmp_path / "learn.json"
    f.write_text("[]")  # `--learn FILE` with a list in it was an AttributeError
    with pytest.raises(UserError, match="learn.json: not a StartLearner"):
        load(f)


def test_a_plan_that_is_not_a_json_object_is_said_so():
    with pytest.raises(UserError, match="expected a JSON object"):
        Plan.from_dict([1, 2])


def test_compare_refuses_two_lengths(clips):
    full, short, _ = clips
    # the short video's last frame was held against the rest and scored: a pooled VMAF far too low, no error
    with pytest.raises(UserError, match="15 frames against 25"):
        jndenc.quality.compare(short, full)
    with pytest.raises(UserError, match="25 frames against 15"):
        jndenc.quality.compare(full, short)
    with pytest.raises(UserError, match="ref_range"):
        jndenc.quality.compare(short, full, ref_range=(5, 25))
    assert jndenc.quality.compare(short, full, ref_range=(0, 15), features=()).pool() > 95


def test_compare_scales_another_size_and_names_a_missing_file(clips, tmp_path):
    full, _, small = clips
    # "FFmpeg failed while measuring VMAF": the module says the distorted video is scaled to the reference
    q = jndenc.quality.compare(small, full, features=())
    assert len(q.frames["vmaf"]) == 25 and 40 < q.pool() < 99
    with pytest.raises(InputError, match="nope.mp4: no such file"):
        jndenc.quality.compare(tmp_path / "nope.mp4", full)
    with pytest.raises(ValueError, match="unknown metric 'vmf'"):
        q.pool("vmf")


def test_report_of_a_one_pass_measured_encode_says_its_floor_and_a_negative_saving():
    shots = [{"start_frame": 0, "end_frame": 25, "crf": 25.0, "vmaf": {"mean": 95.7, "p5": 93.2}}]
    d = {"input": "a.mp4", "output": "b.mp4", "effort": None, "mode": "predict", "codec": "x264",
         "preset": "medium", "bytes": 27000, "bitrate_kbps": 100.0, "frames": 25, "shots": shots,
         "verify": {"target_vmaf": 94.0}, "timings": {"total_s": 1.0}, "notes": [],
         "compare": {"crf": 30.0, "saving_pct": -51.0, "jndenc_video_bytes": 25843, "video_bytes": 17112,
                     "jndenc_time_ratio": 3.8}}
    html = page(d, [])
    assert "93.50 VMAF or above" in html and "194" not in html  # was "93.50 - 194.00 VMAF"
    assert "51.0% more video bytes" in html and "-51.0%" not in html
