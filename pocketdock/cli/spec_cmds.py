"""`init`, `validate` and `schema`: the commands about pocket-dock.toml itself.

Only click is imported at module level; pydantic and tomlkit load inside the commands so
`pocketdock --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from pocketdock.cli.main import EXIT_RUNTIME, cli, state

FILE_NAME = "pocket-dock.toml"


@cli.command()
@click.option("--name", help="Project name (default: derived from the directory name).")
@click.option(
    "--image",
    default="busybox:latest",
    show_default=True,
    help="Image of the template's sandboxes.",
)
@click.pass_context
def init(ctx: click.Context, name: str | None, image: str) -> None:
    """Write a commented pocket-dock.toml here (or at -f); never overwrites."""
    import re

    from pocketdock.spec.loader import parse_project
    from pocketdock.spec.models import NAME_PATTERN, NAME_RULE
    from pocketdock.spec.template import render

    if name is not None and not re.match(NAME_PATTERN, name):
        raise click.BadParameter(f"{name!r}: {NAME_RULE}", param_hint="--name")
    if not image or any(ch.isspace() for ch in image):
        raise click.BadParameter(f"{image!r} is not an image reference", param_hint="--image")

    file = _init_target(state(ctx).file)
    text = render(name, image)
    parse_project(text, file)  # the template must load; a bad value never reaches disk
    try:
        with file.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        click.echo(f"error: {file} already exists; not overwriting it", err=True)
        ctx.exit(EXIT_RUNTIME)
    except OSError as exc:
        click.echo(f"error: cannot write {file}: {exc.strerror or exc}", err=True)
        ctx.exit(EXIT_RUNTIME)

    _write_local_files(file.parent)
    if not state(ctx).quiet:
        click.echo(f"created {file}; check it with `pocketdock validate`")


def _init_target(option: Path | None) -> Path:
    if option is None:
        return Path.cwd() / FILE_NAME
    return option / FILE_NAME if option.is_dir() else option


def _write_local_files(directory: Path) -> None:
    from pocketdock.spec.edit import ensure_gitignore_entry, write_atomic
    from pocketdock.spec.schema import schema_text
    from pocketdock.spec.template import SCHEMA_RELATIVE_PATH

    ensure_gitignore_entry(directory, ".pocketdock/")
    schema_file = directory / SCHEMA_RELATIVE_PATH
    schema_file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(schema_file, schema_text())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the configuration as JSON.")
@click.pass_context
def validate(ctx: click.Context, as_json: bool) -> None:
    """Check pocket-dock.toml and print the effective configuration.

    Defaults are merged and host paths resolved. Any problem is printed as
    FILE:LINE:COLUMN: KEY: MESSAGE and the exit code is 2.
    """
    import json

    from pocketdock.spec.loader import load_project

    project = load_project(state(ctx).file)
    data = project.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(_as_toml(data))


def _as_toml(data: dict[str, object]) -> str:
    import tomlkit

    header = f"# {data['file']}: valid\n"
    return header + tomlkit.dumps(_drop_empty(data))


def _drop_empty(data: dict[str, object]) -> dict[str, object]:
    # TOML has no null, and empty tables and arrays only add noise to the listing.
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _drop_empty(value)
        if value is not None and value != {} and value != []:
            out[key] = value
    return out


@cli.command()
@click.option(
    "--write",
    is_flag=True,
    help="Write it to .pocketdock/pocket-dock.schema.json next to the project file, "
    "where the `#:schema` line of `init`'s template points.",
)
@click.pass_context
def schema(ctx: click.Context, write: bool) -> None:
    """Print the JSON Schema of pocket-dock.toml."""
    from pocketdock.spec.edit import write_atomic
    from pocketdock.spec.loader import find_project_file
    from pocketdock.spec.schema import schema_text
    from pocketdock.spec.template import SCHEMA_RELATIVE_PATH

    if not write:
        click.echo(schema_text(), nl=False)
        return
    option = state(ctx).file
    file = find_project_file(Path.cwd()) if option is None else _init_target(option)
    target = file.parent / SCHEMA_RELATIVE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, schema_text())
    if not state(ctx).quiet:
        click.echo(f"wrote {target}")
