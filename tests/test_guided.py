"""Guided mode: the model's start plus a few real trial encodes per shot; --verify, --ensure and --tighten."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import jndenc
from jndenc.guided import DEFAULT_SLOPE, GuidedOptions, guide_shot, prior_slope


def linear(crossing: float, slope: float):
    calls = []

    def measure(crf):
        calls.append(crf)
        return 94.0 + slope * (crossing - crf)
    return measure, calls


@pytest.mark.parametrize("start,crossing,slope", [(23, 27.4, 1.5), (30, 24.2, 1.0), (26, 26.5, 3.0),
                                                  (20, 35.0, 0.8), (27, 27.0, 1.5)])
def test_guide_shot_brackets_within_budget_and_keeps_a_passing_crf(start, crossing, slope):
    measure, calls = linear(crossing, slope)
    crf, met, notes = guide_shot(measure, start, 94.0, 1.5, GuidedOptions(max_trials=3))
    assert len(calls) <= 3 and len(set(calls)) == len(calls)
    if met:
        assert measure(crf) >= 94.0 and not notes
    else:
        assert notes and crf == min(calls) - 1


def test_guide_shot_lands_close_with_a_good_start_and_uses_half_steps_when_steep():
    measure, calls = linear(27.6, 3.0)  # one CRF step moves VMAF by 3
    crf, met, _ = guide_shot(measure, 27, 94.0, 3.0, GuidedOptions(max_trials=3))
    assert met and crf == 27.5 and calls[:2] == [27.0, 28.0]
    measure, calls = linear(27.6, 1.0)  # gentle: integer bracket is enough
    crf, met, _ = guide_shot(measure, 27, 94.0, 1.0, GuidedOptions(max_trials=3))
    assert met and crf == 27.0 and len(calls) == 2


def test_guide_shot_steps_down_when_nothing_passes_and_says_so():
    measure, calls = linear(20.0, 1.5)  # the prior's slope (6) is far too steep: the first step falls short
    crf, met, notes = guide_shot(measure, 40, 94.0, 6.0, GuidedOptions(max_trials=2))
    assert not met and crf == min(calls) - 1 and "lowest tried minus one step" in notes[0]
    assert calls[1] < calls[0] - 1  # stepped toward the estimated crossing, not one blind step


def test_prior_slope_from_level_spacing():
    assert prior_slope([25, 29, 33], (94, 88, 82)) == pytest.approx(1.5)
    assert prior_slope([25, 25.1, 33], (94, 88, 82)) == pytest.approx(DEFAULT_SLOPE)  # degenerate spacing: default
    assert prior_slope([25, 26, 33], (94, 88, 82)) == pytest.approx(2.0)  # bounded: 6 VMAF per step is implausible


def _run(cut_clip, tmp_path, **kw):
    return jndenc.encode(cut_clip, tmp_path / "out.mp4", mode="guided", overwrite=True,
                         trial_cache=str(tmp_path / "cache"), **kw)


def test_guided_encode_trials_meet_target_and_rerun_hits_cache(cut_clip, tmp_path):
    r = _run(cut_clip, tmp_path)
    d = r.to_dict()
    assert d["mode"] == "guided" and d["trial_encodes"] <= 3 * len(d["shots"])
    for s, trials in zip(r.plan.shots, r.plan.stats["trials"]):
        chosen = [t for t in trials if t["crf"] == s.crf]
        assert chosen and chosen[0]["score"] >= 94.0  # margin 0: the CRF encoded is one whose trial met VMAF 94
    assert all("vmaf" in s and s["vmaf"]["p5"] <= s["vmaf"]["mean"] for s in d["shots"])  # verify is on by default
    assert d["verify"]["worst_shot_vmaf"] == min(s["vmaf"]["mean"] for s in d["shots"])
    again = _run(cut_clip, tmp_path).to_dict()
    assert again["trial_encodes"] == 0 and again["trials_measured"] == d["trials_measured"]
    assert [s["crf"] for s in again["shots"]] == [s["crf"] for s in d["shots"]]


def test_ensure_lowers_the_crf_of_a_shot_that_missed(cut_clip, tmp_path):
    # a start far too high and one trial: the trial fails, the fallback CRF is still too high, verify sees the miss
    r = _run(cut_clip, tmp_path, prior=47.0, max_trials=1, ensure=True, max_crf=51)
    d = r.to_dict()
    assert any("no trial reached" in n for n in d["notes"])
    assert len(d["passes"]) == 2
    first, second = d["passes"]
    lowered = [i for i, (a, b) in enumerate(zip(first["crf"], second["crf"])) if b < a]
    assert lowered and all(first["vmaf"][i]["mean"] < 93.5 for i in lowered)
    assert all(second["vmaf"][i]["mean"] > first["vmaf"][i]["mean"] for i in lowered)
    assert [s["crf"] for s in d["shots"]] == second["crf"]


def test_corrections_lower_misses_and_raise_headroom_only_with_tighten():
    from jndenc.verify import TIGHTEN_SLOPE, ShotQuality, corrections, raised_crf

    q = [ShotQuality(92.0, 90.0), ShotQuality(94.2, 93.0), ShotQuality(97.0, 95.0), ShotQuality(float("nan"), 0.0)]
    crfs = [25.0, 25.0, 25.0, 25.0]
    assert corrections(crfs, q, 94.0) == {0: 22.0}  # --ensure: the miss only, 2 VMAF short at 0.75 a step: 3 steps
    new = corrections(crfs, q, 94.0, tighten=True)
    # 3 VMAF of headroom at the assumed 1.5 a step: 2 steps up; 0.2 is under a quarter step: left alone
    assert new == {0: 22.0, 2: 25.0 + 3.0 / TIGHTEN_SLOPE}
    # a steeper slope measured by the shot's trials raises less; a shallower one does not raise more
    steep = [[], [], [{"crf": 24.0, "score": 99.0}, {"crf": 26.0, "score": 93.0}], []]
    assert corrections(crfs, q, 94.0, trials=steep, tighten=True)[2] == 26.0
    flat = [[], [], [{"crf": 24.0, "score": 97.5}, {"crf": 26.0, "score": 96.5}], []]
    assert corrections(crfs, q, 94.0, trials=flat, tighten=True)[2] == new[2]
    assert raised_crf(38.0, 99.0, 94.0, 1.5, 0.25, max_crf=40.0) == 40.0  # clamped to the plan's max CRF
    from jndenc.verify import Pass, best_pass

    def p(below, nbytes):
        return Pass(None, [ShotQuality(90.0, 0)] * below + [ShotQuality(95.0, 0)], nbytes, {})
    assert best_pass([p(1, 900), p(0, 1000)], 94.0) == 1 and best_pass([p(0, 900), p(0, 800)], 94.0) == 1
    assert best_pass([p(0, 900), p(1, 800)], 94.0) == 0 and best_pass([p(0, 900), p(0, 901), p(0, 899)], 94.0) == 2
    assert raised_crf(25.0, 94.3, 94.0, 1.5, 0.25, max_crf=51.0) == 25.0


def test_tighten_raises_shots_with_headroom_and_keeps_the_best_pass(cut_clip, tmp_path):
    # a fixed CRF far below any JND: every shot is measured well above the target, --tighten raises them all
    r = jndenc.encode(cut_clip, tmp_path / "out.mp4", crf=14, tighten=True, overwrite=True)
    d = r.to_dict()
    first, second = d["passes"][:2]
    assert 2 <= len(d["passes"]) <= 3
    assert all(b > a for a, b in zip(first["crf"], second["crf"]))
    assert any(n.startswith("--tighten re-encoded shots 0, 1, 2 ") for n in d["notes"])
    assert sum(p["kept"] for p in d["passes"]) == 1
    kept = next(p for p in d["passes"] if p["kept"])
    assert [s["crf"] for s in d["shots"]] == kept["crf"] and (tmp_path / "out.mp4").stat().st_size == kept["bytes"]
    assert second["bytes"] < first["bytes"]  # higher CRFs, fewer bytes
    assert all((kept["shots_below_target"], kept["bytes"]) <= (p["shots_below_target"], p["bytes"])
               for p in d["passes"])
    assert [s["vmaf"]["mean"] for s in d["shots"]] == [v["mean"] for v in kept["vmaf"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # the other passes' files are gone


def _linear_run(crossings, slope=1.0, nbytes=lambda crfs: int(1e6 * sum(2 ** (-c / 6) for c in crfs))):
    """A stand-in for encode + verify in the pure pass logic: shot i scores 94 at crossings[i], ``slope`` a step."""
    from jndenc.verify import ShotQuality

    def run(plan):
        crfs = [s.crf for s in plan.shots]
        return [ShotQuality(94.0 + slope * (x - c), 0.0) for x, c in zip(crossings, crfs)], nbytes(crfs)
    return run


def test_corrective_passes_settle_a_raise_that_overshot_and_keep_the_best():
    from jndenc.planner import PlanOptions, make_plan
    from jndenc.verify import Pass, best_pass, corrective_passes, settled, ShotQuality

    plan = make_plan([(0, 10), (10, 20)], [[25.0, 30, 34], [30.0, 34, 38]], 20, 10.0, PlanOptions(margin=0.0))
    # shot 0 scores 94 at CRF 24 (a miss at 25), shot 1 at 33 with a steep 3 VMAF a step: the raise overshoots
    run = _linear_run([24.0, 32.0], slope=3.0)
    q, b = run(plan)
    passes = corrective_passes(Pass(plan, q, b, {}), 94.0, run, tighten=True)
    crfs = [[s.crf for s in p.plan.shots] for p in passes]
    assert crfs[0] == [25.0, 30.0] and crfs[1][0] < 25.0 and crfs[1][1] > 30.0  # lowered and raised at once
    assert len(passes) == 3 and crfs[2] == [crfs[1][0], 30.0]  # the overshot raise put back, the fix kept
    best = best_pass(passes, 94.0)
    assert best == 2 and all(p.mean >= 93.5 for p in passes[best].quality)
    # --ensure: one correction, misses only
    passes = corrective_passes(Pass(plan, q, b, {}), 94.0, run, tighten=False)
    assert len(passes) == 2 and [s.crf for s in passes[1].plan.shots][1] == 30.0
    assert settled([26.0, 30.0], [ShotQuality(93.0, 0), ShotQuality(93.0, 0)], 94.0, [25.0, 31.0]) == {0: 25.0,
                                                                                                      1: 28.0}


def test_guided_cli_json_and_interrupt_leaves_no_temp_files(cut_clip, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path / "t"), JNDENC_CACHE_DIR=str(tmp_path / "c"))
    (tmp_path / "t").mkdir()
    out = tmp_path / "o" / "out.mp4"
    out.parent.mkdir()
    cmd = [sys.executable, "-m", "jndenc.cli", "encode", str(cut_clip), str(out), "--mode", "guided", "-q"]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and not any((tmp_path / "t").glob("jndenc-guided-*")):
        time.sleep(0.05)
    assert any((tmp_path / "t").glob("jndenc-guided-*")), "guided never started its trials"
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    assert p.returncode == 130
    assert list((tmp_path / "t").iterdir()) == [] and list(out.parent.iterdir()) == []
    done = subprocess.run(cmd[:-1] + ["--json"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    d = json.loads(done.stdout)
    assert d["mode"] == "guided" and len(d["shots"]) == 3 and all("vmaf" in s for s in d["shots"])


def test_batch_guided_reports_worst_shot(cut_clip, plain_clip, tmp_path):
    from jndenc import batch

    items = [{"input": str(cut_clip), "output": str(tmp_path / "o" / "a.mp4")},
             {"input": str(plain_clip), "output": str(tmp_path / "o" / "b.mp4"), "mode": "crf", "crf": 30}]
    r = batch.run(items, tmp_path / "o", jobs=1, threads=1, mode="guided", trial_cache=str(tmp_path / "c"))
    results = list(r)
    assert [x.status for x in results] == ["done", "done"]
    assert results[0].verify["worst_shot_vmaf"] > 80
    s = r.summary
    assert s["verified_items"] >= 1 and s["worst_shot_vmaf"] <= results[0].verify["worst_shot_vmaf"]


def test_predict_in_guided_mode_reports_measured_crfs_without_encoding(cut_clip, tmp_path):
    d = jndenc.predict(cut_clip, mode="guided", trial_cache=str(tmp_path / "c")).to_dict()
    assert d["mode"] == "guided" and all(s["source"] == "guided" for s in d["shots"])
    assert all(s["crf"] == s["jnd"][0] for s in d["shots"])  # margin 0: the measured level is the CRF
    assert 0 < d["trial_encodes"] <= 3 * len(d["shots"])
    assert list(tmp_path.glob("*.mp4")) == []


def test_verify_scores_every_shot_once_and_matches_a_full_comparison(cut_clip, tmp_path):
    from jndenc.media.quality import compare
    from jndenc.verify import shot_quality, verify

    out = tmp_path / "o.mp4"
    jndenc.encode(cut_clip, out, crf=30)
    shots = [(0, 50), (50, 100), (100, 150)]
    full = shot_quality(compare(out, cut_clip).frames["vmaf"], shots)  # with PSNR and SSIM features
    fast = verify(out, cut_clip, shots)
    assert [round(q.mean, 3) for q in fast] == [round(q.mean, 3) for q in full]
    sub = compare(out, cut_clip, features=(), subsample=4)  # scored frames only; the rest are NaN
    assert np.isnan(sub.frames["vmaf"][1]) and np.isfinite(sub.frames["vmaf"][4]) and np.isnan(sub.pool("psnr"))


def test_a_flat_secant_far_above_the_target_does_not_send_the_next_trial_past_it():
    # concave like VMAF near 100: nearly flat far above the target, about 1.3 per CRF near the crossing
    def measure(crf):
        calls.append(crf)
        return min(99.9, 94.0 + 1.3 * (25.3 - crf)) if crf > 21 else 99.9 - 0.35 * (crf - 18)
    calls = []
    crf, met, _ = guide_shot(measure, 18, 94.0, 1.4, GuidedOptions(max_trials=3))
    assert met and crf >= 24 and max(calls) <= 27


def test_trial_windows_are_cut_alone_and_score_like_trimming_the_whole_shot(cut_clip, tmp_path):
    from jndenc.media.quality import compare
    from jndenc.search import SearchOptions, extract_references, extract_windows, trial_encode

    opts = SearchOptions(preset="ultrafast")
    (tmp_path / "r").mkdir()
    wins = extract_windows(cut_clip, [(10, 30), (60, 90)], tmp_path)
    refs = extract_references(cut_clip, [(0, 50), (50, 150)], tmp_path / "r")
    for win, ref, frames in zip(wins, refs, [(10, 30), (10, 40)]):
        a = trial_encode(win, 30, opts, tmp_path / "a.mkv")
        b = trial_encode(ref, 30, opts, tmp_path / "b.mkv", 0, frames)
        va = compare(tmp_path / "a.mkv", win).pool("vmaf")
        vb = compare(tmp_path / "b.mkv", ref, ref_range=frames).pool("vmaf")
        assert a == b and va == pytest.approx(vb, abs=1e-6)


@pytest.mark.slow
def test_tighten_on_a_real_multi_shot_clip(shared_clips, tmp_path):
    # a training clip of four shots, first 150 frames: every shot of the kept pass within the tolerance, and the
    # kept pass no larger than the first unless the first left a shot below
    from jndenc.media.clips import prepare_source

    src = prepare_source(shared_clips / "pyscenedetect_deerleaf720.mp4", tmp_path / "cut.mkv", 150, 8)
    d = jndenc.encode(src, tmp_path / "out.mp4", confidence=0.7, tighten=True, preset="veryfast").to_dict()
    kept = next(p for p in d["passes"] if p["kept"]) if d.get("passes") else None
    assert all(s["vmaf"]["mean"] >= 93.5 for s in d["shots"]), [s["vmaf"] for s in d["shots"]]
    if kept is not None and d["passes"][0]["shots_below_target"] == 0:
        assert kept["bytes"] <= d["passes"][0]["bytes"]


def test_tighten_plans_at_its_own_confidence_unless_one_is_given(cut_clip, tmp_path):
    from jndenc.verify import TIGHTEN_CONFIDENCE

    d = jndenc.encode(cut_clip, tmp_path / "a.mp4", tighten=True, preset="ultrafast").to_dict()
    assert d["margin"]["confidence"] == TIGHTEN_CONFIDENCE["predict"] == 0.7
    d = jndenc.encode(cut_clip, tmp_path / "b.mp4", tighten=True, confidence=0.9, preset="ultrafast").to_dict()
    assert d["margin"]["confidence"] == 0.9
    d = jndenc.encode(cut_clip, tmp_path / "c.mp4", mode="predict", preset="ultrafast").to_dict()
    assert d["margin"]["confidence"] == 0.9  # without --tighten predict mode's default is unchanged
    d = jndenc.encode(cut_clip, tmp_path / "d.mp4", mode="probe", tighten=True, preset="ultrafast").to_dict()
    assert d["margin"]["confidence"] == TIGHTEN_CONFIDENCE["probe"] == 0.5
