"""Generated clips of the content types the shared clips hold few of: screen content and text, slides, flat 2D
animation and clean computer-generated scenes (README.md, "Proxy-JND labels").

The frame model misses these types on unseen clips (weights/MODEL_CARD.md, "Error by content type"), and the
real clips hold only a handful of each. Each generator draws frames with numpy and OpenCV (no download, no
font files: OpenCV's Hershey fonts) and writes a short lossless clip; labels are then computed by the same
trial encodes as for real clips. Generated clips may train, never judge: the model card's errors are measured on
real clips only.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..output import check_folder
from ..media.clips import write_lossless_frames

WORDS = ("frame", "encode", "shot", "quality", "bitrate", "render", "status", "error", "value", "total", "user",
         "process", "memory", "output", "input", "server", "client", "request", "update", "config", "level")


def _text(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(WORDS, n))


def terminal(size: tuple[int, int], n: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Small monospace-like text lines appearing on black and scrolling up, as a console or a log."""
    w, h = size
    line_h = max(8, h // 24)
    scale = line_h / 22.0
    colours = [(60, 220, 60), (230, 230, 230), (80, 200, 255)]
    lines: list[tuple[str, tuple[int, int, int]]] = []
    per_frame = rng.uniform(0.15, 0.6)
    acc = 0.0
    for _ in range(n):
        acc += per_frame
        while acc >= 1.0:
            acc -= 1.0
            lines.append((f"{rng.integers(0, 9999):04d} " + _text(rng, int(rng.integers(2, 7))),
                          colours[int(rng.integers(0, len(colours)))]))
        img = np.zeros((h, w, 3), np.uint8)
        visible = lines[-(h // line_h - 1):]
        for i, (s, c) in enumerate(visible):
            cv2.putText(img, s, (4, (i + 1) * line_h), cv2.FONT_HERSHEY_PLAIN, scale, c, 1, cv2.LINE_AA)
        yield img


def slides(size: tuple[int, int], n: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Presentation slides: a title, bullets and a chart on a flat background, a hard cut to the next slide."""
    w, h = size
    per_slide = max(1, n // 2)
    img = None
    for i in range(n):
        if i % per_slide == 0:
            bg = tuple(int(x) for x in rng.integers(200, 256, 3))
            img = np.full((h, w, 3), bg, np.uint8)
            ink = tuple(int(x) for x in rng.integers(0, 90, 3))
            cv2.putText(img, _text(rng, 3).title(), (w // 16, h // 7), cv2.FONT_HERSHEY_DUPLEX, h / 400, ink, 1,
                        cv2.LINE_AA)
            for b in range(int(rng.integers(3, 6))):
                y = h // 4 + b * h // 9
                cv2.circle(img, (w // 14, y - h // 60), max(2, h // 120), ink, -1, cv2.LINE_AA)
                cv2.putText(img, _text(rng, int(rng.integers(3, 7))), (w // 10, y), cv2.FONT_HERSHEY_SIMPLEX,
                            h / 720, ink, 1, cv2.LINE_AA)
            x0, y0 = int(w * 0.62), int(h * 0.85)
            for k in range(5):
                bh = int(rng.integers(h // 10, h // 2))
                col = tuple(int(x) for x in rng.integers(0, 256, 3))
                cv2.rectangle(img, (x0 + k * w // 20, y0 - bh), (x0 + k * w // 20 + w // 30, y0), col, -1)
        yield img.copy()


def ui(size: tuple[int, int], n: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """An application window: flat panels, a table of small text scrolling, a moving pointer."""
    w, h = size
    dark = bool(rng.integers(0, 2))
    bg, panel, ink = ((30, 30, 34), (48, 48, 54), (220, 220, 220)) if dark else ((245, 245, 245), (225, 228, 232),
                                                                             (40, 40, 40))
    row_h = max(10, h // 22)
    rows = [_text(rng, int(rng.integers(2, 5))) + f"  {rng.integers(0, 100000)}" for _ in range(200)]
    speed = rng.uniform(0.3, 1.5)
    px, py = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    vx, vy = rng.normal(0, 2, 2)
    for i in range(n):
        img = np.full((h, w, 3), bg, np.uint8)
        cv2.rectangle(img, (0, 0), (w, h // 12), panel, -1)
        cv2.rectangle(img, (0, h // 12), (w // 5, h), panel, -1)
        off = i * speed
        first = int(off // row_h)
        for k in range(h // row_h + 2):
            y = h // 12 + (k + 1) * row_h - int(off % row_h)
            if y < h // 12 + row_h // 2:
                continue
            cv2.putText(img, rows[(first + k) % len(rows)], (w // 5 + 8, y), cv2.FONT_HERSHEY_PLAIN, row_h / 16,
                        ink, 1, cv2.LINE_AA)
        px, py = (px + vx) % w, (py + vy) % h
        pts = np.array([[px, py], [px, py + 14], [px + 4, py + 10], [px + 10, py + 10]], np.int32)
        cv2.fillPoly(img, [pts], (255, 255, 255) if dark else (0, 0, 0), cv2.LINE_AA)
        yield img


def cartoon(size: tuple[int, int], n: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Flat-colour 2D animation: outlined shapes moving over a smooth sky and a flat ground."""
    w, h = size
    top, bottom = rng.integers(120, 256, 3), rng.integers(60, 200, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    sky = (top * (1 - t) + bottom * t).astype(np.uint8).repeat(w, axis=1)
    ground = tuple(int(x) for x in rng.integers(40, 160, 3))
    shapes = [(rng.uniform(0, w), rng.uniform(0.2 * h, 0.8 * h), rng.uniform(0.04, 0.12) * h, rng.normal(0, 3),
               rng.normal(0, 1), tuple(int(x) for x in rng.integers(0, 256, 3)), int(rng.integers(3, 8)))
              for _ in range(int(rng.integers(4, 9)))]
    for i in range(n):
        img = sky.copy()
        cv2.rectangle(img, (0, int(0.8 * h)), (w, h), ground, -1)
        for x, y, r, vx, vy, col, sides in shapes:
            cx, cy = (x + vx * i) % w, y + 10 * np.sin(vy * i / 10)
            ang = np.linspace(0, 2 * np.pi, sides, endpoint=False) + i * 0.05
            pts = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1).astype(np.int32)
            cv2.fillPoly(img, [pts], col, cv2.LINE_AA)
            cv2.polylines(img, [pts], True, (0, 0, 0), max(1, h // 180), cv2.LINE_AA)
        yield img


def rendered(size: tuple[int, int], n: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """A clean computer-generated scene: a shaded sphere over a receding checkerboard floor, the camera sliding."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = h * rng.uniform(0.35, 0.5)
    c1, c2 = rng.integers(30, 230, 3).astype(np.float32), rng.integers(30, 230, 3).astype(np.float32)
    sky_top, sky_bot = rng.integers(100, 256, 3).astype(np.float32), rng.integers(150, 256, 3).astype(np.float32)
    base = rng.integers(60, 256, 3).astype(np.float32)
    r = h * rng.uniform(0.12, 0.22)
    drift = rng.uniform(0.5, 2.0)
    for i in range(n):
        img = np.empty((h, w, 3), np.float32)
        t = np.clip(yy / horizon, 0, 1)[..., None]
        img[:] = sky_top * (1 - t) + sky_bot * t
        below = yy > horizon + 1
        depth = 40.0 / np.maximum(yy - horizon, 1.0)
        u = (xx - w / 2) * depth * 0.05 + i * drift * 0.05
        v = depth * 4 + i * drift * 0.1
        checker = ((np.floor(u) + np.floor(v)) % 2)[..., None]
        fog = np.clip(1 - depth / 4, 0, 1)[..., None]
        floor = (c1 * checker + c2 * (1 - checker)) * fog + sky_bot * (1 - fog)
        img = np.where(below[..., None], floor, img)
        cx, cy = w / 2 + w * 0.25 * np.sin(i * 0.02 * drift), horizon + r * 0.4
        dx, dy = (xx - cx) / r, (yy - cy) / r
        inside = dx * dx + dy * dy < 1
        nz = np.sqrt(np.clip(1 - dx * dx - dy * dy, 0, 1))
        shade = np.clip(0.25 + 0.75 * (-0.5 * dx - 0.5 * dy + 0.7 * nz), 0, 1)[..., None]
        img = np.where(inside[..., None], base * shade + 255 * shade ** 20, img)
        yield np.clip(img, 0, 255).astype(np.uint8)


KINDS: dict[str, Callable[[tuple[int, int], int, np.random.Generator], Iterator[np.ndarray]]] = {
    "terminal": terminal, "slides": slides, "ui": ui, "cartoon": cartoon, "rendered": rendered}


def make_synth_clips(out_dir: str | os.PathLike, size: tuple[int, int] = (640, 360), seconds: float = 4.0,
                     fps: int = 25, kinds: tuple[str, ...] = tuple(KINDS), per_kind: int = 3,
                     seed: int = 0) -> list[Path]:
    """``per_kind`` lossless clips of each kind in ``out_dir`` (``synth_KIND_K.mkv``); existing ones are kept."""
    out = Path(out_dir)
    check_folder(out, "output folder")
    paths = []
    for ki, kind in enumerate(kinds):
        for k in range(per_kind):
            dst = out / f"synth_{kind}_{k}.mkv"
            paths.append(dst)
            if dst.exists():
                continue
            rng = np.random.default_rng([seed, ki, k])
            frames = KINDS[kind](size, int(round(seconds * fps)), rng)
            write_lossless_frames(dst, frames, size, fps)
    return paths
