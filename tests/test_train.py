"""Seed-layout reader, fit/evaluate and the `jndenc train` / `jndenc test` CLI on tiny synthetic data."""
from __future__ import annotations

import csv
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from jndenc.training import data as D
from jndenc.cli import main
from jndenc.errors import UserError

SIZES = {"train": 24, "valid": 8, "test": 6}


def make_seed_dataset(root: Path, sizes=SIZES, by_name: bool = False, va: bool = False, prev: bool = False,
                      hw=(40, 72)) -> Path:
    """Seed layout with labels a model can learn: JND1 = 20 + 20 * brightness, JND2/3 = +3/+6."""
    rng = np.random.default_rng(0)
    for split, n in sizes.items():
        d = root / split
        d.mkdir(parents=True)
        lines = ["# filename JND1 JND2 JND3"] if by_name else []
        # written in reverse so that creation order differs from sorted order
        for i in reversed(range(n)):
            img = np.clip(rng.normal(rng.uniform(20, 235), 25, (*hw, 3)), 0, 255).astype(np.uint8)
            name = f"img{i:03d}.png"
            cv2.imwrite(str(d / name), img)
            if va:
                (d / "va").mkdir(exist_ok=True)
                cv2.imwrite(str(d / "va" / name), np.full(hw, 40 + 5 * i, np.uint8))
            if prev:
                (d / "prev").mkdir(exist_ok=True)
                cv2.imwrite(str(d / "prev" / name), np.roll(img, 3, axis=1))
            j1 = 20 + 20 * img.mean() / 255
            lines.append((f"{name} " if by_name else "") + f"{j1:.3f} {j1 + 3:.3f} {j1 + 6:.3f}")
        if not by_name:  # positional labels must follow the sorted file order
            lines = lines[::-1]
        (d / D.LABEL_FILE).write_text("\n".join(lines) + "\n")
    return root


def _brightness_labels(split_dir: Path) -> np.ndarray:
    names = sorted(p.name for p in split_dir.glob("*.png"))
    j1 = np.array([20 + 20 * cv2.imread(str(split_dir / n)).mean() / 255 for n in names])
    return np.stack([j1, j1 + 3, j1 + 6], axis=1)


# --- reader ------------------------------------------------------------------

def test_labels_pair_in_sorted_order_and_by_filename(tmp_path):
    pos = make_seed_dataset(tmp_path / "pos", {"train": 5})
    s = D.read_split(pos, "train")
    assert s.files == sorted(s.files)
    np.testing.assert_allclose(s.labels, _brightness_labels(pos / "train"), atol=2e-3)
    named = make_seed_dataset(tmp_path / "named", {"train": 5}, by_name=True)
    s2 = D.read_split(named, "train")
    np.testing.assert_allclose(s2.labels, _brightness_labels(named / "train"), atol=2e-3)


def test_label_errors_name_file_and_line(tmp_path):
    root = make_seed_dataset(tmp_path / "d", {"train": 4})
    lf = root / "train" / D.LABEL_FILE
    lines = lf.read_text().splitlines()
    lf.write_text("\n".join(lines + ["30 33 36"]) + "\n")
    with pytest.raises(UserError, match=r"JND-Levels.txt:5: more label lines \(5\) than images \(4\)"):
        D.read_split(root, "train")
    lf.write_text("\n".join(lines[:3]) + "\n")
    with pytest.raises(UserError, match=r"JND-Levels.txt:3: fewer label lines \(3\) than images \(4\)"):
        D.read_split(root, "train")
    lf.write_text("\n".join(lines[:1] + ["30 abc 36"] + lines[2:]) + "\n")
    with pytest.raises(UserError, match=r"JND-Levels.txt:2: label 'abc' is not a number"):
        D.read_split(root, "train")
    with pytest.raises(UserError, match="has no valid/ folder"):
        D.read_split(root, "valid")
    (root / "train" / "img000.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="cannot read image .*img000.png"):
        D.load_frames(root / "train", ["img000.png"], (32, 32))


def test_va_maps_loaded_when_present_pseudo_labels_when_absent(tmp_path):
    with_va = make_seed_dataset(tmp_path / "va", {"train": 3}, va=True)
    s = D.read_split(with_va, "train")
    maps, pseudo = D.load_va(s, (8, 16))
    assert not pseudo and maps.shape == (3, 8, 16, 1)
    np.testing.assert_allclose(maps[:, 0, 0, 0], [(40 + 5 * i) / 255 for i in range(3)], atol=1e-6)
    plain = make_seed_dataset(tmp_path / "plain", {"train": 3})
    notices = []
    maps, pseudo = D.load_va(D.read_split(plain, "train"), (8, 16), notice=notices.append)
    assert pseudo and maps.shape == (3, 8, 16, 1) and 0 <= maps.min() and maps.max() <= 1
    assert notices and "spectral-residual" in notices[0]


def test_prev_folder_gives_motion_channels(tmp_path):
    root = make_seed_dataset(tmp_path / "d", {"train": 2}, prev=True)
    s = D.read_split(root, "train")
    prev = D.load_prev(s, (40, 72))
    assert prev.shape == (2, 40, 72, 3) and not np.array_equal(prev, D.load_frames(s.directory, s.files, (40, 72)))


# --- fit / evaluate ------------------------------------------------------------

def test_fit_compact_learns_checkpoints_logs_and_evaluates(tmp_path):
    from jndenc.training import evaluate as E, train as T

    root = make_seed_dataset(tmp_path / "d", prev=True)
    ck = tmp_path / "out" / "best.keras"
    log = tmp_path / "out" / "log.csv"
    res = T.fit("compact", root, ck, log, epochs=4, batch_size=8, learning_rate=3e-3, seed=3,
                input_shape=(36, 64), augment=True, verbose=0, echo=lambda m: None)
    loss = res["history"]["loss"]
    assert len(loss) == 4 and loss[-1] < loss[0]
    assert ck.is_file() and Path(str(ck) + ".json").is_file()
    meta = json.loads(Path(str(ck) + ".json").read_text())
    assert meta["architecture"] == "compact" and meta["input_shape"] == [36, 64, 6]
    assert meta["data_digest"] == res["data_digest"]
    with open(log, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert {"loss", "val_loss", "JND1_output_loss"} <= set(rows[0])
    run = json.loads(Path(f"{ck}.run.json").read_text())
    assert run["data_digest"] == res["data_digest"] and "tensorflow" in run["versions"]
    assert run["arguments"]["seed"] == 3 and "loss" in run["final_metrics"]

    out = E.evaluate("compact", root, ck, tmp_path / "res.csv", echo=lambda m: None)
    with open(tmp_path / "res.csv", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["filename", "JND1", "JND2", "JND3"]
    assert [r[0] for r in table[1:-1]] == [f"img{i:03d}.png" for i in range(SIZES["test"])]
    assert table[-1][0] == "MAE" and set(out["mae"]) == {"JND1", "JND2", "JND3"}
    one = E.evaluate("compact", root, ck, tmp_path / "res3.csv", jnd_column=2, echo=lambda m: None)
    assert one["columns"] == ["JND3"]
    np.testing.assert_allclose(one["predictions"][:, 0], out["predictions"][:, 2], rtol=1e-5)

    # --resume continues the epoch count and the CSV log
    res2 = T.fit("compact", root, ck, log, epochs=5, learning_rate=3e-3, input_shape=(36, 64), resume=True,
                 verbose=0, echo=lambda m: None)
    assert res2["epochs_run"] == 1
    with open(log, newline="") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f, delimiter=";")] == [0, 1, 2, 3, 4]


def test_fit_single_head_va_model_and_jnd_column(tmp_path):
    from jndenc.training import evaluate as E, train as T

    root = make_seed_dataset(tmp_path / "d", {"train": 8, "valid": 4, "test": 3}, va=True)
    ck = tmp_path / "va.h5"
    res = T.fit("MT_1LJND_VA", root, ck, epochs=1, batch_size=4, learning_rate=1e-4, jnd_column=1,
                input_shape=(32, 64), verbose=0, echo=lambda m: None)
    assert res["va_pseudo_labels"] is False and "VA_output_loss" in res["history"]
    assert json.loads(Path(str(ck) + ".json").read_text())["jnd_column"] == 1
    out = E.evaluate("MT_1LJND_VA", root, ck, tmp_path / "r.csv", echo=lambda m: None)
    assert out["columns"] == ["JND2"] and out["rows"] == 3
    labels = D.read_split(root, "test").labels
    assert out["mae"]["JND2"] == pytest.approx(float(np.abs(out["predictions"][:, 0] - labels[:, 1]).mean()), rel=1e-4)


# --- CLI -------------------------------------------------------------------

def test_cli_train_and_test_both_spellings(tmp_path):
    root = make_seed_dataset(tmp_path / "d", {"train": 8, "valid": 4, "test": 3})
    runner = CliRunner()
    r = runner.invoke(main, ["train", "--model", "compact", "--data-dir", str(root), "--checkpoint-path",
                             str(tmp_path / "a.h5"), "--csv-log-path", str(tmp_path / "a.csv"), "--epochs", "1",
                             "--batch-size", "4", "--learning-rate", "1e-3", "--input-size", "36x64", "--seed", "1"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "a.h5").is_file() and (tmp_path / "a.h5.run.json").is_file()
    r = runner.invoke(main, ["train", "--model", "MT_3LJND_VA", "--data_dir", str(root), "--checkpoint_path",
                             str(tmp_path / "b.keras"), "--csv_log_path", str(tmp_path / "b.csv"), "--epochs", "1",
                             "--batch_size", "4", "--learning_rate", "1e-4", "--input_size", "32x64"])
    assert r.exit_code == 0, r.output
    assert "spectral-residual" in r.output  # no va/ folder: the run says it uses pseudo-labels
    r = runner.invoke(main, ["test", "--model", "compact", "--data_dir", str(root), "--model_weights_path",
                             str(tmp_path / "a.h5"), "--result-path", str(tmp_path / "r.csv"), "--jnd_column", "0"])
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(open(tmp_path / "r.csv")))
    assert rows[0] == ["filename", "JND1"] and len(rows) == 1 + 3 + 1


def test_cli_errors_exit_2_with_one_line(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["train", "--model", "compact", "--data-dir", str(tmp_path / "missing"),
                             "--checkpoint-path", str(tmp_path / "c.h5")])
    assert r.exit_code == 2 and "data directory not found" in r.stderr
    root = make_seed_dataset(tmp_path / "d", {"train": 3, "valid": 2})
    lf = root / "train" / D.LABEL_FILE
    lf.write_text(lf.read_text() + "1 2 3\n")
    r = runner.invoke(main, ["train", "--model", "compact", "--data-dir", str(root), "--checkpoint-path",
                             str(tmp_path / "c.h5"), "--input-size", "36x64", "--epochs", "1"])
    assert r.exit_code == 2 and "JND-Levels.txt:4" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_imagenet_backbone_missing_from_cache_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    root = make_seed_dataset(tmp_path / "d", {"train": 2, "valid": 2})
    r = CliRunner().invoke(main, ["train", "--model", "MT_3LJND", "--data-dir", str(root), "--checkpoint-path",
                                  str(tmp_path / "c.h5"), "--input-size", "32x64", "--backbone-weights", "imagenet"])
    assert r.exit_code == 2 and "Keras cache" in r.stderr and str(tmp_path / "kh") in r.stderr


def test_fit_linear_only_keeps_the_closed_form_start(tmp_path):
    from jndenc.training import evaluate as E, train as T
    from jndenc.errors import UserError

    root = make_seed_dataset(tmp_path / "d", prev=True)
    ck = tmp_path / "out" / "lin.keras"
    res = T.fit("compact", root, ck, epochs=5, input_shape=(36, 64), linear_only=True, verbose=0, echo=lambda m: None)
    assert res["epochs_run"] == 0 and res["best_epoch"] == -1 and ck.is_file()
    assert len(res["linear_start"]["train_mae"]) == 3 and res["best_val_loss"] == pytest.approx(
        res["linear_start"]["val_loss"], abs=1e-3)
    out = E.evaluate("compact", root, ck, tmp_path / "res.csv", echo=lambda m: None)
    p = out["predictions"]
    assert np.isfinite(p).all() and (p[:, 0] <= p[:, 1]).all() and (p[:, 1] <= p[:, 2]).all()
    with pytest.raises(UserError):
        T.fit("MT_3LJND", root, tmp_path / "v.h5", epochs=1, input_shape=(32, 32, 3), linear_only=True, verbose=0,
              echo=lambda m: None)
