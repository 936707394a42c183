"""`jndenc export WEIGHTS`: convert Keras weights for the light runtime (see jndenc.models.export)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .common import debug_option


@click.command()
@click.argument("weights", type=click.Path(dir_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None,
              help="Converted file (default: beside WEIGHTS, .keras -> .tflite).")
@click.option("--architecture", default=None, help="Architecture, when WEIGHTS has no metadata sidecar naming it.")
@click.option("--json", "as_json", is_flag=True, help="Print the converted file's metadata as JSON.")
@debug_option
def export(weights, out, architecture, as_json, debug):
    """Convert WEIGHTS (.keras/.h5 + sidecar) to a .tflite file that predicts without TensorFlow.

    The converted file is refused unless it matches the Keras model within 0.01
    CRF on a fixed batch; its sidecar records the SHA-256 of WEIGHTS, and the
    predictor uses it only while that still matches.
    """
    from ..models.export import export as run
    from ..output import check_side_file
    from ..runtime import light_path, read_light_metadata
    from ..models.io import check_weights_file

    check_weights_file(Path(weights))
    # refused here, before the conversion: the temp file's write failed as an internal error
    check_side_file(out if out is not None else light_path(weights), "-o" if out is not None else "export to")
    path = run(weights, out, architecture)
    meta = read_light_metadata(path) or {}
    if as_json:
        click.echo(json.dumps({"output": str(path), **{k: meta.get(k) for k in
                                                      ("architecture", "source", "source_sha256", "sha256",
                                                       "parity_max_abs")}}))
    else:
        click.echo(f"{path} (from {meta.get('source')}, max difference {meta.get('parity_max_abs')} CRF)")
