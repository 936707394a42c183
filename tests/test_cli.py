"""The CLI as a user runs it: subprocesses, exit codes, stderr lines, the JSON contract."""
import hashlib
import json
import subprocess
import sys

import pytest


def jndenc(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "jndenc", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_encode_json_contract(cut_clip, tmp_path):
    out = tmp_path / "o.mp4"
    r = jndenc("encode", cut_clip, out, "--crf", "26", "--preset", "ultrafast", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in ("input", "output", "mode", "codec", "encoder", "preset", "frames", "bytes", "bitrate_kbps", "shots",
                "timings"):
        assert key in d
    assert d["encoder"] == "libx264" and d["preset"] == "ultrafast"
    assert d["frames"] == 150 and d["bytes"] == out.stat().st_size and d["mode"] == "crf"
    assert [(s["start_frame"], s["end_frame"]) for s in d["shots"]] == [(0, 50), (50, 100), (100, 150)]
    assert all(s["crf"] == 26 and "jnd" in s for s in d["shots"])
    assert set(d["timings"]) >= {"analysis_s", "encode_s", "total_s"}


@pytest.mark.parametrize("make,needle", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "directory"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(b"\x00\x01garbage" * 500), "not a video"),
])
def test_bad_input_exit_2_one_line(tmp_path, make, needle):
    src = tmp_path / "in.mp4"
    make(src)
    _refused_in_one_line(src, tmp_path, needle)


def test_raw_yuv_is_refused_with_how_to_wrap_it(tmp_path):
    src = tmp_path / "in.yuv"
    src.write_bytes(bytes(160 * 120 * 3 // 2) * 5)  # five blank 4:2:0 frames, nothing saying so
    _refused_in_one_line(src, tmp_path, "Y4M")


def _refused_in_one_line(src, tmp_path, needle):
    r = jndenc("encode", src, tmp_path / "o.mp4", "--crf", "23")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("name,needle", [("o.xyz", "not .xyz"), ("o", "this name has none"), ("o.flv", "not .flv")])
def test_output_extension_without_a_container_is_refused_before_any_work(cut_clip, tmp_path, name, needle):
    """An extension FFmpeg has no muxer for (or one jndenc does not write) once failed
    late with a message naming a temp file; it is refused up front, naming the user's file."""
    r = jndenc("encode", cut_clip, tmp_path / name, "-q")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and needle in lines[0] and str(tmp_path / name) in lines[0]
    assert ".tmp" not in lines[0] and list(tmp_path.iterdir()) == []


def test_a_file_cut_after_its_first_frame_encodes_that_frame_and_says_it_was_cut(tmp_path):
    """The first 20 kB of the shipped demo: one frame decodes. The first shot is decoded from the start (a seek to
    its first frame's time found nothing in this file, and the encode failed as 'damaged'): the output holds the
    frame there is, and the notes say the file looks cut short."""
    from importlib import resources

    src = tmp_path / "cut.mkv"
    src.write_bytes((resources.files("jndenc") / "assets" / "demo.mkv").read_bytes()[:20000])
    r = jndenc("encode", src, tmp_path / "o.mp4", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["frames"] == 1 and any("may be cut short" in n for n in d["notes"])


def test_ffmpeg_decoding_nothing_reads_as_a_damaged_input():
    # the loop's frames come from jndenc's own decode of the input: an FFmpeg that decodes none of them means a
    # damaged file, said in one line as a user error, not an encoder failure
    from jndenc.errors import InputError
    from jndenc.media.runner import _failure

    err = _failure(["ffmpeg"], "[out#0/matroska] Output file is empty, nothing was encoded\n", "encoding shot 0 of x",
                   keep_log=False)
    assert isinstance(err, InputError) and "damaged or cut short" in str(err) and "log:" not in str(err)


def test_tighten_without_verify_is_a_user_error(cut_clip, tmp_path):
    r = jndenc("encode", cut_clip, tmp_path / "o.mp4", "--crf", "23", "--tighten", "--no-verify")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--no-verify" in r.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_output_equal_input_refused(cut_clip):
    before = hashlib.sha256(cut_clip.read_bytes()).hexdigest()
    r = jndenc("encode", cut_clip, cut_clip, "--crf", "23", "-y")
    assert r.returncode == 2 and "input" in r.stderr
    assert hashlib.sha256(cut_clip.read_bytes()).hexdigest() == before


def test_invalid_plan_exit_2(cut_clip, tmp_path):
    plan = tmp_path / "p.json"
    assert jndenc("encode", cut_clip, tmp_path / "a.mp4", "--crf", "30", "--preset", "ultrafast",
                  "--plan-out", plan, "-q").returncode == 0
    d = json.loads(plan.read_text())
    d["zones"][0]["crf"] = -4
    plan.write_text(json.dumps(d))
    r = jndenc("encode", cut_clip, tmp_path / "b.mp4", "--plan", plan)
    assert r.returncode == 2 and "CRF -4" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.mp4").exists()


def test_a_plan_replayed_onto_another_clip_names_the_one_it_was_made_for(cut_clip, plain_clip, tmp_path):
    plan = tmp_path / "p.json"
    assert jndenc("encode", cut_clip, tmp_path / "a.mp4", "--crf", "30", "--preset", "ultrafast",
                  "--plan-out", plan, "-q").returncode == 0
    assert not list(tmp_path.glob(".*tmp"))  # the plan was written whole, under its own name
    r = jndenc("encode", plain_clip, tmp_path / "b.mp4", "--plan", plan)
    assert r.returncode == 2 and f"made for {cut_clip}" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.mp4").exists()


def test_doctor():
    r = jndenc("doctor")
    assert r.returncode == 0
    assert "libx264" in r.stdout and "MISSING" not in r.stdout
    assert "libsvtav1" in r.stdout and "libvpx-vp9" in r.stdout


def test_doctor_names_a_weights_variable_that_points_nowhere(tmp_path):
    import os

    missing = tmp_path / "w.keras"
    r = subprocess.run([sys.executable, "-m", "jndenc", "doctor"], capture_output=True, text=True,
                       env=dict(os.environ, JNDENC_WEIGHTS=str(missing)))
    assert r.returncode == 0 and f"JNDENC_WEIGHTS names {missing}" in r.stdout, r.stdout


def test_a_reader_that_goes_away_stops_it_quietly():
    """`jndenc doctor | head -1`: a closed pipe ends the command with SIGPIPE's status and nothing on stderr."""
    import os

    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first line is written
    try:
        p = subprocess.run([sys.executable, "-m", "jndenc", "doctor"], stdout=w, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(w)
    assert p.returncode == 141 and p.stderr == ""


def test_debug_shows_traceback(tmp_path):
    r = jndenc("encode", tmp_path / "none.mp4", tmp_path / "o.mp4", "--crf", "23", "--debug")
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_predict_applies_the_planner_options_it_lists(cut_clip):
    """`predict --help` lists planner options; they decide the CRF column and the "crf" keys."""
    import math

    from jndenc.predictor import default_weights_path

    if default_weights_path() is None:
        pytest.skip("no default weights")
    r = jndenc("predict", cut_clip, "--json", "--target-jnd", "2", "--margin", "0", "--min-crf", "14",
               "--max-crf", "27")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert {"input", "frames", "fps", "model", "shots"} <= set(d)  # the README's contract keeps its keys
    for s in d["shots"]:
        assert {"start_frame", "end_frame", "jnd"} <= set(s)
        j = s["jnd"][1]  # rounded to 0.01 in the JSON: either side of an integer is possible
        assert s["crf"] in {min(27, max(14, math.floor(x))) for x in (j - 0.005, j + 0.005)}, s
    assert d["plan_options"]["target_jnd"] == 2 and d["plan_options"]["max_crf"] == 27
    table = jndenc("predict", cut_clip, "--target-jnd", "2", "--margin", "0", "--min-crf", "14", "--max-crf", "27")
    assert table.returncode == 0, table.stderr
    rows = [ln.split() for ln in table.stdout.splitlines()[1:] if ln.split() and ln.split()[0].isdigit()]
    assert [float(r[-1]) for r in rows] == [s["crf"] for s in d["shots"]]


def test_encode_compare_crf_line(cut_clip, tmp_path):
    r = jndenc("encode", cut_clip, tmp_path / "o.mp4", "--crf", "28", "--preset", "ultrafast", "--compare-crf", "28")
    assert r.returncode == 0, r.stderr
    assert "vs plain x264 ultrafast crf 28: jndenc" in r.stdout and "x its encode time" in r.stdout
    bad = jndenc("encode", cut_clip, tmp_path / "p.mp4", "--compare-crf", "60")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and not (tmp_path / "p.mp4").exists()


def test_encode_help_first_screen_holds_what_most_users_need():
    from click.testing import CliRunner

    from jndenc.cli import main

    out = CliRunner().invoke(main, ["encode", "--help"], terminal_width=100).output.splitlines()
    first = "\n".join(out[:30])
    for opt in ("--effort", "--target-jnd", "--target-vmaf", "--codec", "--preset", "--json", "--verify",
                "--overwrite", "--help"):
        assert opt in first, opt
    assert any(line.startswith("Expert: one-pass modes") for line in out[30:])


_BLOCK_TF = """
import sys, importlib.abc
class _NoTF(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.split('.')[0]
        if top in ('tensorflow', 'keras'):
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)
sys.meta_path.insert(0, _NoTF())
"""


def test_encoding_needs_no_tensorflow_and_training_says_which_extra(cut_clip, tmp_path):
    """`pip install jndenc` without extras has no TensorFlow: encoding runs on LiteRT, training names the extra.
    Encoding loads nothing of `jndenc.training` either (the probe model's fitting lives there, not its runtime)."""
    code = _BLOCK_TF + (f"import jndenc; jndenc.encode({str(cut_clip)!r}, {str(tmp_path / 'o.mp4')!r}, jobs=2)\n"
                        f"jndenc.encode({str(cut_clip)!r}, {str(tmp_path / 'f.mp4')!r}, effort='fast')\n"
                        "import sys; assert not [m for m in sys.modules if m.startswith('jndenc.training')]\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "o.mp4").exists()
    code = _BLOCK_TF + ("import sys; from jndenc.cli import main; sys.argv = ['jndenc', 'train', '--model', 'compact', "
                        f"'--data_dir', {str(tmp_path)!r}, '--checkpoint_path', {str(tmp_path / 'x.keras')!r}]; main()")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 2 and "pip install 'jndenc[train]'" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("name, content, needle", [
    ("junk.keras", b"not a zip", "is not a Keras model"),
    ("model.tflite", b"TFL3", "pass the .keras"),
])
def test_encode_with_weights_that_are_not_a_model_is_one_line(cut_clip, tmp_path, name, content, needle):
    """A file with a valid sidecar but no model in it (a failed copy, the exported .tflite itself) was an internal
    BadZipFile error."""
    import shutil
    from pathlib import Path

    weights = tmp_path / name
    weights.write_bytes(content)
    shipped = Path(__file__).resolve().parents[1] / "weights" / "jndenc_compact.keras.json"
    shutil.copy(shipped, tmp_path / f"{name}.json")
    r = jndenc("encode", cut_clip, tmp_path / "o.mp4", "--weights", weights, "--mode", "predict")
    assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_pipes_are_refused_with_why(cut_clip, tmp_path):
    r = subprocess.run([sys.executable, "-m", "jndenc", "encode", "-", tmp_path / "o.mp4"], input=b"\x00" * 100,
                       capture_output=True)
    assert r.returncode == 2 and b"must be a file" in r.stderr and b"Traceback" not in r.stderr
    for out in ("-", "/dev/stdout"):
        r = jndenc("encode", cut_clip, out)
        assert r.returncode == 2 and "must be a file" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("thresholds", ["90", "80,85,90", "94,88,0", "94,94,88"])
def test_thresholds_that_define_no_jnd_levels_are_refused(cut_clip, tmp_path, thresholds):
    r = jndenc("encode", cut_clip, tmp_path / "o.mp4", "--mode", "search", "--thresholds", thresholds)
    assert r.returncode == 2 and "--thresholds" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_demo_shows_what_ran(tmp_path):
    # balanced encodes shots as measured segments: the one-pass plan's zones and arguments are not what ran
    out = tmp_path / "demo.mp4"
    r = jndenc("demo", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "ffmpeg arguments" not in r.stdout and "encodes for" in r.stdout and out.exists()
    r = jndenc("demo", "--out", out, "--mode", "predict")  # replaces its own scratch file
    assert r.returncode == 0, r.stderr
    # the plan in words among the other lines (a raw JSON line was printed there)
    assert "ffmpeg arguments: -c:v libx264" in r.stdout and "{" not in r.stdout


@pytest.mark.parametrize("args,needle", [
    (("encode", "--nosuch", "a.mp4", "b.mp4"), "jndenc: error: encode: No such option '--nosuch'"),
    (("encode",), "jndenc: error: encode: Missing argument 'IN'"),
    (("batch", "/no/such/folder", "out"), "jndenc: error: batch: Invalid value for 'INPUT_DIR_OR_MANIFEST'"),
    (("encode", "a.mp4", "b.mp4", "--effort", "quick"), "Invalid value for '--effort'"),
    (("nosuchcommand",), "jndenc: error: No such command 'nosuchcommand'"),
])
def test_usage_errors_are_one_line_too(args, needle):
    # click's own usage block (usage, a hint, a blank line, the error) broke the README's one-line promise
    r = jndenc(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("jndenc: error: ") and needle in r.stderr, r.stderr
    assert r.stderr.rstrip().endswith("--help')")
    assert r.stderr.count("jndenc") == 2  # the prefix and the help hint: the command is not named twice


def test_help_and_version_still_exit_0():
    for args in (("--help",), ("encode", "--help"), ("--version",)):
        r = jndenc(*args)
        assert r.returncode == 0 and r.stdout and r.stderr == "", (args, r.stderr)
