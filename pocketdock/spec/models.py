"""Pydantic models of pocket-dock.toml exactly as written, before defaults are merged.

Types are strict (`persist = "yes"` is an error, not a truthy string) and unknown keys are
errors. Checks that need more than one value (image versus snapshot, snapshot references,
cycles, host paths relative to the file) live in `pocketdock.spec.check`, which turns
these raw models into the effective ones of `pocketdock.spec.effective`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
)
from pydantic_core import PydanticCustomError

from pocketdock.sandbox.sizes import SizeTooLarge, parse_bytes

# Names end up in container names and image repositories (`pocketdock/<project>/<name>`),
# so they follow the engines' rule for a repository path component.
NAME_PATTERN = r"^[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*$"
NAME_MAX_LENGTH = 63
NAME_RULE = (
    "use lowercase letters and digits, joined by `-`, `_` or `__`, starting and ending "
    "with a letter or digit (at most 63 characters)"
)
MIN_MEM_BYTES = 6 * 1024 * 1024
RESERVED_LABEL_PREFIX = "pocketdock."


def _image_ref(value: str) -> str:
    if not value or any(ch.isspace() for ch in value):
        raise PydanticCustomError("image_ref", "expected an image reference without spaces")
    return value


def _container_path(value: str) -> str:
    if not value.startswith("/"):
        raise PydanticCustomError("container_path", "container path must be absolute")
    if ".." in value.split("/"):
        raise PydanticCustomError("container_path", "container path must not contain `..`")
    return value


def _label_key(value: str) -> str:
    if value.startswith(RESERVED_LABEL_PREFIX):
        raise PydanticCustomError(
            "label_key", "label keys starting with `pocketdock.` are reserved for pocketdock"
        )
    return value


def parse_size(value: str) -> int:
    """Bytes in a Docker-style size (`512m`, `1.5g`, `1024k`); binary units, any case."""
    try:
        return parse_bytes(value)
    except SizeTooLarge:
        raise PydanticCustomError("mem_limit", "is larger than any engine accepts") from None
    except ValueError:
        raise PydanticCustomError(
            "mem_limit", 'expected a size like "512m" or "1g", got {value}', {"value": value}
        ) from None


def _mem_limit_str(value: str) -> str:
    _check_min_mem(parse_size(value))
    return value


def _check_min_mem(size: int) -> int:
    if size < MIN_MEM_BYTES:
        raise PydanticCustomError("mem_limit", "must be at least 6 MiB (the engine's minimum)")
    return size


def toml_type(value: Any) -> str | None:
    # Chooses the union member by the TOML type, so a wrong type gives one clear error.
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return None


ImageRef = Annotated[str, AfterValidator(_image_ref)]
ContainerPath = Annotated[
    str, AfterValidator(_container_path), Field(json_schema_extra={"pattern": "^/"})
]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=NAME_MAX_LENGTH)]
LabelKey = Annotated[
    str,
    AfterValidator(_label_key),
    Field(json_schema_extra={"not": {"pattern": r"^pocketdock\."}}),
]
NonEmptyStr = Annotated[str, Field(min_length=1)]

MemLimit = Annotated[
    Annotated[
        Annotated[
            str,
            AfterValidator(_mem_limit_str),
            Field(json_schema_extra={"pattern": r"^\d+(\.\d+)?\s*[bBkKmMgGtT]?[bB]?$"}),
        ],
        Tag("string"),
    ]
    | Annotated[Annotated[int, AfterValidator(_check_min_mem)], Tag("integer")],
    Discriminator(
        toml_type,
        custom_error_type="mem_limit_type",
        custom_error_message='expected a size like "512m" or a number of bytes',
    ),
]
Command = Annotated[
    Annotated[list[NonEmptyStr], Field(min_length=1), Tag("array")]
    | Annotated[NonEmptyStr, Tag("string")],
    Discriminator(
        toml_type,
        custom_error_type="command_type",
        custom_error_message="expected a string or an array of strings",
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class VolumeTable(_Strict):
    """The long form of a volume: `{ target = "/cfg", read_only = true }`."""

    target: ContainerPath = Field(description="Absolute path inside the sandbox.")
    read_only: bool = Field(default=False, description="Mount the host path read-only.")


VolumeTarget = Annotated[
    Annotated[ContainerPath, Tag("string")] | Annotated[VolumeTable, Tag("table")],
    Discriminator(
        toml_type,
        custom_error_type="volume_type",
        custom_error_message='expected a container path or a table like { target = "/data" }',
    ),
]


class SandboxFields(_Strict):
    """Keys of a `[sandboxes.NAME]` table; `[defaults]` accepts the same keys."""

    image: ImageRef | None = Field(
        default=None,
        description="Local image to run. Exactly one of `image` and `snapshot`, after "
        "`[defaults]` are merged; a sandbox that sets either ignores both from defaults.",
        examples=["busybox:latest", "python:3.12-slim"],
    )
    snapshot: Name | None = Field(
        default=None,
        description="Name of a `[snapshots.NAME]` table to start from instead of an image.",
        examples=["tools"],
    )
    persist: bool = Field(
        default=False,
        description="Keep the container across `down`/`up`; otherwise it is ephemeral.",
    )
    volumes: dict[str, VolumeTarget] | None = Field(
        default=None,
        description="Bind mounts: host path (relative to this file, or absolute) to a "
        "container path or to `{ target, read_only }`.",
        examples=[{"./data": "/data", "./cfg": {"target": "/cfg", "read_only": True}}],
    )
    env: dict[str, str] | None = Field(
        default=None,
        description="Environment variables; values must be strings.",
        examples=[{"MODE": "dev"}],
    )
    workdir: ContainerPath | None = Field(
        default=None, description="Working directory inside the sandbox.", examples=["/work"]
    )
    command: Command | None = Field(
        default=None,
        description="Main process: an array of arguments, or a string run with `sh -c`. "
        "Default: a keep-alive process.",
        examples=[["sleep", "infinity"], "while true; do sleep 60; done"],
    )
    setup: list[NonEmptyStr] | None = Field(
        default=None,
        description="Shell commands run once, right after the container is first created.",
        examples=[["echo ready > /tmp/ready"]],
    )
    state: Literal["running", "stopped"] = Field(
        default="running", description="Whether `up` leaves the sandbox running or stopped."
    )
    cpus: float | None = Field(
        default=None,
        ge=0.01,
        allow_inf_nan=False,
        description="CPU limit, in CPUs; at least 0.01.",
        examples=[0.5, 1.5],
    )
    mem_limit: MemLimit | None = Field(
        default=None,
        description='Memory limit: a size like "512m", "1g", "1.5g", or bytes; at least 6 MiB.',
        examples=["512m", "1g"],
    )
    labels: dict[LabelKey, str] | None = Field(
        default=None,
        description="Extra container labels; keys starting with `pocketdock.` are reserved.",
        examples=[{"team": "research"}],
    )
    sync: dict[str, ContainerPath] | None = Field(
        default=None,
        description="Used by `pocketdock watch`: host directory (relative to this file) "
        "to the absolute container path it is copied to.",
        examples=[{"./src": "/app/src"}],
    )
    no_new_privileges: bool = Field(
        default=True, description="Forbid processes from gaining privileges (setuid)."
    )
    pids_limit: int = Field(
        default=1024, gt=0, description="Maximum number of processes in the sandbox."
    )
    allow_engine_socket: bool = Field(
        default=False,
        description="Allow a volume to expose the Docker/Podman socket, which gives the "
        "sandbox control of the host.",
    )
    allow_host_root: bool = Field(
        default=False, description="Allow a volume that mounts the host's `/`."
    )

    model_config = ConfigDict(
        json_schema_extra={"not": {"required": ["image", "snapshot"]}},
    )


class SnapshotTable(_Strict):
    """A `[snapshots.NAME]` table: a recipe (`from` plus `run`) or an existing `image`."""

    from_: ImageRef | None = Field(
        default=None,
        alias="from",
        description='Base of the recipe: an image, or "snapshot:NAME" to build on another '
        "snapshot.",
        examples=["busybox:latest", "snapshot:tools"],
    )
    run: list[NonEmptyStr] | None = Field(
        default=None,
        description="Shell commands run in order on top of `from`; the result is cached.",
        examples=[["mkdir -p /work", "echo hi > /work/hello"]],
    )
    image: ImageRef | None = Field(
        default=None,
        description="An existing local image, e.g. one saved by `pocketdock snapshot --save-as`.",
        examples=["pocketdock/agent-lab/dev:20261203T101500"],
    )

    model_config = ConfigDict(
        populate_by_name=False,
        json_schema_extra={
            "oneOf": [{"required": ["from"]}, {"required": ["image"]}],
            "not": {"required": ["image", "run"]},
        },
    )


class ProjectTable(_Strict):
    """The `[project]` table."""

    name: Name | None = Field(
        default=None,
        description="Project name, used in container names. Default: derived from the "
        "directory name.",
        examples=["agent-lab"],
    )


class ProjectFile(_Strict):
    """A whole pocket-dock.toml as written."""

    project: ProjectTable | None = Field(default=None, description="Project settings.")
    defaults: SandboxFields | None = Field(
        default=None,
        description="Merged into every sandbox; a sandbox's own keys win and tables "
        "(env, labels, volumes, sync) merge by key.",
    )
    snapshots: dict[Name, SnapshotTable] | None = Field(
        default=None, description="Base snapshots, by name."
    )
    sandboxes: dict[Name, SandboxFields] | None = Field(
        default=None, description="The project's sandboxes, by name."
    )

    model_config = ConfigDict(
        title="pocket-dock.toml",
        json_schema_extra={"description": "A pocketdock project: sandboxes and snapshots."},
    )
