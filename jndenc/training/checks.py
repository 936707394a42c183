"""Checks and small file helpers shared by training (`jndenc.training.train.fit`) and testing
(`jndenc.training.evaluate.evaluate`): the input shape and JND column a model is built for, output paths refused
before any work, and text files written whole or not at all."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, TextIO

from ..errors import UserError
from ..fileio import replaced
from ..output import check_folder
from ..models import ArchInfo


def resolve_shape(info: ArchInfo, input_shape: tuple[int, ...] | None) -> tuple[int, int, int]:
    if input_shape is None:
        return info.input_shape
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 2:
        shape = (*shape, info.channels)
    if len(shape) != 3 or min(shape) <= 0:
        raise UserError(f"bad input shape {input_shape}: expected (height, width[, channels])")
    return shape  # type: ignore[return-value]


def check_column(info: ArchInfo, jnd_column: int | None) -> int | None:
    if jnd_column is not None and jnd_column not in (0, 1, 2):
        raise UserError(f"--jnd_column must be 0, 1 or 2, not {jnd_column}")
    if info.jnd_heads == ("JND_output",) and jnd_column is None:
        return 0
    return jnd_column


def weights_column(info: ArchInfo, jnd_column: int | None, meta: dict[str, Any], path: Path) -> int | None:
    """The JND level a single-head model's weights predict: their sidecar's when none is given, another refused.

    Without this, `test --jnd_column 0` on a JND3 head labelled its JND3 predictions JND1 and scored them
    against the JND1 labels, and `--resume` without the flag trained that head on JND1 (the default).
    """
    trained = meta.get("jnd_column")
    if info.jnd_heads != ("JND_output",) or trained is None:
        return check_column(info, jnd_column)
    if jnd_column is not None and int(jnd_column) != int(trained):
        raise UserError(f"weights {path} predict JND{int(trained) + 1} (trained with --jnd_column {int(trained)}), "
                        f"not JND{int(jnd_column) + 1}")
    return check_column(info, int(trained))


def check_output_path(path: Path, what: str) -> None:
    """Refuse, before any work, an output path no file can be written to: a folder, or one under a file."""
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; name a file")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise UserError(f"{what} {path}: {parent} is a file, not a folder")
    if parent is not None:
        # found at the first save otherwise: after the data is loaded and an epoch has run (hours for VGG16)
        check_folder(parent, f"{what} {path}: folder")


def check_checkpoint_suffix(path: Path) -> None:
    # save_model refuses other suffixes only at the first save, after the data is loaded and an epoch has run
    # (hours for the VGG16 models)
    if not (path.suffix == ".keras" or path.name.lower().endswith((".h5", ".hdf5"))):
        raise UserError(f"unsupported weights file suffix for {path}: use .keras, .h5 or .weights.h5")


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[TextIO]:
    """A text file written under a temp name and renamed into place: an interrupt leaves the old file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced(path) as tmp, open(tmp, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
        yield f
