"""Retraining audit: `jndenc train/test` as a researcher runs them on tiny real data (no mocks)."""
from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pytest
from click.testing import CliRunner

from jndenc.cli import main

from test_train import make_seed_dataset
from test_training_edges import _one_line_exit_2

TINY = {"train": 8, "valid": 4, "test": 3}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_seed_dataset(tmp_path_factory.mktemp("seed") / "d", TINY)


@pytest.fixture(scope="module")
def jnd3_head(tiny, tmp_path_factory) -> Path:
    """An MT_1LJND_VA checkpoint whose one head was trained on JND3 (`--jnd_column 2`), as the paper's CLI makes."""
    ck = tmp_path_factory.mktemp("va") / "m.h5"
    r = CliRunner().invoke(main, ["train", "--model", "MT_1LJND_VA", "--jnd_column", "2", "--data_dir", str(tiny),
                                  "--checkpoint_path", str(ck), "--epochs", "1", "--batch_size", "4",
                                  "--input_size", "32x32", "--seed", "0"])
    assert r.exit_code == 0, r.output
    assert json.loads(Path(f"{ck}.json").read_text())["jnd_column"] == 2
    return ck


def test_test_refuses_a_jnd_column_the_single_head_was_not_trained_on(tiny, jnd3_head, tmp_path):
    # `test --jnd_column 0` on a JND3 head wrote its JND3 predictions under a "JND1" header and scored them
    # against the JND1 labels
    runner = CliRunner()
    base = ["test", "--model", "MT_1LJND_VA", "--data_dir", str(tiny), "--model_weights_path", str(jnd3_head)]
    r = runner.invoke(main, base + ["--result_path", str(tmp_path / "r0.csv"), "--jnd_column", "0"])
    _one_line_exit_2(r, "JND3", "--jnd_column 2")
    assert not (tmp_path / "r0.csv").exists()
    for extra in ([], ["--jnd_column", "2"]):  # the sidecar's column, named or not
        r = runner.invoke(main, base + ["--result_path", str(tmp_path / "r.csv"), *extra])
        assert r.exit_code == 0, r.output
        assert (tmp_path / "r.csv").read_text().splitlines()[0] == "filename,JND3"


def test_resume_keeps_the_single_heads_jnd_column(tiny, jnd3_head, tmp_path):
    # --resume without --jnd_column went on training the JND3 head on JND1 labels (the single-head default) and
    # rewrote the sidecar as jnd_column 0, though it takes the checkpoint's input size from the sidecar
    ck = tmp_path / jnd3_head.name
    ck.write_bytes(jnd3_head.read_bytes())
    Path(f"{ck}.json").write_text(Path(f"{jnd3_head}.json").read_text())
    base = ["train", "--model", "MT_1LJND_VA", "--data_dir", str(tiny), "--checkpoint_path", str(ck),
            "--batch_size", "4", "--learning_rate", "1e-3", "--seed", "0", "--resume"]
    runner = CliRunner()
    r = runner.invoke(main, base + ["--epochs", "3", "--jnd_column", "0"])
    _one_line_exit_2(r, "JND3", "--jnd_column 2")
    r = runner.invoke(main, base + ["--epochs", "2"])
    assert r.exit_code == 0, r.output
    assert "resuming MT_1LJND_VA" in r.output
    assert json.loads(Path(f"{ck}.json").read_text())["jnd_column"] == 2
    run = json.loads(Path(f"{ck}.run.json").read_text())
    assert run["arguments"]["jnd_column"] == 2


def test_encode_with_a_one_head_model_it_trained(tiny, jnd3_head, tmp_path):
    # the README trains MT_1LJND_VA (one head); `jndenc encode --weights` with it failed as an internal error
    # (TypeError: float() of None): the plan keeps the levels the head does not predict as None, and the first
    # correction's slope read JND2 as a number
    from conftest import ffmpeg

    ck = tmp_path / "jnd1.h5"
    r = CliRunner().invoke(main, ["train", "--model", "MT_1LJND_VA", "--jnd_column", "0", "--data_dir", str(tiny),
                                  "--checkpoint_path", str(ck), "--epochs", "1", "--batch_size", "4",
                                  "--input_size", "32x32", "--seed", "0"])
    assert r.exit_code == 0, r.output
    src, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=25:duration=1", "-c:v", "libx264", "-preset",
           "ultrafast", "-crf", "10", str(src))
    r = CliRunner().invoke(main, ["encode", str(src), str(out), "--weights", str(ck), "--json"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["model"] == "MT_1LJND_VA" and out.stat().st_size > 0
    assert all(s["jnd"][0] is not None and s["jnd"][1] is None for s in result["shots"])


def test_linear_only_says_its_csv_log_is_not_written(tiny, tmp_path):
    # the shipped recipe passes --csv_log_path with --linear-only; no epoch runs, so no log was written, and nothing
    # said so (a log left there by an earlier run stayed, reading as this run's)
    log = tmp_path / "log.csv"
    r = CliRunner().invoke(main, ["train", "--model", "compact", "--data_dir", str(tiny), "--checkpoint_path",
                                  str(tmp_path / "m.keras"), "--csv_log_path", str(log), "--epochs", "2",
                                  "--input_size", "36x64", "--seed", "0", "--linear-only"])
    assert r.exit_code == 0, r.output
    assert not log.exists() and f"no CSV log ({log})" in r.stderr


def test_positional_labels_on_numbered_names_say_which_order_pairs_them(tmp_path, caplog):
    # img1 ... img11 sort as img1, img10, img11, img2: lines written in numbering order would pair img10 with
    # img2's line; sorted order is the documented rule, so a warning names it (zero-padded names need none)
    import logging

    import cv2
    import numpy as np

    from jndenc.training.data import read_labels

    for names in ([f"img{i}.png" for i in range(1, 12)], [f"img{i:02d}.png" for i in range(1, 12)]):
        d = tmp_path / names[0].split(".")[0]
        d.mkdir()
        for n in names:
            cv2.imwrite(str(d / n), np.zeros((8, 8, 3), np.uint8))
        (d / "JND-Levels.txt").write_text("".join(f"{i} {i + 1} {i + 2}\n" for i in range(11)))
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            labels = read_labels(d / "JND-Levels.txt", sorted(names))
        assert labels.shape == (11, 3)
        said = [r.getMessage() for r in caplog.records if "sorted filename order" in r.getMessage()]
        assert bool(said) == (names[0] == "img1.png"), said
        if said:
            assert "'img10.png' comes before 'img2.png'" in said[0]
