"""The `--json` contract as pipeline glue reads it (README, "Machine-readable output" and "Errors and exit codes"):
one JSON document on stdout, the promised keys with their documented meaning, no NaN, and the documented exit
code with nothing on stdout on a failure. Real encodes of tiny generated clips, run as a user runs them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ffmpeg


def jndenc(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jndenc", *map(str, args)], capture_output=True, text=True)


def one_document(r: subprocess.CompletedProcess, rc: int = 0) -> dict:
    """stdout holds exactly one JSON document, which strict parsers read (no NaN or Infinity)."""
    assert r.returncode == rc, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout

    def refuse(const):
        raise AssertionError(f"{const} in the JSON: {r.stdout}")

    return json.loads(lines[0], parse_constant=refuse)


@pytest.fixture(scope="module")
def two_shots(tmp_path_factory) -> Path:
    """3 s, 160x120, 25 fps: a cut at frame 38 (two shots), no audio."""
    path = tmp_path_factory.mktemp("audit") / "two.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1.5",
           "-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=25",
           "-filter_complex", "[1]trim=duration=1.5,setpts=PTS-STARTPTS[m];[0][m]concat=n=2:v=1:a=0",
           "-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p", str(path))
    return path


@pytest.mark.parametrize("codec, suffix", [("av1", ".mkv"), ("vp9", ".webm")])
def test_compare_crf_runs_on_the_loop_only_codecs(two_shots, tmp_path, codec, suffix):
    # README: --compare-crf is "a plain fixed-CRF encode of the same input, same codec and preset"; on AV1 and VP9
    # it failed as an internal error (exit 1, no JSON) after the output had been written
    out = tmp_path / f"out{suffix}"
    d = one_document(jndenc("encode", two_shots, out, "--codec", codec, "--compare-crf", 35, "--json"))
    c = d["compare"]
    assert c["codec"] == codec and c["crf"] == 35.0
    assert c["video_bytes"] > 0 and c["jndenc_video_bytes"] > 0
    assert [s["vmaf"]["mean"] > 0 for s in c["shots"]] == [True, True]
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # the reference is deleted


def test_reference_args_encode_with_the_encoder_of_the_codec():
    from jndenc.reference import reference_args

    args = reference_args("in.mp4", "ref.mkv", codec="av1", preset="medium", crf=35, encoder="libaom-av1")
    assert args[args.index("-c:v") + 1] == "libaom-av1" and args[args.index("-crf") + 1] == "35"
    args = reference_args("in.mp4", "ref.mkv", codec="vp9", preset="medium", crf=31)
    assert args[args.index("-c:v") + 1] == "libvpx-vp9" and args[args.index("-b:v") + 1] == "0"


def test_measured_compare_time_ratio_leaves_out_verification(two_shots, tmp_path):
    # README: jndenc_time_ratio is "jndenc's analysis + encode + validation time over the plain encode's"; the
    # measured efforts counted the --verify pass in it too (the one-pass paths leave it out)
    d = one_document(jndenc("encode", two_shots, tmp_path / "out.mp4", "--verify", "--compare-crf", 23, "--json"))
    cost, c = d["cost"], d["compare"]
    produced = sum(cost[k]["wall_s"] for k in ("analysis", "attempts", "join", "validate"))
    counted = c["jndenc_time_ratio"] * c["encode_s"]
    assert cost["verify"]["wall_s"] > 0.02
    assert abs(counted - produced) < cost["verify"]["wall_s"] / 2, (counted, produced, cost)
    assert d["verify"]["measured"] == "output"  # --verify measured the finished file


def test_the_loops_own_readings_are_not_called_a_verification(two_shots, tmp_path):
    # without --verify the measured efforts report the loop's readings of the kept segments in "verify": a
    # pipeline gating on it took them for a check of the finished file
    d = one_document(jndenc("encode", two_shots, tmp_path / "out.mp4", "--json"))
    assert d["verify"]["measured"] == "segments" and "verify_s" not in d["timings"]
    assert any(n.startswith("per-shot VMAF is the loop's measurement") for n in d["notes"])


def test_measured_cost_total_has_cpu_seconds(two_shots, tmp_path):
    # README: "cost" gives "wall and CPU seconds of analysis, the attempts, join, validation, and the total"
    d = one_document(jndenc("encode", two_shots, tmp_path / "out.mp4", "--json"))
    total = d["cost"]["total"]
    assert total["wall_s"] == d["timings"]["total_s"]
    assert isinstance(total["cpu_s"], float) and total["cpu_s"] >= d["cost"]["analysis"]["cpu_s"]


@pytest.mark.parametrize("extra", [[], ["--effort", "thorough"], ["--effort", "fast"], ["--mode", "predict"],
                                   ["--mode", "probe"], ["--crf", "23", "--verify"]])
def test_encode_json_is_one_document_consistent_with_the_output(two_shots, tmp_path, extra):
    from jndenc.media.decode import count_packets

    out = tmp_path / "out.mp4"
    r = jndenc("encode", two_shots, out, "--json", *extra)
    d = one_document(r)
    assert r.stderr == ""
    for key, kind in (("input", str), ("output", str), ("mode", str), ("codec", str), ("encoder", str),
                      ("preset", str), ("frames", int), ("bytes", int), ("bitrate_kbps", float), ("shots", list),
                      ("timings", dict)):
        assert isinstance(d[key], kind), key
    assert {"analysis_s", "encode_s", "total_s"} <= set(d["timings"])
    assert d["bytes"] == out.stat().st_size and d["frames"] == count_packets(out).frames == 76
    assert [(s["start_frame"], s["end_frame"]) for s in d["shots"]] == [(0, 38), (38, 76)]
    if d.get("loop"):
        band = d["loop"]["band"]
        for s in d["shots"]:
            kept = s["attempts"][s["kept"]]
            assert kept["crf"] == s["crf"]
            inside = band["low"] <= kept["vmaf"] <= band["high"]
            assert (s["outcome"] == "in_band") == inside
        assert d["loop"]["attempts"] == sum(len(s["attempts"]) for s in d["shots"])
        assert d["zones"] is None  # segments: each shot its own encode
    elif "--crf" not in extra:
        # the x264 zones string, as `jndenc predict --json` gives it (it was a count here, a string there)
        zones = [z.split(",") for z in d["zones"].split("/")]
        assert [(int(a), int(b) + 1) for a, b, _ in zones] == [(0, 38), (38, 76)]
        assert [float(c.removeprefix("crf=")) for _, _, c in zones] == [s["crf"] for s in d["shots"]]


def test_passes_are_listed_only_where_ensure_re_encoded(two_shots, tmp_path):
    # README: "passes" appear where --ensure/--tighten re-encoded; a first pass with nothing to correct adds none
    # (at --confidence 0.9 predict mode plans both shots well above the target here: nothing to lower)
    d = one_document(jndenc("encode", two_shots, tmp_path / "a.mp4", "--mode", "predict", "--ensure", "--json"))
    assert d["verify"]["shots_below_target"] == 0 and "passes" not in d
    # --crf 30 leaves the mandelbrot shot far below the target: --ensure re-encodes it
    d = one_document(jndenc("encode", two_shots, tmp_path / "b.mp4", "--crf", 30, "--ensure", "--json"))
    assert len(d["passes"]) >= 2 and sum(p["kept"] for p in d["passes"]) == 1
    kept = next(p for p in d["passes"] if p["kept"])
    assert kept["bytes"] == d["bytes"] and kept["crf"] == [s["crf"] for s in d["shots"]]


def test_a_shot_the_loop_only_bounds_has_a_null_label(tmp_path):
    # README: the start block's label of a shot whose attempts only bound its aim (clamped at --max-crf) is null
    src = tmp_path / "black.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=black:size=160x120:rate=25:duration=2", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(src))
    d = one_document(jndenc("encode", src, tmp_path / "out.mp4", "--max-crf", 20, "--json"))
    assert [s["outcome"] for s in d["shots"]] == ["clamped"] and d["shots"][0]["crf"] == 20.0
    assert d["start"]["labels"] == [None] and d["start"]["shots"] == 0 and d["start"]["start_mae"] is None


def test_over_size_names_both_sizes_and_passes_what_fits():
    from jndenc.output import over_size

    assert over_size(81, 100, 80) is not None
    assert over_size(80, 100, 80) is over_size(10**9, 100, None) is over_size(5, 0, 50) is None  # 0: nothing to hold to
    why = over_size(1_500_000, 2_000_000, 50)
    assert why == "its video came out at 1.5 MB, 75% of the input's 2 MB, over --max-size 50%: nothing written"
    assert over_size(1_500_000, 2_000_000, 50, shots=(3, 8)).startswith("its video reached 1.5 MB after 3 of 8 shots")


@pytest.mark.parametrize("extra", [[], ["--effort", "fast"]])
def test_max_size_writes_nothing_and_exits_4_where_the_output_would_not_shrink(two_shots, tmp_path, extra):
    # a library transcode must not replace a file by a larger one: the loop's and the one-pass path's output
    # are checked against the input's video stream before the rename
    out = tmp_path / "out.mp4"
    r = jndenc("encode", two_shots, out, "--json", "--max-size", 1, *extra)
    # exit 4 is an answer a pipeline acts on (keep the source): --json still prints its figures
    refused = one_document(r, rc=4)
    import av

    with av.open(str(two_shots)) as f:
        in_bytes = sum(p.size for p in f.demux(video=0) if p.size)
    assert refused["status"] == "over_size" and refused["written"] is False and refused["output"] == str(out)
    assert refused["input_video_bytes"] == in_bytes and refused["max_size"] == 1
    assert refused["video_bytes"] * 100 > in_bytes and refused["message"] in r.stderr
    assert (refused["shots_finished"], refused["shots"]) == ((None, None) if extra else (1, 2))
    # the loop stops once its finished shots alone are over (the other shot is never finished); one pass cannot
    said = "its video came out at " if extra else "its video reached "
    assert r.stderr.startswith(f"jndenc: error: {out}: {said}") and r.stderr.count("\n") == 1
    assert ("after 1 of 2 shots" in r.stderr) != bool(extra)
    assert "over --max-size 1%: nothing written" in r.stderr
    assert list(tmp_path.iterdir()) == []  # no output, no temp file
    d = one_document(jndenc("encode", two_shots, out, "--json", "--max-size", 1000, *extra))
    assert out.exists() and d["bytes"] == out.stat().st_size


def test_over_size_keeps_its_figures_through_pickling():
    # a Dask client and the batch's worker processes receive the refusal pickled: its figures must survive
    import pickle

    from jndenc.errors import OverSize
    from jndenc.output import refuse_over

    with pytest.raises(OverSize) as caught:
        refuse_over(900, (1000, 80), Path("o.mp4"), shots=(2, 5))
    back = pickle.loads(pickle.dumps(caught.value))
    assert back.to_dict() == caught.value.to_dict()
    assert back.to_dict()["video_bytes"] == 900 and back.shots == (2, 5) and str(back).startswith("o.mp4: ")
    refuse_over(800, (1000, 80), Path("o.mp4"))  # at the limit: written
