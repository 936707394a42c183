"""Weight files and their sidecar metadata.

Formats, chosen by suffix:
- `.keras`: Keras 3 native archive (the shipped format).
- `.h5` / `.hdf5`: legacy Keras 2 HDF5 weights (`layer_names` attribute, one
  group per layer), loaded *by layer name* so the MTJND authors' published
  `MT_3LJND.h5`-style checkpoints load into our builders.
- `.weights.h5`: Keras 3 weights-only file.

Every file we write gets a sidecar `<file>.json` (e.g. `best.h5.json`) with
the metadata that says what the weights mean (architecture, input shape,
colour order, label units, encoder, thresholds, data digest). Loading refuses
weights whose sidecar names another architecture or input shape.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ..fileio import interrupts_deferred, temp_name, write_text_atomic
from ..errors import UserError, first_line

METADATA_VERSION = 1


def sidecar_path(weights_path: str | Path) -> Path:
    p = Path(weights_path)
    return p.with_name(p.name + ".json")


def read_metadata(weights_path: str | Path) -> dict[str, Any] | None:
    """The sidecar metadata of `weights_path`, or None when it has none."""
    side = sidecar_path(weights_path)
    if not side.is_file():
        return None
    try:
        data = json.loads(side.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read weights metadata {side}: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"weights metadata {side} is not a JSON object")
    return data


def write_metadata(weights_path: str | Path, metadata: dict[str, Any]) -> Path:
    return write_text_atomic(sidecar_path(weights_path),
                             json.dumps(metadata, indent=2, sort_keys=True, default=str) + "\n")


def _is_legacy_h5(path: Path) -> bool:
    name = path.name.lower()
    return (name.endswith(".h5") or name.endswith(".hdf5")) and not name.endswith(".weights.h5")


def model_metadata(model, architecture: str, **extra: Any) -> dict[str, Any]:
    """Metadata describing `model`; `extra` adds or overrides fields (label_units, encoder, ...)."""
    from . import arch_info, frames_shape

    info = arch_info(architecture)
    meta: dict[str, Any] = {
        "format_version": METADATA_VERSION,
        "architecture": architecture,
        "input_shape": list(frames_shape(model)),
        "colour_order": info.colour_order,
        "uses_motion": info.uses_motion,
        "outputs": list(model.output_names),
        "label_units": "QP",
        "params": int(model.count_params()),
    }
    meta.update({k: v for k, v in extra.items() if v is not None})
    return meta


def save_model(model, path: str | Path, metadata: dict[str, Any]) -> Path:
    """Save weights (format by suffix) and the sidecar JSON; writes atomically via a temp name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # keep the real suffix on the temp file: Keras picks the format from it
    tmp = temp_name(path, keep_suffix=True)  # renamed with its sidecar, below
    try:
        if _is_legacy_h5(path):
            import h5py
            from keras.src.legacy.saving import legacy_h5_format

            with h5py.File(tmp, "w") as f:
                legacy_h5_format.save_weights_to_hdf5_group(f, model)
        elif path.name.endswith(".weights.h5"):
            model.save_weights(tmp)
        elif path.suffix == ".keras":
            model.save(tmp)
        else:
            raise UserError(f"unsupported weights file suffix for {path}: use .keras, .h5 or .weights.h5")
        with interrupts_deferred():  # new weights and their sidecar, or neither
            os.replace(tmp, path)
            write_metadata(path, metadata)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def check_metadata(meta: dict[str, Any] | None, architecture: str, input_shape: tuple[int, ...] | None, path: Path) -> None:
    """Refuse weights trained for another architecture or input shape."""
    if not meta:
        return
    arch = meta.get("architecture")
    if arch is not None and arch != architecture:
        raise UserError(f"weights {path} are for architecture {arch!r}, not {architecture!r} (see {sidecar_path(path).name})")
    shape = meta.get("input_shape")
    if shape is not None and input_shape is not None and tuple(int(d) for d in shape) != tuple(int(d) for d in input_shape):
        raise UserError(
            f"weights {path} were trained at input shape {tuple(shape)}, but the model takes {tuple(input_shape)}"
        )


def _weighted_layers(model) -> list:
    return [layer for layer in model.layers if layer.weights]


def _load_legacy_h5(model, path: Path) -> None:
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise UserError(f"{path} is not a Keras HDF5 weights file (no layer_names)")
        names = [n.decode("utf8") if hasattr(n, "decode") else str(n) for n in group.attrs["layer_names"]]
        stored = {n for n in names if len(group[n].attrs.get("weight_names", [])) > 0}
        ours = {layer.name for layer in _weighted_layers(model)}
        missing = sorted(ours - stored)
        try:
            if not missing:
                legacy_h5_format.load_weights_from_hdf5_group_by_name(group, model)
            elif len(stored) == len(ours):
                # Same structure, other layer names (e.g. Keras 2 auto names such
                # as dense_3 for the hidden head layers): fall back to layer order.
                legacy_h5_format.load_weights_from_hdf5_group(group, model)
            else:
                raise UserError(
                    f"{path} does not fit {model.name}: no weights for layer(s) {', '.join(missing[:5])}"
                    + (" ..." if len(missing) > 5 else "")
                )
        except ValueError as exc:
            raise UserError(f"{path} does not fit {model.name}: {first_line(exc)}") from None


def check_weights_file(path: Path) -> None:
    """Refuse a weights file whose bytes are not the container its suffix names (or are cut short).

    Keras and h5py fail on such a file with BadZipFile or OSError, which read as internal errors.
    """
    if not path.is_file():
        return  # load_weights_into says "not found"
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
            if bad is not None:
                raise UserError(f"{path} is damaged ({bad} in it fails its checksum)")
        elif path.name.lower().endswith((".h5", ".hdf5")):
            import h5py

            with h5py.File(path, "r"):
                pass
    except (zipfile.BadZipFile, OSError) as exc:
        kind = "a Keras model (.keras zip archive)" if path.suffix == ".keras" else "an HDF5 weights file"
        raise UserError(f"{path} is not {kind}: {str(exc).strip() or type(exc).__name__}") from None


def load_weights_into(model, path: str | Path, architecture: str | None = None) -> dict[str, Any] | None:
    """Load weights from `path` into `model` and return the sidecar metadata (or None).

    `.h5` files load by layer name; `.keras` and `.weights.h5` by structure.
    `architecture` defaults to `model.name` (our builders name models after
    their architecture).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"weights file not found: {path}")
    check_weights_file(path)
    meta = read_metadata(path)
    from . import frames_shape

    check_metadata(meta, architecture or model.name, frames_shape(model), path)
    if _is_legacy_h5(path):
        _load_legacy_h5(model, path)
        return meta
    if path.suffix == ".tflite":  # found beside the weights it was exported from, never loaded on its own
        raise UserError(f"{path}: pass the .keras (or .h5) weights it was exported from; the .tflite beside them is "
                        "found and run")
    if path.suffix != ".keras" and not path.name.endswith(".weights.h5"):
        raise UserError(f"unsupported weights file suffix for {path}: use .keras, .h5 or .weights.h5")
    try:
        model.load_weights(str(path))
    except (ValueError, OSError, KeyError) as exc:
        raise UserError(f"{path} does not fit {model.name}: {first_line(exc)}") from None
    return meta
