"""`python -m jndenc.training.probe_train`: the probe model's fit from a dataset layout and its probe features, as
the model card's reproduce steps run it. A small layout is written here (images, features.csv, labels) with probe
scores whose JND follows them, so the fit has something to find; the fit, the save and the load are the real ones."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("keras")

from jndenc.media.probe_encode import SHIPPED_PROBE  # noqa: E402
from jndenc.models.io import read_metadata  # noqa: E402
from jndenc.training.probe_features import CACHE_VERSION  # noqa: E402
from jndenc.training.probe_train import main, train_probe  # noqa: E402
from jndenc.training.shots import shot_key  # noqa: E402

GROUPS, SHOTS_PER_GROUP, IMAGES = 10, 3, 2


def write_layout(root: Path) -> tuple[Path, Path]:
    """Train (8 clips) and valid (2 clips) shots of 64x48 frames, and a probe cache where each shot's JND1 lies
    where its centred probe says: its CRF plus the probe's VMAF above 94 at 1.5 VMAF a step (and a little noise)."""
    rng = np.random.default_rng(1)
    cache: dict = {"version": CACHE_VERSION, "shots": {}, "clips": {}}
    for split, groups in (("train", range(0, 8)), ("valid", range(8, GROUPS))):
        d = root / split
        (d / "prev").mkdir(parents=True)
        rows = ["filename,si,ti,clip,start_frame,end_frame,width,height,group"]
        labels = ["# filename JND1 JND2 JND3"]
        for g in groups:
            clip = f"clip{g}.mp4"
            for s in range(SHOTS_PER_GROUP):
                start, end = 100 * s, 100 * s + 50
                crf, vmaf = float(rng.integers(20, 33)), float(rng.uniform(89.0, 98.0))
                jnd1 = crf + (vmaf - 94.0) / 1.5 + rng.normal(0, 0.2)
                cache["shots"][shot_key(clip, start, end)] = {SHIPPED_PROBE.key(): {
                    "vmaf": vmaf, "psnr": 30 + vmaf / 5, "bpp": 2.0 ** (-(crf - 10) / 6), "crf": crf}}
                for k in range(IMAGES):
                    name = f"{clip[:-4]}__{start:06d}_{k:06d}.png"
                    img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
                    cv2.imwrite(str(d / name), img)
                    cv2.imwrite(str(d / "prev" / name), np.roll(img, 1, axis=1))
                    rows.append(f"{name},{rng.uniform(20, 80):.2f},{rng.uniform(0, 30):.2f},{clip},{start},{end},"
                                f"1280,720,{clip}")
                    labels.append(f"{name} {jnd1:.2f} {jnd1 + 4:.2f} {jnd1 + 7:.2f}")
        (d / "features.csv").write_text("\n".join(rows) + "\n")
        (d / "JND-Levels.txt").write_text("\n".join(labels) + "\n")
    (root / "test").mkdir()  # the layout's third split, which the fit never reads
    cache_path = root / "probe_features.json"
    cache_path.write_text(json.dumps(cache))
    return root, cache_path


def test_the_probe_fit_finds_the_relation_and_reproduces_from_its_seed(tmp_path):
    data, cache = write_layout(tmp_path / "ds")
    frame = tmp_path / "frame.keras"
    shipped = Path(__file__).resolve().parents[1] / "weights" / "jndenc_compact.keras"
    if not shipped.is_file():
        pytest.skip("no shipped frame model to record margins beside")
    shutil.copy(shipped, frame)
    shutil.copy(str(shipped) + ".json", str(frame) + ".json")
    out = tmp_path / "probe.keras"
    meta = train_probe(data, cache, out, seed=0, frame_weights=frame, echo=lambda *_: None)
    assert out.is_file() and read_metadata(out)["data_digest"] == meta["data_digest"]
    assert meta["train_shots"] == GROUPS * SHOTS_PER_GROUP and meta["train_groups"] == GROUPS
    assert meta["splits"] == ["train", "valid"] and meta["seed"] == 0
    # the labels follow the probe: its held-out error is well under the frame model's on the same shots
    assert meta["inner_cv_mae_jnd1"] < 1.0, meta["inner_cv_mae_jnd1"]
    # predict mode's margins are written into the frame model's sidecar, which `jndenc export` copies
    assert "margin_auto" in read_metadata(frame) and "probe_train" in read_metadata(frame)["margin_auto_source"]

    # the command line the model card gives, with the same seed: the same model
    again = tmp_path / "again.keras"
    assert main([str(data), "--probe-cache", str(cache), "--out", str(again), "--seed", "0"]) == 0
    import keras

    w1 = keras.saving.load_model(out, compile=False).get_weights()
    w2 = keras.saving.load_model(again, compile=False).get_weights()
    assert len(w1) == len(w2) and all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert read_metadata(again)["data_digest"] == meta["data_digest"]


def test_too_few_shots_with_probe_features_say_what_is_missing(tmp_path):
    data, cache = write_layout(tmp_path / "ds")
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"version": CACHE_VERSION, "shots": {}, "clips": {}}))
    with pytest.raises(SystemExit, match="only 0 shots have probe features .* run probe_features first"):
        train_probe(data, empty, tmp_path / "p.keras", echo=lambda *_: None)
    assert not (tmp_path / "p.keras").exists()
