"""`jndenc calibrate --codec av1|vp9`: a user's own scale for the loop's first attempt, measured by real encodes,
read back by `jndenc encode --calibration`, and refused where it calibrates another encoder."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jndenc import starts
from jndenc.calibrate import fit_scale, load_offsets, load_scale, scale_key
from jndenc.errors import UserError
from jndenc.planner import Plan, ShotPlan


def _scale_file(path, key="vp9", codec="vp9", line=(0.0, 1.0)):
    path.write_text(json.dumps({"codec": codec, "key": key, "x264_to_codec": list(line)}))
    return path


def _plan(crfs):
    shots = [ShotPlan(i * 10, i * 10 + 10, [c, c + 4, c + 8], c) for i, c in enumerate(crfs)]
    return Plan(frames=10 * len(crfs), fps=25.0, codec="x264", preset="medium", mode="predict", shots=shots, zones=[],
                options={"min_crf": 12, "max_crf": 40})


def test_scale_keys_follow_the_shipped_assets_layout():
    assert scale_key("av1") == "av1" and scale_key("av1", "libsvtav1") == "av1"
    assert scale_key("av1", "libaom-av1") == "libaom-av1" and scale_key("vp9") == "vp9"
    with pytest.raises(UserError):
        scale_key("vp9", "libaom-av1")


def test_fit_scale_recovers_a_known_line():
    # the codec needs 2 x264 steps + 7 for the same VMAF on both clips: the fit must find exactly that
    x264 = [[c, 100 - 1.0 * c] for c in (10, 20, 30)]
    codec = [[2 * c + 7, 100 - 1.0 * c] for c in (10, 20, 30)]
    fit = fit_scale({"a": {"x264": x264, "vp9": codec}, "b": {"x264": x264, "vp9": codec}}, "vp9",
                    levels=(75, 80, 85))
    assert fit["x264_to_codec"] == pytest.approx([7.0, 2.0]) and fit["mae_of_fit"] == pytest.approx(0, abs=1e-9)
    assert fit["points"] == 6
    # curves that never reach a level give no line rather than a guess
    assert fit_scale({"a": {"x264": x264, "vp9": codec}}, "vp9", levels=(99,)) is None


def test_a_users_scale_moves_the_start_instead_of_the_shipped_one(tmp_path):
    plan = _plan([20.0, 26.0])
    own = starts.on_codec(plan, "vp9", None, _scale_file(tmp_path / "s.json", line=(3.0, 1.5)))
    assert [s.crf for s in own.shots] == [33.0, 42.0] and own.options["x264_to_codec"] == [3.0, 1.5]
    assert own.options["x264_to_codec_from"] == str(tmp_path / "s.json")
    shipped = starts.on_codec(plan, "vp9")
    assert shipped.options["x264_to_codec"] == list(starts.codec_scale("vp9")) != [3.0, 1.5]


@pytest.mark.parametrize("content, codec, encoder, needle", [
    ({"x265_offsets": [[23, -1.2]]}, "av1", None, "calibrates x265, not av1"),
    ({"codec": "av1", "key": "av1", "x264_to_codec": [1, 2]}, "vp9", None, "calibrates av1, not vp9"),
    ({"codec": "av1", "key": "av1", "x264_to_codec": [1, 2]}, "av1", "libaom-av1", "calibrates av1, not libaom-av1"),
    ({"codec": "vp9", "key": "vp9", "x264_to_codec": [1, -2]}, "vp9", None, "falls"),
    ({"codec": "vp9", "key": "vp9"}, "vp9", None, "not a calibration file"),
    ("[1, 2]", "vp9", None, "not a calibration file"),
])
def test_a_scale_for_another_encoder_is_refused(tmp_path, content, codec, encoder, needle):
    p = tmp_path / "c.json"
    p.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(UserError, match=needle):
        load_scale(p, codec, encoder)


@pytest.mark.parametrize("content, needle", [
    ({"codec": "av1", "key": "av1", "x264_to_codec": [1, 2]}, "calibrates av1, not x264 or x265"),
    ({"x265_offsets": []}, "table is empty"),
    ({"x265_offsets": [[23]]}, "not a calibration file"),
    ("[1, 2]", "not a calibration file"),
    ("{", "not a calibration file"),
])
def test_an_offset_table_is_read_by_the_same_reader(tmp_path, content, needle):
    p = tmp_path / "c.json"
    p.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(UserError, match=needle):
        load_offsets(p)
    p.write_text(json.dumps({"x265_offsets": [[18, -2.5], [23, -1.25]]}))
    assert load_offsets(p) == ((18.0, -2.5), (23.0, -1.25))


def test_calibrate_vp9_end_to_end_then_encode_with_it(cut_clip, tmp_path):
    """Real encodes on both grids, the line written, and `encode --codec vp9 --calibration` starting from it."""
    out = tmp_path / "vp9.json"
    r = subprocess.run([sys.executable, "-m", "jndenc", "calibrate", cut_clip, "-o", out, "--codec", "vp9",
                        "--max-frames", "20", "--x264-crfs", "14,24,34,44", "--codec-crfs", "16,30,44,58"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert d["key"] == "vp9" and d["encoder"] == "libvpx-vp9" and set(d["curves"]) == {cut_clip.name}
    assert [c for c, _ in d["curves"][cut_clip.name]["vp9"]] == [16, 30, 44, 58]
    a, b = load_scale(out, "vp9")
    assert b > 0 and d["points"] >= 2
    # each curve falls as its CRF rises: a scorer or a grid mix-up would show here
    for curve in d["curves"][cut_clip.name].values():
        v = [q for _, q in curve]
        assert v[0] > v[-1]

    enc = tmp_path / "o.webm"
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", cut_clip, enc, "--codec", "vp9", "--calibration",
                        out, "--json", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["codec"] == "vp9" and enc.stat().st_size == res["bytes"]
    assert res["start"]["codec_scale"] == {"x264_to_codec": pytest.approx([a, b]), "from": str(out)}


def test_cli_refuses_a_scale_for_another_codec_before_any_work(cut_clip, tmp_path):
    cal = _scale_file(tmp_path / "av1.json", key="av1", codec="av1")
    for args in (["--codec", "vp9"], ["--codec", "x265"], []):
        r = subprocess.run([sys.executable, "-m", "jndenc", "encode", cut_clip, tmp_path / "o.mkv", *args,
                            "--calibration", cal], capture_output=True, text=True)
        assert r.returncode == 2 and "calibrates av1" in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "o.mkv").exists()
    r = subprocess.run([sys.executable, "-m", "jndenc", "calibrate", cut_clip, "-o", tmp_path / "x.json", "--codec",
                        "vp9", "--encoder", "libaom-av1"], capture_output=True, text=True)
    assert r.returncode == 2 and "--encoder" in r.stderr and not (tmp_path / "x.json").exists()
