"""The `pocketdock` command: global options, error handling and command registration.

Each group of commands lives in its own module and registers itself on `cli`. Modules
import only click at the top; the engine, pydantic and the reconciler are imported inside
the commands, so `pocketdock --help` and `--version` stay fast.
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path
from typing import Any

import click

from pocketdock._version import __version__

EXIT_RUNTIME = 1
EXIT_USAGE = 2


class CliState:
    """What the global options said; every command reads it from the click context.

    A plain class rather than a dataclass: importing `dataclasses` would cost every
    `pocketdock --help` a few milliseconds.
    """

    __slots__ = ("file", "quiet", "socket", "verbose")

    def __init__(
        self,
        file: Path | None = None,
        socket: str | None = None,
        quiet: bool = False,
        verbose: int = 0,
    ) -> None:
        self.file = file
        self.socket = socket
        self.quiet = quiet
        self.verbose = verbose


class PocketDockGroup(click.Group):
    """Turns pocketdock's own errors into one clean line and the documented exit code.

    Anything else that escapes a command is a bug in pocketdock: it is reported in one
    line too (exit 1), with the traceback only under `-vv`.
    """

    def invoke(self, ctx: click.Context) -> Any:
        from pocketdock.errors import PocketDockError, SpecError

        try:
            return super().invoke(ctx)
        except SpecError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            ctx.exit(EXIT_USAGE)
        except PocketDockError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(getattr(exc, "exit_code", EXIT_RUNTIME))
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if getattr(ctx.find_root().obj, "verbose", 0) > 1:
                import traceback

                traceback.print_exc()
            click.echo(
                f"error: unexpected {type(exc).__name__}: {exc}; this is a bug in pocketdock "
                "(run with -vv to see where)",
                err=True,
            )
            ctx.exit(EXIT_RUNTIME)


def state(ctx: click.Context) -> CliState:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj


@click.group(cls=PocketDockGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="pocketdock")
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(path_type=Path),
    help="The project file (default: pocket-dock.toml here or in a parent directory).",
)
@click.option(
    "--socket",
    metavar="ENDPOINT",
    help="Engine endpoint: a socket path, unix://PATH or tcp://HOST:PORT "
    "(default: POCKETDOCK_SOCKET, DOCKER_HOST, then the usual Podman and Docker sockets).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and requested data.")
@click.option("-v", "--verbose", count=True, help="Log engine requests (-v) and more (-vv).")
@click.pass_context
def cli(
    ctx: click.Context, file: Path | None, socket: str | None, quiet: bool, verbose: int
) -> None:
    """pocketdock: container sandboxes declared in pocket-dock.toml.

    Declarative commands (up, down, sync, plan, status, watch) act on the project file;
    the others manage single sandboxes by name.
    """
    ctx.obj = CliState(file=file, socket=socket, quiet=quiet, verbose=verbose)
    if verbose:
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger = logging.getLogger("pocketdock")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


def _register() -> None:
    # Each module adds its commands to `cli` when imported; they need `cli` defined first.
    from pocketdock.cli import project_cmds, sandbox_cmds, spec_cmds, watch_cmd  # noqa: F401


_register()


def _print_request_count() -> None:
    # Read through sys.modules: a command that never reached the engine imported no client.
    client = sys.modules.get("pocketdock.engine.client")
    count = client.total_requests() if client is not None else 0
    print(f"pocketdock: {count} engine requests", file=sys.stderr)


def main() -> None:
    if os.environ.get("POCKETDOCK_REQUEST_STATS") == "1":
        atexit.register(_print_request_count)
    cli(prog_name="pocketdock")
