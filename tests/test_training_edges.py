"""Edges a researcher retraining the predictor hit: `jndenc train/test/export` on tiny real data, no mocks."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from jndenc.cli import main
from jndenc.errors import UserError
from jndenc.training import data as D

from conftest import interruptible
from test_train import make_seed_dataset

TINY = {"train": 8, "valid": 4, "test": 3}
HW = (36, 64)


def _weights(path: Path) -> list[np.ndarray]:
    """Every array of a .keras file's weights, in storage order."""
    with zipfile.ZipFile(path) as z:
        f = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
        out: list[np.ndarray] = []
        f.visititems(lambda _n, o: out.append(o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_seed_dataset(tmp_path_factory.mktemp("seed") / "d", TINY, prev=True)


@pytest.fixture(scope="module")
def linear(tiny, tmp_path_factory) -> Path:
    """A real compact checkpoint (the closed-form linear start, no epochs)."""
    from jndenc.training import train as T

    ck = tmp_path_factory.mktemp("lin") / "lin.keras"
    T.fit("compact", tiny, ck, input_shape=HW, linear_only=True, verbose=0, echo=lambda m: None)
    return ck


def _one_line_exit_2(r, *needles: str) -> None:
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jndenc: error:") and "Traceback" not in r.output, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_seed_with_augment_gives_the_same_weights(tiny, tmp_path):
    # the flip and crop drew from a stateful RNG inside a parallel map: two runs with one --seed differed
    from jndenc.training import train as T

    runs = []
    for name in ("a", "b"):
        ck = tmp_path / name / "m.keras"
        T.fit("compact", tiny, ck, epochs=2, batch_size=4, learning_rate=3e-3, seed=7, augment=True,
              input_shape=HW, verbose=0, echo=lambda m: None)
        runs.append(_weights(ck))
    assert len(runs[0]) == len(runs[1]) > 0
    for x, y in zip(*runs):
        np.testing.assert_array_equal(x, y)


def test_augmentation_is_seeded_yet_new_each_epoch(tiny):
    split = D.read_split(tiny, "train")
    frames = D.load_frames(split.directory, split.files, HW)

    def epochs(ds, n=2):
        return [np.concatenate([b[0].numpy() for b in ds]) for _ in range(n)]

    one = epochs(D.make_dataset(frames, None, None, False, 4, augment=True, seed=3))
    two = epochs(D.make_dataset(frames, None, None, False, 4, augment=True, seed=3))
    plain = np.concatenate([b[0].numpy() for b in D.make_dataset(frames, None, None, False, 4)])
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(one[0], one[1])  # the second epoch sees other flips and crops
    assert not np.array_equal(one[0], plain)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_file_that_is_not_a_model_is_a_user_error(tiny, linear, tmp_path, suffix):
    # test, export and train --resume failed with "internal error: BadZipFile" / "OSError" (exit 1)
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(b"these are not weights\n")
    # the sidecar of a real model beside it, as when a copy was cut short
    (tmp_path / f"bad{suffix}.json").write_text(Path(str(linear) + ".json").read_text())
    runner = CliRunner()
    r = runner.invoke(main, ["test", "--model", "compact", "--data-dir", str(tiny), "--model-weights-path", str(bad),
                             "--result-path", str(tmp_path / "r.csv")])
    _one_line_exit_2(r, str(bad), "is not")
    assert not (tmp_path / "r.csv").exists()
    r = runner.invoke(main, ["export", str(bad)])
    _one_line_exit_2(r, str(bad), "is not")
    r = runner.invoke(main, ["train", "--model", "compact", "--data-dir", str(tiny), "--checkpoint-path", str(bad),
                             "--input-size", "36x64", "--epochs", "2", "--resume"])
    _one_line_exit_2(r, str(bad), "is not")


def test_a_truncated_keras_file_is_a_user_error(linear, tmp_path):
    cut = tmp_path / "cut.keras"
    cut.write_bytes(linear.read_bytes()[: linear.stat().st_size // 2])
    from jndenc.models.io import check_weights_file

    with pytest.raises(UserError, match="cut.keras is not a Keras model"):
        check_weights_file(cut)


def test_export_into_a_missing_folder_is_refused_before_converting(linear, tmp_path):
    # the converter's temp file failed to open: "internal error: FileNotFoundError"
    out = tmp_path / "no" / "such" / "m.tflite"
    r = CliRunner().invoke(main, ["export", str(linear), "-o", str(out)])
    _one_line_exit_2(r, "does not exist")
    assert not out.parent.exists()


def test_output_paths_that_cannot_be_files_are_user_errors(tiny, linear, tmp_path):
    runner = CliRunner()
    folder = tmp_path / "results"
    folder.mkdir()
    base = ["test", "--model", "compact", "--data-dir", str(tiny), "--model-weights-path", str(linear)]
    r = runner.invoke(main, base + ["--result-path", str(folder)])  # was "internal error: IsADirectoryError"
    _one_line_exit_2(r, "is a folder")
    r = runner.invoke(main, base + ["--result-path", str(linear / "r.csv")])  # was "internal error: FileExistsError"
    _one_line_exit_2(r, "is a file, not a folder")
    r = runner.invoke(main, ["train", "--model", "compact", "--data-dir", str(tiny), "--checkpoint-path",
                             str(tmp_path / "m.keras"), "--csv-log-path", str(folder), "--input-size", "36x64",
                             "--epochs", "1"])
    _one_line_exit_2(r, "CSV log", "is a folder")
    assert not (tmp_path / "m.keras").exists()
    # a result in a folder that does not exist yet is written there, whole
    r = runner.invoke(main, base + ["--result-path", str(tmp_path / "new" / "r.csv")])
    assert r.exit_code == 0, r.output
    rows = (tmp_path / "new" / "r.csv").read_text().splitlines()
    assert rows[0] == "filename,JND1,JND2,JND3" and rows[-1].startswith("MAE,") and len(rows) == TINY["test"] + 2
    assert os.listdir(tmp_path / "new") == ["r.csv"]
    # the paper's test command names no model: the weights' sidecar does (it was refused as "for architecture
    # 'compact', not 'MT_3LJND'")
    r = runner.invoke(main, ["test", "--data-dir", str(tiny), "--model-weights-path", str(linear), "--result-path",
                             str(tmp_path / "new" / "r2.csv")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "new" / "r2.csv").read_text() == (tmp_path / "new" / "r.csv").read_text()


def test_bad_checkpoint_path_is_refused_before_the_data_is_read(tiny, tmp_path):
    # a .txt checkpoint was refused at the first save: after the data loaded and, for VGG16, a whole epoch
    from jndenc.training import train as T

    said: list[str] = []
    with pytest.raises(UserError, match="unsupported weights file suffix"):
        T.fit("MT_3LJND", tiny, tmp_path / "m.txt", epochs=1, input_shape=(32, 32), verbose=0, echo=said.append)
    with pytest.raises(UserError, match="--resume: no checkpoint"):
        T.fit("compact", tiny, tmp_path / "none.keras", epochs=1, input_shape=HW, resume=True, verbose=0,
              echo=said.append)
    assert said == []  # the data's notices ("no source size ...") come only once it is read


def test_test_with_another_architectures_weights_names_it(tiny, linear, tmp_path):
    # was "MT_3LJND takes 3 input channels, not 6": the sidecar's input shape built the model before its
    # architecture was checked
    r = CliRunner().invoke(main, ["test", "--model", "MT_3LJND", "--data-dir", str(tiny), "--model-weights-path",
                                  str(linear), "--result-path", str(tmp_path / "r.csv")])
    _one_line_exit_2(r, "architecture 'compact'", "not 'MT_3LJND'")
    assert not (tmp_path / "r.csv").exists()


def test_ctrl_c_during_training_leaves_a_whole_checkpoint_that_resumes(tiny, tmp_path):
    ck, log = tmp_path / "run" / "m.keras", tmp_path / "run" / "log.csv"
    cmd = [sys.executable, "-m", "jndenc.cli", "train", "--model", "compact", "--data-dir", str(tiny),
           "--checkpoint-path", str(ck), "--csv-log-path", str(log), "--input-size", "36x64", "--epochs", "100000",
           "--batch-size", "4", "--learning-rate", "1e-3", "--seed", "0"]
    # epochs of this tiny set take milliseconds: 500 of them ended once on a loaded CI machine before the signal
    # came; this many outlast any wait, and the resume below sets its own count
    with interruptible(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
        deadline = time.monotonic() + 60
        while not (log.is_file() and log.read_text().count("\n") >= 3) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "jndenc: interrupted" in err and "Traceback" not in err
    assert sorted(os.listdir(ck.parent)) == ["log.csv", "m.keras", "m.keras.json"]  # no temp file, no run.json
    logged = log.read_text().count("\n") - 1  # rows under the header: epochs run
    r = CliRunner().invoke(main, ["train", "--model", "compact", "--data-dir", str(tiny), "--checkpoint-path",
                                  str(ck), "--csv-log-path", str(log), "--input-size", "36x64", "--batch-size", "4",
                                  "--learning-rate", "1e-3", "--resume", "--epochs", str(logged + 1)])
    assert r.exit_code == 0, r.output
    assert "resuming compact" in r.output and Path(f"{ck}.run.json").is_file()


def test_resume_takes_the_checkpoints_input_size_and_says_when_nothing_improved(tiny, tmp_path):
    # --resume without the first run's --input-size was refused ("trained at input shape (36, 64, 6), but the model
    # takes (144, 256, 6)"), though `test` reads the size from the sidecar; a resumed run that never beat its
    # checkpoint printed "best val_loss ... at epoch None"
    ck, log = tmp_path / "m.keras", tmp_path / "log.csv"
    args = ["train", "--model", "compact", "--data-dir", str(tiny), "--checkpoint-path", str(ck), "--csv-log-path",
            str(log), "--batch-size", "4", "--learning-rate", "1e-12", "--seed", "0"]
    runner = CliRunner()
    r = runner.invoke(main, args + ["--input-size", "36x64", "--epochs", "1"])
    assert r.exit_code == 0, r.output
    before = ck.read_bytes()
    r = runner.invoke(main, args + ["--epochs", "2", "--resume"])
    assert r.exit_code == 0, r.output
    assert "resuming compact" in r.output and "None" not in r.output
    assert "no checkpoint improvement" in r.stdout and str(ck) in r.stdout
    assert ck.read_bytes() == before and [l.split(";")[0] for l in log.read_text().splitlines()] == ["epoch", "0", "1"]
    r = runner.invoke(main, args + ["--epochs", "3", "--resume", "--input-size", "40x64"])
    _one_line_exit_2(r, "input shape (36, 64, 6)")


def test_train_and_test_print_only_their_own_lines(tiny, tmp_path):
    """TensorFlow's start-up chatter (absl's pre-init warning, the oneDNN notice, the CUDA probe's cuInit error)
    filled stderr on every train and test run."""
    def jndenc(*args):
        env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
        return subprocess.run([sys.executable, "-m", "jndenc", *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=300)

    ckpt = tmp_path / "m.keras"
    r = jndenc("train", "--model", "compact", "--data-dir", tiny, "--checkpoint-path", ckpt, "--epochs", "1",
               "--input-size", f"{HW[0]}x{HW[1]}", "--linear-only")
    assert r.returncode == 0, r.stderr
    r2 = jndenc("test", "--model", "compact", "--data-dir", tiny, "--model-weights-path", ckpt,
                "--result-path", tmp_path / "r.csv")
    assert r2.returncode == 0, r2.stderr
    for err in (r.stderr, r2.stderr):
        assert not any(x in err for x in ("absl::InitializeLog", "oneDNN", "cuInit", "cuda drivers")), err


def test_resume_restores_the_optimizers_state(tiny, tmp_path):
    """--resume loaded the weights and skipped the checkpoint's optimizer variables (Keras warned), so Adam's
    moments and step count started again from zero."""
    import warnings

    from jndenc.training import train as T

    ck = tmp_path / "m.keras"
    kw = dict(input_shape=HW, batch_size=4, seed=0, verbose=0, echo=lambda m: None)
    T.fit("compact", tiny, ck, epochs=2, **kw)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        T.fit("compact", tiny, ck, epochs=3, resume=True, **kw)
    assert not [w for w in seen if "optimizer" in str(w.message)], [str(w.message) for w in seen]


def test_two_checkpoints_in_one_folder_keep_their_own_run_records(tiny, tmp_path):
    from jndenc.training import train as T

    for name, seed in (("a.keras", 0), ("b.keras", 1)):
        T.fit("compact", tiny, tmp_path / name, input_shape=HW, linear_only=True, seed=seed, verbose=0,
              echo=lambda m: None)
    runs = {n: json.loads((tmp_path / f"{n}.run.json").read_text()) for n in ("a.keras", "b.keras")}
    assert runs["a.keras"]["arguments"]["seed"] == 0 and runs["b.keras"]["arguments"]["seed"] == 1


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, a folder that takes no file")
def test_training_outputs_into_a_folder_that_takes_no_file_are_refused_before_any_work(tmp_path):
    # train found an unwritable checkpoint folder at its first save (after an epoch), test, export and the dataset
    # commands at their first write: each an internal error, exit 1
    from jndenc.output import check_folder
    from jndenc.training.checks import check_output_path

    with pytest.raises(UserError, match="not writable"):
        check_output_path(Path("/proc/jndenc-test/c.keras"), "checkpoint")
    with pytest.raises(UserError, match="output folder /proc/jndenc-test cannot be made"):
        check_folder(Path("/proc/jndenc-test"), "output folder")
    r = CliRunner().invoke(main, ["dataset", "synth", "/proc/jndenc-test", "--size", "64x64"])
    _one_line_exit_2(r, "cannot be made")
    check_output_path(tmp_path / "new" / "c.keras", "checkpoint")  # a folder still to make under a writable one


def test_weights_trained_on_other_labels_are_said_to_mean_something_else():
    # a dataset built with --metric psnr (or QP labels, another preset) trains weights whose outputs encode and
    # predict read as x264 medium CRFs at VMAF 94/88/82: the one-pass CRFs carried another quality claim unsaid
    import json

    from jndenc.predictor import label_notes

    shipped = json.loads(Path("weights/jndenc_compact.keras.json").read_text()) if Path(
        "weights/jndenc_compact.keras.json").is_file() else {"metric": "vmaf", "thresholds": [94, 88, 82]}
    assert label_notes(shipped, Path("w.keras")) == []
    other = {**shipped, "metric": "psnr", "thresholds": [40, 36, 32], "label_units": "QP"}
    (note,) = label_notes(other, Path("w.keras"))
    assert "metric psnr" in note and "thresholds [40, 36, 32]" in note and "label_units QP" in note
    assert label_notes({"architecture": "compact"}, Path("w.keras")) == []  # nothing recorded, nothing judged
