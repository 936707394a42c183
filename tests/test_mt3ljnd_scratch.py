"""benchmarks/mt3ljnd_scratch.py: packing a dataset layout and one real (tiny) MT_3LJND fit on it."""
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import mt3ljnd_scratch as M  # noqa: E402


def test_shot_mae_pools_each_shot_by_its_median():
    pred = np.array([[20.0, 25, 30], [22, 25, 30], [40, 25, 30], [24, 28, 31]])
    y = np.array([[21.0, 26, 30], [21, 26, 30], [21, 26, 30], [25, 28, 33]])
    clip, start = np.array(["a", "a", "a", "b"]), np.array([0, 0, 0, 5])
    assert M.shot_mae(pred, y, clip, start) == [1.0, 0.5, 1.0]  # shot a: median 22 vs 21; shot b: 24 vs 25


def _layout(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for i, sp in enumerate(M.SPLITS):
        d = root / sp
        d.mkdir(parents=True)
        rows, labels = ["filename,si,ti,clip,start_frame,end_frame,width,height,group"], ["# filename JND1 JND2 JND3"]
        for k in range(3):
            name = f"c{i}__{k:06d}_000001.png"
            cv2.imwrite(str(d / name), rng.integers(0, 255, (270, 480, 3), dtype=np.uint8))
            rows.append(f"{name},10,5,c{i}.mp4,{k},{k + 1},480,270,c{i}.mp4")
            labels.append(f"{name} {20 + k} {25 + k} {30 + k}")
        (d / "features.csv").write_text("\n".join(rows) + "\n")
        (d / "JND-Levels.txt").write_text("\n".join(labels) + "\n")
    return root


def test_pack_then_fit_a_real_model(tmp_path):
    npz = tmp_path / "data.npz"
    info = M.pack(_layout(tmp_path / "ds"), npz)
    assert info["images"] == 9
    x, y, split, clip, start = M.load(npz)
    assert x.shape == (9, 270, 480, 3) and sorted(set(split)) == sorted(M.SPLITS)
    assert y[:3].tolist() == [[20, 25, 30], [21, 26, 31], [22, 27, 32]]
    out = tmp_path / "run.json"
    r = M.fit(npz, out, epochs=1, batch=3, lr=1e-4, patience=1, seed=0, input_hw=(32, 32))
    assert json.loads(out.read_text())["test_shots"] == 3 and r["epochs_run"] == 1
    assert all(np.isfinite(r["test_mae"])) and r["test_mae_mean_predictor"] == [0.667] * 3  # mean 21 vs 20, 21, 22
