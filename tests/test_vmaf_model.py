"""--vmaf-model: the loop, --verify and --compare-crf measure with the libvmaf model asked for; the one-pass paths,
whose estimates are made in the default model, refuse another."""
from __future__ import annotations

import subprocess
import sys

import pytest

from jndenc import encode
from jndenc import resume as R
from jndenc import verify as V
from jndenc.errors import UserError
from jndenc.loop_options import LoopOptions
from jndenc.media import segments as S
from jndenc.media.ffargs import VMAF_MODEL, VMAF_MODELS, libvmaf_filter
from jndenc.options import Aim

NEG = "vmaf_v0.6.1neg"


@pytest.mark.parametrize("model", VMAF_MODELS)
def test_the_filter_names_the_model(model):
    assert f"libvmaf=model=version={model}:" in libvmaf_filter("log.json", model=model)


def test_an_unknown_model_is_refused_before_ffmpeg():
    with pytest.raises(ValueError, match="vmaf_v0.6.1neg"):
        libvmaf_filter("log.json", model="vmaf_v9")
    with pytest.raises(UserError, match="vmaf_model must be one of"):
        Aim(vmaf_model="vmaf_v9")


def test_an_attempt_and_its_full_measurement_score_with_the_model():
    codec = S.SegmentCodec("x264", "medium", 1, 8)
    attempt = " ".join(S.attempt_args("in.mp4", "o.mkv", "l.json", (0, 50), codec=codec, crf=23, model=NEG))
    full = " ".join(S.measure_args("in.mp4", "o.mkv", "l.json", (0, 50), bit_depth=8, model=NEG))
    assert f"model=version={NEG}:" in attempt and f"model=version={NEG}:" in full
    assert f"model=version={VMAF_MODEL}:" in " ".join(
        S.attempt_args("in.mp4", "o.mkv", "l.json", (0, 50), codec=codec, crf=23))


def test_a_frame_larger_than_1440p_measured_in_the_default_model_says_the_4k_model_exists():
    assert any("vmaf_4k_v0.6.1" in n for n in V.model_notes(3840, 2160, VMAF_MODEL))
    assert V.model_notes(2560, 1440, VMAF_MODEL) == []  # 1440p and below: the default model's own ground
    assert V.model_notes(3840, 2160, "vmaf_4k_v0.6.1") == []


def test_a_verified_one_pass_encode_larger_than_1440p_says_the_4k_model_exists(cut_clip):
    from dataclasses import replace

    from jndenc.media.probe import probe
    from jndenc.one_pass import _measures

    big = replace(probe(cut_clip), width=3840, height=2160)
    notes: list[str] = []
    assert _measures(cut_clip, None, big, True, False, VMAF_MODEL, notes) is True
    assert any("vmaf_4k_v0.6.1" in n for n in notes)
    quiet: list[str] = []
    assert _measures(cut_clip, None, big, False, False, VMAF_MODEL, quiet) is False
    assert quiet == []  # nothing measured, nothing to say about the measurement


def test_resumed_shots_are_never_taken_from_a_run_measured_with_another_model(cut_clip):
    assert R.digest(cut_clip, {}, options=LoopOptions()) != R.digest(cut_clip, {}, options=LoopOptions(vmaf_model=NEG))


def test_the_loop_aims_each_shot_at_the_target_in_the_model_asked_for(cut_clip, tmp_path):
    out = tmp_path / "o.mp4"
    r = encode(cut_clip, out, vmaf_model=NEG, verify=True, jobs=2)
    d = r.to_dict()
    assert d["vmaf_model"] == NEG and d["loop"]["vmaf_model"] == NEG and NEG in d["loop"]["measured_by"]
    shots = [(s.start_frame, s.end_frame) for s in r.plan.shots]
    default = V.verify(out, cut_clip, shots)
    for s, neg, plain in zip(r.loop.shots, r.quality, default):
        # --verify read the finished file in NEG, as the loop read each kept segment
        assert neg.mean == pytest.approx(s.vmaf, abs=0.5)
        # NEG caps the gains VMAF's features can show, so it never reads a shot above the default model
        assert neg.mean <= plain.mean + 0.05
    assert any(neg.mean < plain.mean - 0.2 for neg, plain in zip(r.quality, default))
    for s in r.loop.shots:
        assert s.outcome in ("in_band", "clamped") or s.outcome in ("above", "below") and len(s.attempts) >= 3
    from jndenc.report import write

    write(r, tmp_path / "page.html")  # the page says whose VMAF its band is in
    assert f"VMAF ({NEG})" in (tmp_path / "page.html").read_text()


def test_one_pass_paths_refuse_a_model_they_would_not_measure_in(cut_clip, tmp_path):
    with pytest.raises(UserError, match="--vmaf-model vmaf_4k_v0.6.1 needs a measured effort .* or --verify"):
        encode(cut_clip, tmp_path / "o.mp4", effort="fast", vmaf_model="vmaf_4k_v0.6.1")
    with pytest.raises(UserError, match="--mode search measures its trials in vmaf_v0.6.1"):
        encode(cut_clip, tmp_path / "o.mp4", mode="search", vmaf_model=NEG, verify=True)
    with pytest.raises(UserError, match="--ensure and --tighten correct toward targets made in"):
        encode(cut_clip, tmp_path / "o.mp4", mode="predict", tighten=True, vmaf_model=NEG, verify=True)
    assert not (tmp_path / "o.mp4").exists()


def test_fast_with_verify_measures_the_finished_file_in_the_model_asked_for(cut_clip, tmp_path):
    out = tmp_path / "o.mp4"
    r = encode(cut_clip, out, effort="fast", vmaf_model=NEG, verify=True, compare_crf=23)
    d = r.to_dict()
    assert d["vmaf_model"] == NEG and any(f"measured in {NEG}" in n for n in d["notes"])
    assert d["verify"]["vmaf_model"] == NEG and d["compare"]["verify"]["vmaf_model"] == NEG
    shots = [(s.start_frame, s.end_frame) for s in r.plan.shots]
    assert [q.mean for q in r.quality] == pytest.approx([q.mean for q in V.verify(out, cut_clip, shots, model=NEG)],
                                                        abs=0.01)
    default = V.verify(out, cut_clip, shots)
    assert any(neg.mean < plain.mean - 0.2 for neg, plain in zip(r.quality, default))
    # the plain encode it is compared with was measured in the same model
    assert len(d["compare"]["shots"]) == len(shots)
    plain = encode(cut_clip, tmp_path / "p.mp4", effort="fast", verify=True)
    assert plain.to_dict()["vmaf_model"] == VMAF_MODEL
    assert out.stat().st_size == (tmp_path / "p.mp4").stat().st_size  # the plan is the default model's either way


@pytest.mark.parametrize("command", ["encode", "batch"])
def test_the_cli_refusal_is_one_line_and_exit_2(cut_clip, tmp_path, command):
    out = tmp_path / ("o.mp4" if command == "encode" else "out")
    p = subprocess.run([sys.executable, "-m", "jndenc.cli", command, str(cut_clip if command == "encode" else
                                                                         cut_clip.parent), str(out),
                        "--effort", "fast", "--vmaf-model", NEG], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "needs a measured effort" in p.stderr
    assert not out.exists() or not any(out.glob("*.mp4"))


def test_the_bundled_libvmaf_loads_every_model_offered_and_doctor_lists_them():
    from jndenc.media.quality import has_model, require_model

    for model in VMAF_MODELS:
        assert has_model(model)
        require_model(model)
    p = subprocess.run([sys.executable, "-m", "jndenc", "doctor"], capture_output=True, text=True)
    line = next(ln for ln in p.stdout.splitlines() if "VMAF models:" in ln)
    assert all(m in line for m in VMAF_MODELS) and "missing" not in line


def test_a_batch_summary_names_the_model_its_worst_shot_was_measured_in():
    import json

    from jndenc.batch.summary import worst_shot

    def row(key, vmaf, model=None):
        v = {"target_vmaf": 94.0, "worst_shot": 0, "worst_shot_vmaf": vmaf, "shots_below_target": 0}
        return {"key": key, "result": json.dumps({"verify": {**v, **({"vmaf_model": model} if model else {})}})}

    assert worst_shot([row("a", 95.0, NEG), row("b", 93.9, NEG)]) == {
        "verified_items": 2, "loop_measured_items": 0, "worst_shot_vmaf": 93.9, "worst_shot_item": "b",
        "vmaf_model": NEG, "items_with_shots_below_target": 0}
    # the shot loop's own readings are not a verification of the finished file: counted apart
    looped = {"key": "c", "result": json.dumps({"verify": {"target_vmaf": 94.0, "worst_shot": 0, "worst_shot_vmaf": 94.1,
                                                           "shots_below_target": 0, "measured": "segments"}})}
    got = worst_shot([row("a", 95.0, NEG), looped])
    assert (got["verified_items"], got["loop_measured_items"], got["worst_shot_item"]) == (1, 1, "c")
    assert worst_shot([row("a", 95.0)])["vmaf_model"] == VMAF_MODEL  # a journal kept before the model was recorded


def test_a_batch_summary_names_the_model_its_plain_encodes_were_measured_in():
    import json

    from jndenc.batch.summary import compared

    def row(key, vmaf, model=None):
        v = {"target_vmaf": 94.0, "worst_shot": 0, "worst_shot_vmaf": vmaf, "shots_below_target": 1}
        c = {"crf": 23, "jndenc_video_bytes": 90, "video_bytes": 100,
             "verify": {**v, **({"vmaf_model": model} if model else {})}}
        return {"key": key, "result": json.dumps({"compare": c})}

    c = compared([row("a", 95.0, NEG), row("b", 92.0, NEG)])["compare"]
    assert (c["worst_shot_vmaf"], c["worst_shot_item"], c["vmaf_model"]) == (92.0, "b", NEG)
    assert compared([row("a", 95.0)])["compare"]["vmaf_model"] == VMAF_MODEL
