"""Shared CLI plumbing: error reporting, exit codes, signal handling."""
from __future__ import annotations

import os
import signal
import sys
import traceback

import click

from ..errors import FFmpegError, JndencError


def _debug_requested() -> bool:
    return "--debug" in sys.argv or os.environ.get("JNDENC_DEBUG") == "1"


def _raise_interrupt(signum, frame):
    # SIGTERM behaves like Ctrl-C so that the same cleanup paths (temp files,
    # child FFmpeg processes) run, then exits 143 instead of 130.
    raise KeyboardInterrupt(signum)


# optional parts: the module a command missed -> (what needs it, the extra that installs it)
EXTRAS = {
    "tensorflow": ("training, export and .keras weights", "train"),
    "keras": ("training, export and .keras weights", "train"),
    "skimage": ("the label factory's derived clips", "train"),
    "dask": ("--dask / --dask-local", "dask"),
    "distributed": ("--dask / --dask-local", "dask"),
    "bjontegaard": ("the BD-rate benchmark", "bench"),
    "matplotlib": ("plots", "bench"),
}


# click 8.2 and later raise this for a group run without a command; older versions print the help themselves
_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())


class JndGroup(click.Group):
    """A click group whose commands fail with one line and a precise exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's own main, except that a usage error (an unknown option, a bad value, a missing argument) is one
        line on stderr like every other error, not click's usage block; the exit code stays click's (2)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            # without standalone mode click returns what ctx.exit() gave (our commands return nothing)
            code = super().main(args, prog_name, complete_var, False, **extra)
        except _NO_ARGS as exc:  # `jndenc` alone: the help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            path = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else (prog_name or "jndenc")
            hint = f" (see '{path} --help')" if isinstance(exc, click.UsageError) else ""
            # the line already starts with the program's name: name the subcommand only ("jndenc: error: encode: ...")
            where = path.split(" ", 1)[1] + ": " if " " in path else ""
            click.echo(f"jndenc: error: {where}{' '.join(exc.format_message().split())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("jndenc: interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            os.getcwd()
        except FileNotFoundError:  # relative paths, and the batch's worker processes, need it
            click.echo("jndenc: error: the current folder no longer exists (cd to another one)", err=True)
            ctx.exit(2)
        if sys.stdout is None and "--json" in sys.argv[1:]:  # started with stdout closed: the JSON would be lost
            click.echo("jndenc: error: --json: standard output is closed", err=True)
            ctx.exit(2)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            code = 143 if exc.args and exc.args[0] == signal.SIGTERM else 130
            click.echo("jndenc: interrupted", err=True)
            ctx.exit(code)
        except JndencError as exc:
            if _debug_requested():
                traceback.print_exc()
            msg = str(exc)
            if isinstance(exc, FFmpegError) and exc.log_tail:
                lines = exc.log_tail.strip().splitlines()
                # the last line that names an error, else the last line
                last = [l for l in lines if "rror" in l or "nvalid" in l or "failed" in l][-1:] or lines[-1:] or [""]
                msg = f"{msg}: {last[0].strip()}"
                if exc.log_path:
                    msg += f" (log: {exc.log_path})"
            click.echo(f"jndenc: error: {msg}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # the reader went away (`jndenc predict ... | head`): stop quietly, as Unix tools do, with SIGPIPE's
            # status; stdout goes to /dev/null so the interpreter's final flush does not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(141)
        except ModuleNotFoundError as exc:
            if exc.name not in EXTRAS:
                raise
            if _debug_requested():
                traceback.print_exc()
            what, extra = EXTRAS[exc.name]
            click.echo(f"jndenc: error: {what} needs {exc.name}, which is not installed: "
                       f"pip install 'jndenc[{extra}]'", err=True)
            ctx.exit(2)
        except Exception as exc:  # an internal error: still one line unless --debug
            debug = _debug_requested()
            if debug:
                traceback.print_exc()
            hint = "" if debug else " (rerun with --debug, or with JNDENC_DEBUG=1 set, for a traceback)"
            click.echo(f"jndenc: internal error: {type(exc).__name__}: {exc}{hint}", err=True)
            ctx.exit(1)


debug_option = click.option("--debug", is_flag=True, hidden=False, help="Show full tracebacks.")


class Sectioned(click.Command):
    """A command whose ``--help`` shows the options most users need first and the rest under headed sections.

    ``sections``: (title, option names) in order; options not named go under "Other options".
    """

    def __init__(self, *args, sections: tuple = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.sections = sections

    def format_options(self, ctx, formatter) -> None:
        help_option = self.get_help_option(ctx)
        records = {("help" if p is help_option else p.name): p.get_help_record(ctx)
                   for p in self.get_params(ctx) if isinstance(p, click.Option)}
        records = {k: v for k, v in records.items() if v}
        used: set[str] = set()
        for title, names in self.sections:
            rows = [records[n] for n in names if n in records]
            used.update(names)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        rest = [r for n, r in records.items() if n not in used]
        if rest:
            with formatter.section("Other options"):
                formatter.write_dl(rest)
