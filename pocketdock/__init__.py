"""pocketdock: container sandboxes on a local Docker or Podman engine.

The public API is re-exported here and imported lazily, so that importing the package
(which the CLI does on every start) costs nothing until a name is actually used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pocketdock._version import __version__

if TYPE_CHECKING:
    from pocketdock.errors import (
        ApplyError,
        CommandTimeout,
        ContainerNotFound,
        EngineError,
        EngineUnavailable,
        ImageNotFound,
        NameConflict,
        PocketDockError,
        SpecError,
        SpecProblem,
    )
    from pocketdock.reconcile.plan import Action
    from pocketdock.reconcile.project import Project
    from pocketdock.sandbox.containers import (
        Container,
        ContainerListItem,
        ExecResult,
        create_new_container,
        destroy_container,
        list_containers,
        prune,
        resume_container,
        stop_container,
    )
    from pocketdock.spec.loader import load_project

_EXPORTS: dict[str, str] = {
    "Action": "pocketdock.reconcile.plan",
    "ApplyError": "pocketdock.errors",
    "CommandTimeout": "pocketdock.errors",
    "Container": "pocketdock.sandbox.containers",
    "ContainerListItem": "pocketdock.sandbox.containers",
    "ContainerNotFound": "pocketdock.errors",
    "EngineError": "pocketdock.errors",
    "EngineUnavailable": "pocketdock.errors",
    "ExecResult": "pocketdock.sandbox.containers",
    "ImageNotFound": "pocketdock.errors",
    "NameConflict": "pocketdock.errors",
    "PocketDockError": "pocketdock.errors",
    "Project": "pocketdock.reconcile.project",
    "SpecError": "pocketdock.errors",
    "SpecProblem": "pocketdock.errors",
    "create_new_container": "pocketdock.sandbox.containers",
    "destroy_container": "pocketdock.sandbox.containers",
    "list_containers": "pocketdock.sandbox.containers",
    "load_project": "pocketdock.spec.loader",
    "prune": "pocketdock.sandbox.containers",
    "resume_container": "pocketdock.sandbox.containers",
    "stop_container": "pocketdock.sandbox.containers",
}

__all__ = [
    "Action",
    "ApplyError",
    "CommandTimeout",
    "Container",
    "ContainerListItem",
    "ContainerNotFound",
    "EngineError",
    "EngineUnavailable",
    "ExecResult",
    "ImageNotFound",
    "NameConflict",
    "PocketDockError",
    "Project",
    "SpecError",
    "SpecProblem",
    "__version__",
    "create_new_container",
    "destroy_container",
    "list_containers",
    "load_project",
    "prune",
    "resume_container",
    "stop_container",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pocketdock' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
