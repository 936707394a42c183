"""The Python API as a pipeline author calls it: several encodes in one process, scripts, paths (real FFmpeg
encodes of tiny generated clips, no mocks)."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

import jndenc
from conftest import ffmpeg


def four_shots(path: Path) -> Path:
    """4 s, 25 fps, 320x240 (measurable by VMAF), four one-second shots with hard cuts."""
    srcs = ["testsrc2=size=320x240:rate=25:duration=1", "mandelbrot=size=320x240:rate=25,trim=duration=1",
            "testsrc2=size=320x240:rate=25:duration=1,hue=h=90",
            "mandelbrot=size=320x240:rate=25:start_scale=0.1,trim=duration=1"]
    args = [a for s in srcs for a in ("-f", "lavfi", "-i", s)]
    graph = "".join(f"[{i}:v]format=yuv420p,setsar=1[v{i}];" for i in range(4)) + \
        "".join(f"[v{i}]" for i in range(4)) + "concat=n=4:v=1:a=0[v]"
    ffmpeg(*args, "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10",
           str(path))
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return four_shots(tmp_path_factory.mktemp("api_audit") / "four.mp4")


def test_an_interrupted_encode_leaves_another_threads_encode_running(clip, tmp_path):
    """Two encodes in two threads of one process: stopping one (an interrupt, a failed shot) killed every FFmpeg
    the process ran, so the other failed with 'FFmpeg stopped while encoding shot ...'."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    other: dict = {}

    def encode_b() -> None:
        try:
            other["result"] = jndenc.encode(clip, tmp_path / "b" / "b.mp4", jobs=1)
        except BaseException as exc:  # noqa: BLE001 - what the thread met is the test's answer
            other["error"] = exc

    def interrupt_a_in_its_loop() -> None:
        deadline = time.monotonic() + 30
        while not list((tmp_path / "a").glob(".jndenc-segments-*")) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # its shots' FFmpeg running side by side (jobs=2), and B's
        os.kill(os.getpid(), signal.SIGINT)

    b = threading.Thread(target=encode_b)
    b.start()
    time.sleep(0.3)
    threading.Thread(target=interrupt_a_in_its_loop, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        jndenc.encode(clip, tmp_path / "a" / "a.mp4", jobs=2)
    b.join()
    assert "error" not in other, other.get("error")
    assert (tmp_path / "b" / "b.mp4").stat().st_size == other["result"].bytes
    assert os.listdir(tmp_path / "a") == []  # the interrupted one left nothing


def test_options_given_as_a_dict_is_a_type_error_that_says_how(clip, tmp_path):
    """encode(src, dst, {"effort": "fast"}) failed with "'dict' object has no attribute 'outputs'"."""
    with pytest.raises(TypeError, match=r"EncodeOptions.*from_kwargs|\*\*"):
        jndenc.encode(clip, tmp_path / "o.mp4", {"effort": "fast"})


def test_a_string_where_a_flag_goes_is_a_type_error_and_the_output_is_untouched(clip, tmp_path):
    """overwrite="no" (a string from a config file) is truthy: it replaced the existing output."""
    dst = tmp_path / "o.mp4"
    dst.write_bytes(b"keep me")
    with pytest.raises(TypeError, match="overwrite"):
        jndenc.encode(clip, dst, effort="fast", overwrite="no")
    assert dst.read_bytes() == b"keep me"
    for kw in ({"verify": "yes"}, {"resume": 1}, {"quiet": "false"}, {"ensure": "on"}):
        with pytest.raises(TypeError, match=next(iter(kw))):
            jndenc.EncodeOptions.from_kwargs(**kw)
    with pytest.raises(TypeError, match="overwrite"):
        jndenc.EncodeOptions().with_(overwrite="yes")


def test_shot_options_of_the_wrong_type_is_refused_before_any_work(clip, tmp_path):
    """A dict for shot_options failed after the probe, deep in the analysis ('dict' object has no attribute ...)."""
    with pytest.raises(TypeError, match="shot_options"):
        jndenc.EncodeOptions.from_kwargs(shot_options={"min_shot_seconds": 1.0})
    with pytest.raises(TypeError, match="shot_options"):
        jndenc.plan(clip, shot_options={"min_shot_seconds": 1.0})


@pytest.mark.parametrize("kw", [{"sample_every": 0}, {"sample_every": -3}, {"workers": 0}, {"trial_seconds": -1.0},
                                {"max_trials": 0}])
def test_a_value_the_cli_refuses_is_refused_by_the_api_before_any_work(clip, tmp_path, kw):
    """The CLI's flags hold these to a range (IntRange(1), FloatRange(0)); the API ran them: sample_every=-3 sampled
    backwards and changed the CRFs, trial_seconds=-1 failed deep in search mode naming a temp trial file."""
    with pytest.raises(jndenc.UserError, match=next(iter(kw))):
        jndenc.encode(clip, tmp_path / "o.mp4", mode="search" if "trial" in next(iter(kw)) else "predict", **kw)
    assert os.listdir(tmp_path) == []


def test_two_threads_writing_one_output_do_not_share_a_temp_file(clip, tmp_path):
    """Two threads encoding to the same output (as two processes may): the temp file beside it was named by the
    process only, so both FFmpegs wrote one file and one encode failed with 'FFmpeg failed while encoding'."""
    dst = tmp_path / "same.mp4"
    got: dict = {}

    def go(k: str) -> None:
        try:
            got[k] = jndenc.encode(clip, dst, effort="fast", overwrite=True).bytes
        except BaseException as exc:  # noqa: BLE001 - what the thread met is the test's answer
            got[k] = exc

    threads = [threading.Thread(target=go, args=(k,)) for k in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(v, int) for v in got.values()), got
    assert dst.stat().st_size == got["a"] == got["b"]
    assert os.listdir(tmp_path) == ["same.mp4"]


BATCH_SCRIPT = '''import json, sys
import jndenc
{guard}
    run = jndenc.batch.run([sys.argv[1]], sys.argv[2], jobs=1, effort="fast")
    print(json.dumps([r.status for r in run]))
'''


def test_the_readme_says_a_batch_script_needs_the_main_guard_and_that_is_so(clip, tmp_path):
    """The README's batch example, saved as a script, failed ('the worker process died while encoding this file'):
    each spawned worker imports the script again and reran it. With the guard the README now names, it runs."""
    import re
    import subprocess
    import sys

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"# many files: the API behind `jndenc batch`.*?\n(?=run = )", readme, re.S)
    assert block and 'if __name__ == "__main__":' in block.group(0)
    status = {}
    for guard in ("if True:", 'if __name__ == "__main__":'):
        script = tmp_path / "pipeline.py"
        script.write_text(BATCH_SCRIPT.format(guard=guard))
        out = tmp_path / f"out{len(status)}"
        p = subprocess.run([sys.executable, str(script), str(clip), str(out)],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
        status[guard] = p.stdout.strip().splitlines()[-1:]
    assert status == {"if True:": ['["failed"]'], 'if __name__ == "__main__":': ['["done"]']}
