"""``jndenc`` command line: a thin layer over the library API.

Each command lives in its own module; this one only wires them into a group
and turns library errors into one stderr line plus an exit code.
"""
from __future__ import annotations

import importlib

import click

from .common import JndGroup

# command name -> "module:attribute", imported only when the command runs so
# that `jndenc --help` and `jndenc doctor` do not pay for importing TensorFlow.
COMMANDS = {
    "encode": "jndenc.cli.encode:encode",
    "predict": "jndenc.cli.predict:predict",
    "demo": "jndenc.cli.demo:demo",
    "doctor": "jndenc.cli.doctor:doctor",
    "dataset": "jndenc.cli.dataset:dataset",
    "train": "jndenc.cli.train:train",
    "bench": "jndenc.cli.bench:bench",
    "calibrate": "jndenc.cli.calibrate:calibrate",
    "test": "jndenc.cli.train:test",
    "batch": "jndenc.cli.batch:batch",
    "export": "jndenc.cli.export:export",
}


class LazyGroup(JndGroup):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jndenc")
def main() -> None:
    """JND-guided per-shot rate control: every shot encoded, measured with VMAF and corrected (x264, x265, AV1, VP9)."""
