"""Commands on single sandboxes by name: list, stop, resume, destroy, prune."""

from __future__ import annotations

import click

from pocketdock.cli.main import cli, state
from pocketdock.cli.output import confirm, echo_json, table


@cli.command("list")
@click.option("--project", help="Only this project's sandboxes.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def list_cmd(ctx: click.Context, project: str | None, as_json: bool) -> None:
    """List every pocketdock-managed container, running or stopped."""
    from dataclasses import asdict

    from pocketdock.sandbox.containers import list_containers

    items = list_containers(project=project, socket_path=state(ctx).socket)
    if as_json:
        echo_json([asdict(item) for item in items])
        return
    if not items:
        if not state(ctx).quiet:
            click.echo("no pocketdock sandboxes", err=True)
        return
    rows = [
        [i.name, i.status, "yes" if i.persist else "no", i.project or "-", i.image, i.created_at]
        for i in items
    ]
    click.echo(table(["name", "status", "persist", "project", "image", "created"], rows))


@cli.command("stop")
@click.argument("name")
@click.pass_context
def stop_cmd(ctx: click.Context, name: str) -> None:
    """Stop the sandbox NAME; its files stay until it is destroyed."""
    from pocketdock.sandbox.containers import stop_container

    stop_container(name, socket_path=state(ctx).socket)
    if not state(ctx).quiet:
        click.echo(f"stopped {name}")


@cli.command("resume")
@click.argument("name")
@click.pass_context
def resume_cmd(ctx: click.Context, name: str) -> None:
    """Start the stopped sandbox NAME again, with its files as they were."""
    from pocketdock.sandbox.containers import resume_container

    resume_container(name, socket_path=state(ctx).socket)
    if not state(ctx).quiet:
        click.echo(f"resumed {name}")


@cli.command("destroy")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def destroy_cmd(ctx: click.Context, name: str, yes: bool) -> None:
    """Remove the sandbox NAME and everything in it, persistent or not."""
    from pocketdock.sandbox.containers import destroy_container

    if not confirm(f"Destroy sandbox {name} and all its files?", yes=yes):
        raise click.exceptions.Exit(1)
    destroy_container(name, socket_path=state(ctx).socket)
    if not state(ctx).quiet:
        click.echo(f"destroyed {name}")


@cli.command("prune")
@click.option("--project", help="Only this project's sandboxes.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def prune_cmd(ctx: click.Context, project: str | None, yes: bool) -> None:
    """Remove every stopped sandbox (persistent ones too); running ones are kept."""
    from pocketdock.sandbox.containers import prune

    scope = f"of project {project} " if project else ""
    if not confirm(f"Remove every stopped pocketdock sandbox {scope}and its files?", yes=yes):
        raise click.exceptions.Exit(1)
    removed = prune(project=project, socket_path=state(ctx).socket)
    if not state(ctx).quiet:
        click.echo(f"removed {removed} stopped sandbox(es)")
