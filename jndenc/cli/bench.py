"""`jndenc bench bdrate ...`: the benchmarks of `benchmarks/` from the installed package."""
from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Benchmarks (BD-rate vs a fixed-CRF ladder)."""


@bench.command("bdrate", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                           "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bdrate(args) -> None:
    """BD-rate of jndenc vs fixed CRF (same options as benchmarks/bdrate.py; --help for them)."""
    from ..bench.bdrate import main

    code = main(list(args))
    if code:
        raise SystemExit(code)
