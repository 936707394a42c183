"""Batch inputs: which files a batch encodes and where each output goes.

`collect_items` scans a folder (outputs mirror the relative paths) or reads a
CSV/JSONL manifest (per-row outputs and plan overrides); `as_items` accepts
what `jndenc.batch.run` is given directly. Every item is keyed by its output
path relative to OUTPUT_DIR, the journal's primary key, and two items may not
share an output.
"""
from __future__ import annotations

import csv
import fnmatch
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import UserError
from ..media.clips import is_video_file
from ..media.segments import ENCODER_CHOICES
from .journal import STATE_DIR

def _number(v) -> float:
    """A manifest cell as a number: JSON's true/false are not (``"crf": true`` encoded at CRF 1)."""
    if isinstance(v, bool):
        raise ValueError(v)
    return float(v)


def _whole(v) -> int:
    """A manifest cell as a whole number (``"target_jnd": 2.7`` became 2)."""
    f = _number(v)
    if not f.is_integer():
        raise ValueError(v)
    return int(f)


def _margin(v) -> float | str:
    return v if v == "auto" else _number(v)


def _text(v) -> str:
    if not isinstance(v, str):
        raise ValueError(v)
    return v


# per-row manifest overrides, how to read them from CSV text or JSON, and what each takes (for messages)
OVERRIDES = {"target_jnd": _whole, "codec": _text, "encoder": _text, "preset": _text, "min_crf": _number,
             "max_crf": _number, "crf": _number, "margin": _margin, "mode": _text, "effort": _text}
_TAKES = {_whole: "a whole number", _number: "a number", _margin: "a number or 'auto'", _text: "text"}
_COLUMNS = ("input", "output", "source")


@dataclass
class Item:
    input: Path
    output: Path
    key: str  # output path relative to OUTPUT_DIR: the journal's primary key
    overrides: dict = field(default_factory=dict)
    source: str | None = None  # a manifest's ``source`` column: the series this file learns its start with

    @property
    def learns_with(self) -> str:
        """The source whose files' shots correct this file's start (`jndenc.batch.learning`): the manifest's
        ``source``, else the input's folder (one folder per series, as libraries keep them)."""
        return self.source if self.source is not None else str(self.input.parent)


def _key(output: Path, output_dir: Path) -> str:
    try:
        return output.resolve().relative_to(output_dir.resolve()).as_posix()
    except ValueError:  # a manifest may send an output elsewhere
        return str(output.resolve())


def _ext(container: str) -> str:
    return container if container.startswith(".") else f".{container}"


def _scan(input_dir: Path, output_dir: Path, pattern: str | None, recursive: bool) -> list[Path]:
    out_res = output_dir.resolve()
    found = []
    walker = os.walk(input_dir) if recursive else [(str(input_dir), [], os.listdir(input_dir))]
    for root, dirs, files in walker:
        # never descend into hidden dirs (our own .jndenc state), the output tree or another batch's output
        # folder (`in/` into `in/v2/` re-encoded the outputs an earlier `in/` into `in/v1/` left there)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (Path(root) / d).resolve() != out_res
                         and not (Path(root) / d / STATE_DIR / "journal.sqlite").is_file())
        for name in sorted(files):
            p = Path(root) / name
            if name.startswith(".") or not p.is_file():
                continue
            if pattern is not None and not fnmatch.fnmatch(name, pattern):
                continue
            if pattern is None and not is_video_file(p):
                continue
            found.append(p)
    return found


def _read_manifest(path: Path) -> list[dict]:
    if is_video_file(path):
        raise UserError(f"{path}: batch takes a folder or a CSV/JSONL list of inputs; "
                        "one file is `jndenc encode IN OUT`")
    try:
        # utf-8-sig: spreadsheets save "CSV UTF-8" with a byte-order mark, which made the first column
        # '\ufeffinput' and every row lack its input
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"{path}: cannot read manifest ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a CSV/JSONL manifest (not UTF-8 text); batch takes a folder or a "
                        "list of inputs") from None
    rows: list[dict] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UserError(f"{path}:{n}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise UserError(f"{path}:{n}: each line must be a JSON object (JSON Lines: one object a line)")
            rows.append(row)
    else:
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is not None and "input" not in reader.fieldnames:
            # a list of bare paths lost its first one to the header and ran none ("nothing to do")
            raise UserError(f"{path}: the first line must name the columns, 'input' among them (input, output, "
                            f"source, {', '.join(OVERRIDES)}); it reads {','.join(reader.fieldnames)!r}")
        for n, r in enumerate(reader, 1):
            if None in r:  # DictReader's key for cells past the header's
                raise UserError(f"{path}: row {n} has more cells than the first line names columns")
            # a spreadsheet's trailing comma names an empty column: nothing in it, nothing to refuse
            rows.append({k: v for k, v in r.items() if k != "" or (v or "").strip()})
    for n, row in enumerate(rows, 1):
        check_row(row, f"{path}: row {n}")
    return rows


def check_row(row: dict, where: str) -> None:
    """A `UserError` where a manifest row (or a dict item of `jndenc.batch.run`) has no input, a path that is not
    text, or a column jndenc does not know."""
    if not row.get("input"):
        raise UserError(f"{where} has no 'input'")
    for k in _COLUMNS:
        if row.get(k) is not None and not isinstance(row[k], (str, os.PathLike)):
            raise UserError(f"{where}: {k} must be a path (text), not {type(row[k]).__name__} {row[k]!r}")
    unknown = set(row) - set(_COLUMNS) - set(OVERRIDES)
    if unknown:
        raise UserError(f"{where}: unknown column(s) {', '.join(sorted(map(repr, unknown)))}; "
                        f"columns are input, output, source and the overrides {', '.join(OVERRIDES)}")


def _overrides(row: dict, where: str) -> dict:
    out = {}
    for k, conv in OVERRIDES.items():
        v = row.get(k)
        if v is None or v == "":  # empty CSV cell: no override
            continue
        try:
            out[k] = conv(v)
        except (TypeError, ValueError):
            raise UserError(f"{where}: {k}={v!r}: {k} takes {_TAKES[conv]}") from None
    # an unknown codec failed each of its files late, as "KeyError: 'name'"
    if "codec" in out and out["codec"] not in ENCODER_CHOICES:
        raise UserError(f"{where}: codec={out['codec']!r} is not one of {', '.join(ENCODER_CHOICES)}")
    return out


def _source(row: dict) -> str | None:
    v = row.get("source")
    return None if v is None or str(v).strip() == "" else str(v).strip()


def collect_items(source: str | os.PathLike, output_dir: str | os.PathLike, pattern: str | None = None,
                  recursive: bool = False, container: str = "mp4") -> list[Item]:
    """Items from a folder (outputs mirror relative paths) or a CSV/JSONL manifest.

    Folder: files whose name matches ``pattern`` (default: common video
    extensions), hidden files, the output folder and any other batch's
    output folder (one holding a journal) skipped. Manifest:
    ``input`` (relative to the manifest's folder), optional ``output``
    (relative to ``output_dir``; default: the input's stem + container),
    optional ``source`` (`Item.learns_with`) and per-row overrides (`OVERRIDES`).
    """
    source, output_dir = Path(source), Path(output_dir)
    ext = _ext(container)
    items: list[Item] = []
    if source.is_dir():
        if source.resolve() == output_dir.resolve():
            # outputs would become the next run's inputs (and could overwrite them)
            raise UserError(f"{output_dir}: OUTPUT_DIR must differ from the input folder")
        for p in _scan(source, output_dir, pattern, recursive):
            out = output_dir / p.relative_to(source).with_suffix(ext)
            items.append(Item(p.absolute(), out.absolute(), _key(out, output_dir)))
    elif source.is_file():
        for n, row in enumerate(_read_manifest(source), 1):
            inp = Path(row["input"])
            inp = inp if inp.is_absolute() else source.parent / inp
            out = Path(row["output"]) if row.get("output") else Path(inp.name).with_suffix(ext)
            out = out if out.is_absolute() else output_dir / out
            items.append(Item(inp.absolute(), out.absolute(), _key(out, output_dir),
                              _overrides(row, f"{source}: row {n}"), _source(row)))
    else:
        raise UserError(f"{source}: no such folder or manifest")
    return _check_unique(items)


def _check_unique(items: list[Item]) -> list[Item]:
    seen: dict[str, Item] = {}
    # a manifest row's output may name another row's input, which that row's encode would then replace
    inputs = {it.input.resolve(): it for it in items}
    for it in items:
        if it.key in seen:
            raise UserError(f"{seen[it.key].input} and {it.input} would both be written to {it.output}")
        seen[it.key] = it
        if it.output.resolve() in inputs:
            raise UserError(f"{it.input} would be written to {it.output}, an input of this batch")
    return items


def as_items(items: Iterable, output_dir: Path, container: str = "mp4") -> list[Item]:
    """`run` accepts Items, manifest-style dicts or bare input paths."""
    out: list[Item] = []
    for it in items:
        if isinstance(it, Item):
            out.append(it)
            continue
        row = it if isinstance(it, dict) else {"input": it}
        check_row(row, f"item {it!r}")
        inp = Path(row["input"]).absolute()
        dst = Path(row.get("output") or Path(inp.name).with_suffix(_ext(container)))
        dst = (dst if dst.is_absolute() else output_dir / dst).absolute()
        out.append(Item(inp, dst, _key(dst, output_dir), _overrides(row, str(inp)), _source(row)))
    return _check_unique(out)
