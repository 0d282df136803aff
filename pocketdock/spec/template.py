"""The commented pocket-dock.toml that `pocketdock init` writes.

Schema reference: editors that honour `#:schema` (Taplo / Even Better TOML, Tombi) resolve
a relative path against the TOML file itself, and user projects have no `schema/`
directory. So the template points at `./.pocketdock/pocket-dock.schema.json`, which
`init` writes from the installed pocketdock (so it always matches the version that will
validate the file) and `pocketdock schema --write` refreshes, e.g. after a fresh clone.
`.pocketdock/` is git-ignored local state, so the schema never needs committing.
"""

from __future__ import annotations

import tomlkit

SCHEMA_RELATIVE_PATH = ".pocketdock/pocket-dock.schema.json"
DEFAULT_IMAGE = "busybox:latest"

_TEMPLATE = """\
#:schema ./{schema}

# pocketdock project file: the sandboxes of this project.
# Check it with `pocketdock validate`; the schema above gives editors completion.

[project]
{name_line}

# Merged into every sandbox below; a sandbox's own keys win, tables merge by key.
[defaults]
image = {image}
mem_limit = "512m"
# env = {{ LANG = "C.UTF-8" }}

# A snapshot is a base image built from a recipe and cached:
# [snapshots.tools]
# from = {image}               # an image, or "snapshot:NAME" to build on another snapshot
# run = ["mkdir -p /work"]

# Ephemeral unless persist = true.
[sandboxes.scratch]

[sandboxes.dev]
persist = true
workdir = "/work"
# snapshot = "tools"           # instead of an image; set exactly one of the two
# volumes = {{ "./data" = "/data" }}   # host paths are relative to this file
# setup = ["echo ready > /tmp/ready"]  # run once, when the container is first created
# command = ["sleep", "infinity"]      # default: a keep-alive process
# cpus = 1.5
"""


def render(name: str | None = None, image: str = DEFAULT_IMAGE) -> str:
    """The template text; without `name`, the project is named after its directory."""
    if name is None:
        name_line = '# name = "my-project"         # default: derived from the directory name'
    else:
        name_line = f"name = {_toml_string(name)}"
    return _TEMPLATE.format(
        schema=SCHEMA_RELATIVE_PATH, name_line=name_line, image=_toml_string(image)
    )


def _toml_string(value: str) -> str:
    return tomlkit.string(value).as_string()
