"""`jndenc doctor`: which FFmpeg, and does it have what jndenc needs."""
from __future__ import annotations

import os

import click

from .common import debug_option


@click.command()
@debug_option
def doctor(debug):
    """Show the FFmpeg binary in use, check libx264, libx265, libvmaf (and the AV1 and VP9 encoders), and say which
    optional parts are installed."""
    from ..media.ffbin import REQUIRED, ffmpeg_info

    info = ffmpeg_info()
    click.echo(f"ffmpeg: {info.path}")
    click.echo(f"version: {info.version}" + (f"; it {info.broken}: set JNDENC_FFMPEG" if info.broken else ""))
    have = info.encoders | info.filters
    for name in REQUIRED:
        click.echo(f"  {name:10s} {'ok' if name in have else 'MISSING'}")
    if "libvmaf" in have:  # --vmaf-model's choices: built into libvmaf, unless it was built without them
        from ..media.ffargs import VMAF_MODELS
        from ..media.quality import has_model

        models = {m: has_model(m) for m in VMAF_MODELS}
        click.echo("  VMAF models: " + ", ".join(m if ok else f"{m} missing" for m, ok in models.items()))
    from ..media.segments import ENCODER_CHOICES

    # the other codecs' encoders are needed only where a user picks them (`--codec`, `--encoder`)
    for codec in ("av1", "vp9"):
        for name in ENCODER_CHOICES[codec]:
            flag = f"--codec {codec}" + ("" if name == ENCODER_CHOICES[codec][0] else f" --encoder {name}")
            click.echo(f"  {name:10s} {'ok' if name in have else f'missing ({flag} will not run)'}")
    try:
        from ..predictor import WEIGHTS_ENV, default_weights_path

        w = default_weights_path()
        env = os.environ.get(WEIGHTS_ENV)
        missing = (f"none: {WEIGHTS_ENV} names {env}, which does not exist" if env
                   else "none shipped")  # a set variable is the only place looked at, so name it
        click.echo(f"weights: {w if w else missing + ' (use --mode search or --weights)'}")
    except ImportError:
        pass
    from importlib.util import find_spec

    from .common import EXTRAS

    parts = {}
    for module, (what, extra) in EXTRAS.items():
        parts.setdefault((what, extra), []).append(module)
    click.echo(f"  inference (LiteRT)  {'ok' if find_spec('ai_edge_litert') else 'MISSING'}")
    for (what, extra), modules in parts.items():
        have = all(find_spec(m) for m in modules)
        click.echo(f"  {what}: {'installed' if have else f'not installed (pip install jndenc[{extra}])'}")
    # no extra of jndenc's: PySceneDetect requires the GUI opencv-python beside the headless one jndenc uses
    sd = "installed" if find_spec("scenedetect") else "not installed (pip install --no-deps scenedetect platformdirs)"
    click.echo(f"  --detector scenedetect-*: {sd}")
    if info.missing:
        raise click.exceptions.Exit(1)
