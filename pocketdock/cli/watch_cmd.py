"""`pocketdock watch`: keep the engine converged on the project file until stopped."""

from __future__ import annotations

import click

from pocketdock.cli.main import cli, state


@cli.command("watch")
@click.option(
    "--interval",
    type=click.FloatRange(min=1.0),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Time between full re-checks, which catch anything the event stream missed.",
)
@click.option(
    "--down-on-exit", is_flag=True, help="Run `down` before exiting on Ctrl-C or SIGTERM."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per event (NDJSON).")
@click.pass_context
def watch_cmd(ctx: click.Context, interval: float, down_on_exit: bool, as_json: bool) -> None:
    """Converge on pocket-dock.toml now, then on every change until Ctrl-C.

    Re-plans on each save of the file (bursts of writes count once; a broken save is
    reported and changes nothing), restores sandboxes stopped or removed behind its
    back, re-checks everything every --interval seconds, and copies each sandbox's
    `sync` directories into it. Ctrl-C or SIGTERM exits 0 and leaves the sandboxes as
    they are (unless --down-on-exit).
    """
    from pathlib import Path

    from pocketdock.spec.loader import FILE_NAME, find_project_file
    from pocketdock.watch.controller import Controller, Reporter, WatchOptions

    cli_state = state(ctx)
    if cli_state.file is None:
        file = find_project_file(Path.cwd())
    elif cli_state.file.is_dir():
        file = cli_state.file / FILE_NAME
    else:
        file = cli_state.file
    options = WatchOptions(
        file=file.absolute(),
        socket_path=cli_state.socket,
        interval=interval,
        down_on_exit=down_on_exit,
    )
    reporter = Reporter(as_json=as_json, quiet=cli_state.quiet)
    ctx.exit(Controller(options, reporter).run())
