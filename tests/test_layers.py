"""The architecture stays visible: each layer imports only the layers before it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pocketdock

PACKAGE = Path(pocketdock.__file__).parent
LAYERS = ["base", "sandbox", "spec", "reconcile", "watch", "cli"]
BASE = {"errors", "labels", "_version", "engine"}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "pocketdock" or len(parts) == 1 or parts[1] in ("__init__", "__main__"):
        return None  # the package root re-exports everything, lazily
    return "base" if parts[1] in BASE else parts[1]


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_each_layer_imports_only_earlier_layers() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        own = layer_of(module)
        if own is None:
            continue
        for imported in imports_of(path):
            other = layer_of(imported)
            if other is not None and LAYERS.index(other) > LAYERS.index(own):
                violations.append(f"{module} ({own}) imports {imported} ({other})")
    assert violations == []


def test_public_api_is_listed_and_importable() -> None:
    assert pocketdock.__all__ == sorted(pocketdock.__all__)
    for name in pocketdock.__all__:
        assert getattr(pocketdock, name) is not None
    assert issubclass(pocketdock.ContainerNotFound, pocketdock.PocketDockError)
    assert issubclass(pocketdock.SpecError, pocketdock.PocketDockError)


def test_cli_start_imports_no_engine_or_models() -> None:
    # `pocketdock --help` must stay fast: httpx and pydantic are imported only on use.
    code = (
        "import sys; from pocketdock.cli.main import cli; "
        "print(sorted(m for m in ('httpx', 'pydantic', 'tomlkit') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_all_matches_lazy_exports() -> None:
    from pocketdock import _EXPORTS  # type: ignore[attr-defined]

    assert set(pocketdock.__all__) == {*_EXPORTS, "__version__"}
