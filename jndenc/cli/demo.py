"""`jndenc demo`: encode the clip shipped in the package and show what happened."""
from __future__ import annotations

import json
from importlib import resources

import click

from .common import debug_option
from .report import print_result


@click.command()
@click.option("--out", "dst", type=click.Path(dir_okay=False), default="jndenc-demo.mp4", show_default=True,
              help="Where the demo's encode goes; a file already there is replaced (it is the demo's scratch file).")
@click.option("--mode", type=click.Choice(["predict", "search"]), default=None,
              help="Default: the default effort level (balanced) with the shipped weights, search if none ship.")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@debug_option
def demo(dst, mode, quiet, as_json, debug):
    """Encode a short real clip (CC-BY-4.0, shipped in the package) and print the plan and result."""
    from ..encode import encode

    if mode is None:
        try:
            from ..predictor import default_weights_path

            mode = None if default_weights_path() else "search"
        except ImportError:
            mode = "search"
    with resources.as_file(resources.files("jndenc") / "assets" / "demo.mkv") as src:
        if not quiet and not as_json:
            click.echo(f"demo: {src.name} -> {dst} ({'mode ' + mode if mode else 'effort balanced'})")
        result = encode(src, dst, overwrite=True, mode=mode, quiet=quiet or as_json)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    elif not quiet:
        if result.to_dict().get("loop") is None:  # a one-pass plan ran as these arguments; the loop's shots did not
            click.echo(f"plan zones: {result.plan.zones_string()}")
            click.echo(f"ffmpeg arguments: {' '.join(result.plan.ffmpeg_args())}")
        print_result(result)
