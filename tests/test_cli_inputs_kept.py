"""The secondary commands never write over what they read, and say a bad value in one line (an audit of `train`,
`test`, `calibrate`, `dataset` and `export`; each test failed on the old code)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ffmpeg


def jndenc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jndenc", *args], capture_output=True, text=True, timeout=300)


def one_line_refusal(p: subprocess.CompletedProcess, said: str) -> None:
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and said in lines[0] and "internal error" not in lines[0], p.stderr


@pytest.fixture()
def dataset(tmp_path) -> Path:
    """A seed-layout dataset of two images a split, and a weights file (its contents never read)."""
    import cv2

    for split in ("train", "valid", "test"):
        d = tmp_path / "ds" / split
        d.mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(d / f"img{i}.png"), np.full((48, 64, 3), 40 * i + 20, np.uint8))
        (d / "JND-Levels.txt").write_text("24 29 32\n26 30 34\n")
    (tmp_path / "w.keras").write_bytes(b"weights")
    return tmp_path / "ds"


def test_test_writes_no_result_over_its_labels_images_or_weights(dataset, tmp_path):
    """`--result_path` over the split's label file wrote predictions there (the next run failed), over the weights
    or an image replaced them with CSV."""
    for target in (dataset / "test" / "JND-Levels.txt", dataset / "test" / "img0.png", tmp_path / "w.keras"):
        before = target.read_bytes()
        p = jndenc("test", "--data_dir", str(dataset), "--model_weights_path", str(tmp_path / "w.keras"),
                   "--result_path", str(target))
        one_line_refusal(p, "which this command reads")
        assert target.read_bytes() == before


def test_train_writes_no_log_over_its_labels_or_its_checkpoint(dataset, tmp_path):
    labels = dataset / "train" / "JND-Levels.txt"
    p = jndenc("train", "--model", "compact", "--data_dir", str(dataset), "--checkpoint_path",
               str(tmp_path / "r" / "m.keras"), "--csv_log_path", str(labels), "--epochs", "1")
    one_line_refusal(p, "which this command reads")
    assert labels.read_text() == "24 29 32\n26 30 34\n"
    p = jndenc("train", "--model", "compact", "--data_dir", str(dataset), "--checkpoint_path",
               str(tmp_path / "m.keras"), "--csv_log_path", str(tmp_path / "m.keras"), "--epochs", "1")
    one_line_refusal(p, "the log would replace the weights")
    assert not (tmp_path / "m.keras").exists()


def test_calibrate_writes_no_fit_over_a_clip(tmp_path):
    clip = tmp_path / "a.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1", "-pix_fmt", "yuv420p", str(clip))
    before = clip.read_bytes()
    p = jndenc("calibrate", str(clip), "-o", str(clip), "--x264-crfs", "23,33", "--max-frames", "10")
    one_line_refusal(p, "which this command reads")
    assert clip.read_bytes() == before


@pytest.mark.parametrize("command", [["dataset", "derive", "--derive", "scale:0.5", "--min-side", "16"],
                                     ["dataset", "build", "--workers", "1"]])
def test_two_clips_of_one_name_are_refused(tmp_path, command):
    """Images, labels and derived copies are named by the clip's name: `build` put one clip's frame under the other's
    labels, in two splits; `derive` made one copy for the two."""
    for d, ext in (("a", "mp4"), ("b", "mkv")):
        (tmp_path / d).mkdir()
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1", "-pix_fmt", "yuv420p",
               str(tmp_path / d / f"c0.{ext}"))
    sub, *opts = command[1:]
    p = jndenc(command[0], sub, str(tmp_path / "a" / "c0.mp4"), str(tmp_path / "b" / "c0.mkv"),
               str(tmp_path / "out"), *opts)
    one_line_refusal(p, "share the name 'c0'")


@pytest.mark.parametrize("size", ["0x0", "-160x120", "161x121"])
def test_a_synthetic_clip_size_is_checked(tmp_path, size):
    """0x0 failed inside OpenCV as an internal error, an odd size as FFmpeg's "Conversion failed!"."""
    p = jndenc("dataset", "synth", str(tmp_path / "s"), "--size", size)
    assert p.returncode == 2 and "even width and height" in p.stderr and "internal error" not in p.stderr


def test_a_label_beyond_any_quantiser_is_refused(tmp_path):
    """A label of 1e9 trained to a NaN loss, wrote no checkpoint and exited 0."""
    from jndenc.errors import UserError
    from jndenc.training.data import read_labels

    f = tmp_path / "JND-Levels.txt"
    f.write_text("25 30 35\n25 30 1e9\n")
    with pytest.raises(UserError, match=r":2: label '1e9' is outside 0..255"):
        read_labels(f, ["a.png", "b.png"])


def test_a_training_run_record_is_strict_json():
    from jndenc.fileio import json_safe
    doc = json.dumps(json_safe({"val_loss": float("nan"), "mae": [1.5, float("inf")]}), allow_nan=False)
    assert json.loads(doc) == {"val_loss": None, "mae": [1.5, None]}


def test_a_keras_mismatch_is_said_in_one_line():
    from jndenc.errors import first_line
    exc = ValueError("A total of 22 objects could not be loaded.\nList of objects: [<Conv2D ...>,\n ...]")
    assert first_line(exc) == "A total of 22 objects could not be loaded."


def test_a_rebuild_with_other_search_options_is_refused(tmp_path):
    """Labels are journaled by clip and shot: a rebuild with --metric psnr kept the VMAF labels while dataset.json
    said PSNR."""
    (tmp_path / "clips").mkdir()
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-pix_fmt", "yuv420p",
           str(tmp_path / "clips" / "a.mp4"))
    base = ["dataset", "build", str(tmp_path / "clips"), str(tmp_path / "ds"), "--workers", "1", "--trial-seconds",
            "1", "--preset", "ultrafast", "-q"]
    assert jndenc(*base).returncode == 0
    labels = (tmp_path / "ds" / "dataset.json").read_text()
    one_line_refusal(jndenc(*base, "--metric", "psnr", "--thresholds", "45,40,35"), "other search options")
    assert (tmp_path / "ds" / "dataset.json").read_text() == labels
    assert jndenc(*base).returncode == 0  # the same options: a rerun as before


def test_a_rerun_says_which_generated_files_it_kept(tmp_path):
    """A rerun at another --size or --seconds listed every file as if written (or said nothing), each as it was."""
    args = ["dataset", "synth", str(tmp_path / "s"), "--seconds", "0.5", "--per-kind", "1"]
    assert "kept" not in jndenc(*args, "--size", "160x120").stdout
    again = jndenc(*args, "--size", "320x240").stdout.splitlines()
    assert again and all(line.endswith("kept as it is (remove it to make it again)") for line in again)
    (tmp_path / "c").mkdir()
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-pix_fmt", "yuv420p",
           str(tmp_path / "c" / "a.mp4"))
    derive = ["dataset", "derive", str(tmp_path / "c"), str(tmp_path / "d"), "--derive", "scale:0.5", "--min-side",
              "16"]
    assert jndenc(*derive, "--seconds", "1").returncode == 0
    assert "a~scale50.mkv: kept as it is (1.0 s" in jndenc(*derive, "--seconds", "2").stdout


def test_messages_name_what_is_missing(tmp_path):
    from jndenc.calibrate import load_scale
    from jndenc.errors import UserError
    from jndenc.training.data import read_labels

    with pytest.raises(UserError, match="no such calibration file"):  # "not a calibration file (FileNotFoundError"
        load_scale(tmp_path / "nope.json", "vp9")
    (tmp_path / "JND-Levels.txt").write_text("")
    with pytest.raises(UserError, match=r"JND-Levels.txt: fewer label lines \(0\)"):  # ":0:", a line 0
        read_labels(tmp_path / "JND-Levels.txt", ["a.png"])


def test_predict_refuses_json_with_another_format(tmp_path):
    """--json silently replaced the --format asked for."""
    clip = tmp_path / "a.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-pix_fmt", "yuv420p", str(clip))
    p = jndenc("predict", str(clip), "--json", "--format", "x264-zones")
    assert p.returncode == 2 and "choose one" in p.stderr
    assert json.loads(jndenc("predict", str(clip), "--json", "--format", "json", "-q").stdout)["frames"] == 25


def test_train_quiet_prints_only_its_result(dataset, tmp_path):
    p = jndenc("train", "--model", "compact", "--linear-only", "--data_dir", str(dataset), "--checkpoint_path",
               str(tmp_path / "m.keras"), "--epochs", "1", "-q")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines() == [p.stdout.strip()] and "weights:" in p.stdout and "Epoch" not in p.stdout
