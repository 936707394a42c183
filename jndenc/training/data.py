"""Seed-layout dataset reader and tf.data pipeline.

Layout (the MTJND README's): `rootdir/{train,valid,test}/` holding images
(.jpg .jpeg .png .bmp) and `JND-Levels.txt`, one line per image with three
columns JND1 JND2 JND3. Lines pair with images in *sorted* filename order (the
original paired them in `os.walk` order, which is arbitrary); a line of four
columns whose first is a file name pairs by name instead. Blank lines and
lines starting with '#' are ignored.

Optional folders beside the images, same file names:
- `va/`: grayscale visual-attention maps for the *_VA models; without it a
  spectral-residual saliency pseudo-label is computed (and a notice printed).
- `prev/`: the previous sampled frame of each image, for the compact model's
  motion channels; without it the motion channels are zero.

Images are read with OpenCV (BGR) and resized with cv2.resize to the model
input, as the paper did; they stay uint8 in memory and are scaled to [0, 1]
in the pipeline, which keeps memory at a quarter of float32.
"""
from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np

from ..errors import UserError

log = logging.getLogger(__name__)

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")
LABEL_FILE = "JND-Levels.txt"
SPLITS = ("train", "valid", "test")
JND_HEADS = ("JND1_output", "JND2_output", "JND3_output")
VA_DIR = "va"
PREV_DIR = "prev"


@dataclass
class Split:
    """One split: sorted image names and their labels (float32 [N,3] or None)."""

    name: str
    directory: Path
    files: list[str]
    labels: np.ndarray | None
    label_path: Path | None


def list_images(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def _parse_number(tok: str, path: Path, lineno: int) -> float:
    try:
        value = float(tok)
    except ValueError:
        raise UserError(f"{path}:{lineno}: label {tok!r} is not a number") from None
    if not np.isfinite(value):
        raise UserError(f"{path}:{lineno}: label {tok!r} is not finite")
    if not LABEL_RANGE[0] <= value <= LABEL_RANGE[1]:
        # 1e9 trained to a NaN loss, wrote no checkpoint and exited 0
        raise UserError(f"{path}:{lineno}: label {tok!r} is outside {LABEL_RANGE[0]}..{LABEL_RANGE[1]} (a JND level "
                        "is a quantiser value: CRF or QP)")
    return value


# the quantiser scales JND levels are given on: H.264/HEVC QP and CRF 0..51, AV1 up to 63, rav1e's index up to 255
LABEL_RANGE = (0, 255)


def read_labels(label_path: Path, files: list[str]) -> np.ndarray:
    """Labels float32 [len(files), 3] paired by sorted order or by a filename column."""
    try:
        text = label_path.read_text(encoding="utf-8", errors="surrogateescape")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {label_path}: {exc}") from None
    rows: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rows.append((lineno, [t for t in re.split(r"[\s,;]+", line) if t]))
    by_name = bool(rows) and len(rows[0][1]) == 4
    labels = np.zeros((len(files), 3), np.float32)
    if by_name:
        index = {name: i for i, name in enumerate(files)}
        seen: set[str] = set()
        for lineno, toks in rows:
            if len(toks) != 4:
                raise UserError(f"{label_path}:{lineno}: expected 'filename JND1 JND2 JND3', got {len(toks)} columns")
            name = toks[0]
            if name not in index:
                raise UserError(f"{label_path}:{lineno}: no image named {name!r} in {label_path.parent}")
            if name in seen:
                raise UserError(f"{label_path}:{lineno}: {name!r} is labelled twice")
            seen.add(name)
            labels[index[name]] = [_parse_number(t, label_path, lineno) for t in toks[1:]]
        unlabelled = [n for n in files if n not in seen]
        if unlabelled:
            raise UserError(f"{label_path}: {len(unlabelled)} image(s) have no label line, e.g. {unlabelled[0]!r}")
        return labels
    for i, (lineno, toks) in enumerate(rows):
        if len(toks) != 3:
            raise UserError(f"{label_path}:{lineno}: expected 3 columns (JND1 JND2 JND3), got {len(toks)}")
        if i >= len(files):
            raise UserError(
                f"{label_path}:{lineno}: more label lines ({len(rows)}) than images ({len(files)}) in {label_path.parent}"
            )
        labels[i] = [_parse_number(t, label_path, lineno) for t in toks]
    if len(rows) < len(files):
        where = f"{label_path}:{rows[-1][0]}" if rows else str(label_path)  # an empty file has no line 0
        raise UserError(
            f"{where}: fewer label lines ({len(rows)}) than images ({len(files)}); "
            f"first unlabelled image in sorted order is {files[len(rows)]!r}"
        )
    natural = sorted(files, key=_natural_key)
    if natural != files:
        # img1 ... img11 sort as img1, img10, img11, img2: a label file written in numbering order would pair img10
        # with img2's line without a word; sorted order is the documented rule, so say it, not change it
        first = next(i for i, (a, b) in enumerate(zip(files, natural)) if a != b)
        log.warning(f"{label_path}: label lines pair with images in sorted filename order, where {files[first]!r} "
                    f"comes before {natural[first]!r}; if the lines follow the numbering, put each image's file "
                    "name first on its line")
    return labels


def _natural_key(name: str) -> list:
    """Digits compared as numbers (img2 before img10)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t]


def read_split(data_dir: str | Path, split: str, require_labels: bool = True) -> Split:
    """Read `data_dir/split`: sorted image names and labels (None if absent and not required)."""
    root = Path(data_dir)
    if not root.is_dir():
        raise UserError(f"data directory not found: {root}")
    directory = root / split
    if not directory.is_dir():
        raise UserError(f"{root} has no {split}/ folder (expected {'/, '.join(SPLITS)}/ as in the MTJND layout)")
    files = list_images(directory)
    if not files:
        raise UserError(f"{directory} holds no images ({' '.join(IMAGE_EXTS)})")
    label_path = directory / LABEL_FILE
    if not label_path.is_file():
        if require_labels:
            raise UserError(f"{directory} has no {LABEL_FILE}")
        return Split(split, directory, files, None, None)
    return Split(split, directory, files, read_labels(label_path, files), label_path)


def data_digest(splits: list[Split]) -> str:
    """sha256 over each split's sorted file names and label file bytes."""
    h = hashlib.sha256()
    for s in splits:
        h.update(f"[{s.name}]\n".encode("utf-8", "surrogateescape"))
        for name in s.files:
            h.update(name.encode("utf-8", "surrogateescape") + b"\n")
        if s.label_path is not None:
            h.update(s.label_path.read_bytes())
    return h.hexdigest()


def read_image(path: Path, hw: tuple[int, int], flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    # bytes read by Python and decoded in memory: OpenCV's own file functions crash the interpreter on a name that
    # is not UTF-8 (held as surrogates), and print their own warning for a file they cannot decode
    try:
        img = cv2.imdecode(np.fromfile(path, np.uint8), flags)
    except (OSError, ValueError):
        img = None
    if img is None:
        raise UserError(f"cannot read image {path}")
    if img.shape[:2] != tuple(hw):
        img = cv2.resize(img, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
    return img


def write_image(path: Path, img: np.ndarray) -> None:
    """``img`` as the image file ``path`` names (its suffix picks the format), through Python's file functions (see
    `read_image`)."""
    ok, data = cv2.imencode(path.suffix, img)
    if not ok:
        raise UserError(f"cannot encode {path.name}")
    path.write_bytes(data.tobytes())


def load_frames(directory: Path, files: list[str], hw: tuple[int, int]) -> np.ndarray:
    """uint8 BGR [N, H, W, 3]."""
    return np.stack([read_image(directory / f, hw) for f in files])


def load_prev(split: Split, hw: tuple[int, int]) -> np.ndarray | None:
    """Previous frames from `prev/` (uint8 [N,H,W,3]), or None when the folder is absent."""
    prev_dir = split.directory / PREV_DIR
    if not prev_dir.is_dir():
        return None
    missing = [f for f in split.files if not (prev_dir / f).is_file()]
    if missing:
        raise UserError(f"{prev_dir} lacks the previous frame of {len(missing)} image(s), e.g. {missing[0]!r}")
    return load_frames(prev_dir, split.files, hw)


def load_va(split: Split, out_hw: tuple[int, int], frames: np.ndarray | None = None,
            notice: Callable[[str], None] | None = None) -> tuple[np.ndarray, bool]:
    """VA targets float32 [N, h, w, 1] in [0,1] and whether they are pseudo-labels.

    Maps come from `va/` when present; otherwise spectral-residual saliency
    of each image (computed from `frames` if given, else from the files).
    """
    from ..models.attention import spectral_residual_saliency

    va_dir = split.directory / VA_DIR
    if va_dir.is_dir():
        missing = [f for f in split.files if not (va_dir / f).is_file()]
        if missing:
            raise UserError(f"{va_dir} lacks the map of {len(missing)} image(s), e.g. {missing[0]!r}")
        maps = [read_image(va_dir / f, out_hw, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0 for f in split.files]
        return np.stack(maps)[..., None], False
    msg = f"{split.directory} has no {VA_DIR}/ folder: using spectral-residual saliency pseudo-labels for the VA task"
    (notice or log.warning)(msg)
    maps = []
    for i, f in enumerate(split.files):
        img = frames[i] if frames is not None else read_image(split.directory / f, out_hw)
        maps.append(spectral_residual_saliency(img, out_hw))
    return np.stack(maps)[..., None], True


def model_input_tf(frames, prev, uses_motion: bool):
    """tf twin of `jndenc.models.compact.compact_input` (and plain /255 for 3-channel models)."""
    import tensorflow as tf

    cur = tf.cast(frames, tf.float32) / 255.0
    if not uses_motion:
        return cur
    return tf.concat([cur, cur - tf.cast(prev, tf.float32) / 255.0], axis=-1)


def targets_for(labels: np.ndarray | None, heads: tuple[str, ...], jnd_column: int | None,
                va: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Keras target dict keyed by output layer name."""
    out: dict[str, np.ndarray] = {}
    if labels is not None:
        if heads == ("JND_output",):
            out["JND_output"] = labels[:, jnd_column or 0][:, None]
        else:
            for k, head in enumerate(heads):
                out[head] = labels[:, k][:, None]
    if va is not None:
        out["VA_output"] = va
    return out


def load_geometry(split: Split, notice: Callable[[str], None] | None = None) -> np.ndarray:
    """float32 [N, 1] source-size inputs from the ``width``/``height`` columns of ``features.csv``.

    `jndenc dataset build` writes them. Other seed-layout datasets have no such
    file; their frames are taken as 1920x1080 (VideoSet's largest size) and the
    run says so.
    """
    from ..models.compact import DEFAULT_SOURCE_SIZE, geometry_input

    path = split.directory / "features.csv"
    sizes: dict[str, tuple[int, int]] = {}
    if path.is_file():
        with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
            for row in csv.DictReader(fh):
                if row.get("width") and row.get("height"):
                    sizes[row["filename"]] = (int(row["width"]), int(row["height"]))
    missing = [f for f in split.files if f not in sizes]
    if missing and notice:
        notice(f"{split.directory}: no source size for {len(missing)} image(s) (features.csv width/height); "
               f"assuming {DEFAULT_SOURCE_SIZE[0]}x{DEFAULT_SOURCE_SIZE[1]}")
    return np.stack([geometry_input(*sizes.get(f, DEFAULT_SOURCE_SIZE)) for f in split.files])


def make_dataset(frames: np.ndarray, prev: np.ndarray | None, targets: dict[str, np.ndarray] | None,
                 uses_motion: bool, batch_size: int, shuffle: bool = False, augment: bool = False,
                 seed: int | None = None, jitter: float = 0.04, geometry: np.ndarray | None = None):
    """tf.data pipeline of (model input, targets) batches from uint8 frames.

    Augmentation (off by default): horizontal flip of frame, previous frame and
    VA map together, and a crop jitter that shifts frame and previous frame by
    up to `jitter` of the size (reflect-padded); the VA map is only flipped, a
    few-pixel shift does not matter at its coarse resolution.
    """
    import tensorflow as tf

    # prev == frames gives zero motion, so one code path serves both cases
    prev_arr = prev if prev is not None else frames
    elems = (frames, prev_arr) if uses_motion else (frames,)
    ds = tf.data.Dataset.from_tensor_slices((elems, targets) if targets else (elems,))
    if geometry is not None:  # a second model input that augmentation must not touch
        geo = tf.data.Dataset.from_tensor_slices(geometry)
        ds = tf.data.Dataset.zip((ds, geo)).map(lambda d, g: ((d[0] + (g,)),) + tuple(d[1:]))
    if shuffle:
        ds = ds.shuffle(len(frames), seed=seed, reshuffle_each_iteration=True)
    h, w = frames.shape[1:3]
    pad_h, pad_w = int(round(h * jitter)), int(round(w * jitter))

    def _aug(imgs, tgt, key):
        stacked = tf.concat(list(imgs), axis=-1)
        flip = tf.random.stateless_uniform([], seed=tf.stack([key, 0])) < 0.5
        stacked = tf.cond(flip, lambda: tf.image.flip_left_right(stacked), lambda: stacked)
        if pad_h or pad_w:
            padded = tf.pad(stacked, [[pad_h, pad_h], [pad_w, pad_w], [0, 0]], mode="REFLECT")
            stacked = tf.image.stateless_random_crop(padded, tf.shape(stacked), seed=tf.stack([key, 1]))
        parts = tuple(tf.split(stacked, len(imgs), axis=-1))
        if tgt is not None and "VA_output" in tgt:
            tgt = dict(tgt)
            tgt["VA_output"] = tf.cond(flip, lambda: tf.image.flip_left_right(tgt["VA_output"]), lambda: tgt["VA_output"])
        return parts, tgt

    def _to_input(imgs, tgt=None, key=None):
        geo = None
        if geometry is not None:
            imgs, geo = imgs[:-1], imgs[-1]
        if augment:
            imgs, tgt = _aug(imgs, tgt, key)
        x = model_input_tf(imgs[0], imgs[1] if uses_motion else None, uses_motion)
        if geo is not None:
            x = (x, geo)
        # a bare 2-tuple would read as (x, y) to Keras: wrap inputs without targets
        return (x, tgt) if tgt is not None else (x,)

    if augment:
        # one key per element from a seeded stream (new keys each epoch), drawn in order before the parallel map:
        # a stateful random op inside the map is drawn in whatever order the threads run, so --seed gave other
        # weights on every run
        keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip((ds, keys)).map(lambda d, k: _to_input(*d, key=k),
                                                 num_parallel_calls=tf.data.AUTOTUNE)
    elif targets:
        ds = ds.map(lambda imgs, tgt: _to_input(imgs, tgt), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda imgs: _to_input(imgs), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
