"""Label keys pocketdock puts on the containers and images it creates.

All keys live under one prefix. The imperative layer writes the first group; the
reconciler adds the second so it can recognise a project's sandboxes and their settings.
"""

PREFIX = "pocketdock."

MANAGED = PREFIX + "managed"  # "true" on every container pocketdock created
INSTANCE = PREFIX + "instance"  # the container's name as the user chose it
PERSIST = PREFIX + "persist"  # "true" / "false"
PROJECT = PREFIX + "project"  # project name, "" when none
DATA_PATH = PREFIX + "data-path"  # the instance directory on the host, when there is one

PROJECT_ID = PREFIX + "project-id"  # identity of the pocket-dock.toml (its absolute path)
PROJECT_FILE = PREFIX + "project-file"  # that path, so conflicts can name the other checkout
SANDBOX = PREFIX + "sandbox"  # the sandbox's name in the file
SPEC_HASH = PREFIX + "spec-hash"  # hash of the sandbox's effective settings and image id
SPEC = PREFIX + "spec"  # the canonical settings JSON that SPEC_HASH hashes, for change reasons
SNAPSHOT_RECIPE = PREFIX + "snapshot-recipe"  # on recipe snapshot images: the recipe hash


def flag(value: bool) -> str:
    return "true" if value else "false"
