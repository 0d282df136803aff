"""The declarative commands: plan, up, sync, down, status, exec, snapshot."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import click

from pocketdock.cli.main import EXIT_RUNTIME, cli, state
from pocketdock.cli.output import confirm, echo_json, style, table

if TYPE_CHECKING:
    from pocketdock.reconcile.apply import ApplyEvent, ApplyResult
    from pocketdock.reconcile.plan import Action
    from pocketdock.reconcile.project import Project


def _project(ctx: click.Context) -> Project:
    from pocketdock.reconcile.project import Project

    cli_state = state(ctx)
    return Project.load(cli_state.file, socket_path=cli_state.socket)


def complete_sandbox(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion: the sandbox names declared in the project file."""
    from click.shell_completion import CompletionItem

    from pocketdock.errors import PocketDockError
    from pocketdock.spec.loader import load_project

    file = ctx.find_root().params.get("file")
    try:
        spec = load_project(file)
    except PocketDockError:
        return []
    return [CompletionItem(n) for n in spec.sandboxes if n.startswith(incomplete)]


def _action_json(action: Action) -> dict[str, Any]:
    return {
        "kind": action.kind.value,
        "sandbox": action.sandbox,
        "target": action.target,
        "container": action.container_name,
        "reason": action.reason,
    }


class Progress:
    """Prints one line when an action starts and one when it ends, with elapsed time."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, event: ApplyEvent) -> None:
        if self.quiet:
            return
        action = event.action
        if event.phase == "started":
            click.echo(
                f"{style('->', 'blue')} {action.kind.value} {action.target}: {action.reason}"
            )
            return
        outcome = event.outcome
        assert outcome is not None
        if outcome.ok:
            from pocketdock.reconcile.apply import DONE

            word = DONE[action.kind]
            extra = f"; {outcome.detail}" if outcome.detail else ""
            click.echo(
                f"{style('ok', 'green')} {word} {action.target} ({outcome.seconds:.1f} s){extra}"
            )
        else:
            click.echo(
                f"{style('FAILED', 'red')} {action.kind.value} {action.target}: {outcome.error}"
            )


def _report(
    command: str,
    result: ApplyResult,
    started: float,
    *,
    quiet: bool,
    as_json: bool,
    declared: Collection[str] | None = None,
) -> None:
    """Summary line, blocked warnings, and exit 1 when anything failed.

    With `declared`, containers of the project that the file no longer declares and
    that the command left alone are listed too, so `up` reports its orphans.
    """
    if as_json:
        outcomes = [
            {
                **_action_json(o.action),
                "ok": o.ok,
                "seconds": round(o.seconds, 3),
                "error": o.error,
                "detail": o.detail,
            }
            for o in result.outcomes
        ]
        echo_json({"command": command, "failed": result.failed, "actions": outcomes})
    else:
        for outcome in result.blocked:
            click.echo(
                f"{style('blocked', 'yellow')} {outcome.action.target}: {outcome.action.reason}",
                err=True,
            )
        if declared is not None and not quiet:
            _report_orphans(result, declared)
        if not quiet:
            from pocketdock.reconcile.apply import DONE

            counts = Counter(DONE[o.action.kind] if o.ok else "failed" for o in result.outcomes)
            parts = [f"{n} {word}" for word, n in sorted(counts.items())]
            summary = ", ".join(parts) or "nothing to do"
            click.echo(f"{command}: {summary} ({time.perf_counter() - started:.1f} s)")
    if result.failed:
        if not as_json:
            click.echo(f"error: {len(result.failures())} action(s) failed:", err=True)
            for target, error in sorted(result.failures().items()):
                click.echo(f"  {target}: {error}", err=True)
        sys.exit(EXIT_RUNTIME)


def _report_orphans(result: ApplyResult, declared: Collection[str]) -> None:
    from pocketdock.reconcile.plan import ActionKind

    for outcome in result.outcomes:
        action = outcome.action
        orphan = action.container_id is not None and action.sandbox not in declared
        if orphan and action.kind is ActionKind.NOOP:
            click.echo(
                f"{style('undeclared', 'yellow')} {action.container_name}: {action.reason}",
                err=True,
            )


def _on_wait(message: str) -> None:
    click.echo(message, err=True)


def _parallel_option(function: Any) -> Any:
    return click.option(
        "--parallel",
        type=click.IntRange(1, 64),
        default=8,
        show_default=True,
        help="Actions to run at once.",
    )(function)


def _json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON only.")(function)


@cli.command("plan")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of actions.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when in sync, 2 when changes are pending, 1 on error.",
)
@click.option("--prune-persistent", is_flag=True, help="Plan as `sync --prune-persistent`.")
@click.pass_context
def plan_cmd(
    ctx: click.Context, as_json: bool, detailed_exitcode: bool, prune_persistent: bool
) -> None:
    """Show what `sync` would do, sandbox by sandbox, with reasons. Changes nothing."""
    from pocketdock.reconcile.plan import ActionKind

    actions = _project(ctx).plan("sync", prune_persistent=prune_persistent)
    pending = [a for a in actions if a.kind is not ActionKind.NOOP]
    if as_json:
        echo_json([_action_json(a) for a in actions])
    else:
        rows = [[a.kind.value, a.target, a.reason] for a in actions]
        click.echo(table(["action", "target", "reason"], rows) if rows else "no sandboxes declared")
        if not state(ctx).quiet:
            click.echo(f"{len(pending)} change(s) pending" if pending else "in sync: nothing to do")
    if detailed_exitcode and pending:
        sys.exit(2)


@cli.command("up")
@click.argument("names", nargs=-1, shell_complete=complete_sandbox)
@click.option(
    "--recreate",
    multiple=True,
    metavar="NAME",
    shell_complete=complete_sandbox,
    help="Recreate NAME even if unchanged; a persistent one is backed up to an image first.",
)
@_parallel_option
@_json_option
@click.pass_context
def up_cmd(
    ctx: click.Context,
    names: tuple[str, ...],
    recreate: tuple[str, ...],
    parallel: int,
    as_json: bool,
) -> None:
    """Create missing sandboxes and start stopped ones (all, or NAMES)."""
    project = _project(ctx)
    quiet = state(ctx).quiet or as_json
    started = time.perf_counter()
    result = project.up(
        names or None, recreate, parallel=parallel, on_event=Progress(quiet=quiet), on_wait=_on_wait
    )
    _report("up", result, started, quiet=quiet, as_json=as_json, declared=project.spec.sandboxes)


@cli.command("sync")
@click.option(
    "--prune-persistent", is_flag=True, help="Also remove undeclared persistent sandboxes."
)
@_parallel_option
@_json_option
@click.pass_context
def sync_cmd(ctx: click.Context, prune_persistent: bool, parallel: int, as_json: bool) -> None:
    """Converge on the file: `up`, stop what is declared stopped, clear out the undeclared."""
    project = _project(ctx)
    quiet = state(ctx).quiet or as_json
    started = time.perf_counter()
    result = project.sync(
        prune_persistent, parallel=parallel, on_event=Progress(quiet=quiet), on_wait=_on_wait
    )
    _report("sync", result, started, quiet=quiet, as_json=as_json)


@cli.command("down")
@click.argument("names", nargs=-1, shell_complete=complete_sandbox)
@click.option(
    "--destroy", is_flag=True, help="Remove everything of this project, persistent sandboxes too."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --destroy.")
@_parallel_option
@_json_option
@click.pass_context
def down_cmd(
    ctx: click.Context,
    names: tuple[str, ...],
    destroy: bool,
    yes: bool,
    parallel: int,
    as_json: bool,
) -> None:
    """Remove ephemeral sandboxes and stop persistent ones (all, or NAMES)."""
    project = _project(ctx)
    if destroy and not confirm(
        f"Destroy every sandbox of project {project.spec.name}, "
        "persistent ones and their files too?",
        yes=yes,
    ):
        sys.exit(EXIT_RUNTIME)
    quiet = state(ctx).quiet or as_json
    started = time.perf_counter()
    result = project.down(
        names or None, destroy, parallel=parallel, on_event=Progress(quiet=quiet), on_wait=_on_wait
    )
    _report("down", result, started, quiet=quiet, as_json=as_json)


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """One row per declared sandbox and per undeclared container of this project."""
    rows = _project(ctx).status()
    if as_json:
        keys = ("sandbox", "container", "state", "persist", "image", "drift")
        echo_json([{k: getattr(r, k) for k in keys} for r in rows])
        return
    cells = [
        [
            r.sandbox if r.declared else f"{r.sandbox} (undeclared)",
            r.container,
            r.state,
            "yes" if r.persist else "no",
            r.image,
            "yes" if r.drift else "no",
        ]
        for r in rows
    ]
    click.echo(table(["sandbox", "container", "state", "persist", "image", "drift"], cells))


cli.add_command(status_cmd, "ps")


@cli.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("sandbox", shell_complete=complete_sandbox)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_cmd(ctx: click.Context, sandbox: str, command: tuple[str, ...]) -> None:
    """Run COMMAND in SANDBOX, streaming its output; exits with its exit code.

    Put `--` before the command: `pocketdock exec dev -- ls -la /work`.
    """
    project = _project(ctx)
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for stream, data in project.exec_stream(sandbox, list(command)):
        target = err if stream == 2 else out
        target.write(data)
        target.flush()
    sys.exit(project.last_exit_code or 0)


@cli.command("snapshot")
@click.argument("sandbox", shell_complete=complete_sandbox)
@click.option("--tag", help="Image tag (default pocketdock/<project>/<sandbox>:<UTC time>).")
@click.option(
    "--save-as", metavar="NAME", help="Record the image as [snapshots.NAME] in the project file."
)
@click.pass_context
def snapshot_cmd(ctx: click.Context, sandbox: str, tag: str | None, save_as: str | None) -> None:
    """Commit SANDBOX's filesystem to an image."""
    project = _project(ctx)
    if save_as is not None and not _valid_name(save_as):
        raise click.BadParameter("use lowercase letters, digits, - and _", param_hint="--save-as")
    image = project.snapshot(sandbox, tag=tag, save_as=save_as)
    click.echo(image)
    if save_as and not state(ctx).quiet:
        click.echo(
            f"recorded [snapshots.{save_as}] image = {json.dumps(image)} in {project.spec.file}",
            err=True,
        )


def _valid_name(name: str) -> bool:
    import re

    return re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", name) is not None
