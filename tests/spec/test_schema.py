"""The committed JSON Schema matches the models, and every example passes both."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from pocketdock.spec.loader import load_project
from pocketdock.spec.models import ProjectFile
from pocketdock.spec.schema import generate_schema, schema_text

ROOT = Path(__file__).parents[2]
SCHEMA_FILE = ROOT / "schema" / "pocket-dock.schema.json"
EXAMPLES = sorted((ROOT / "examples").glob("*/pocket-dock.toml"))


def test_committed_schema_is_in_sync() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "regenerate with: pocketdock schema > schema/pocket-dock.schema.json"
    )


def test_schema_is_valid_draft_2020_12() -> None:
    schema = generate_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_sandbox_key_is_described() -> None:
    sandbox = generate_schema()["$defs"]["SandboxFields"]["properties"]
    assert {key for key, value in sandbox.items() if not value.get("description")} == set()


def test_there_are_examples() -> None:
    names = {path.parent.name for path in EXAMPLES}
    assert {"agent-pool", "data-lab", "snapshot-chain"} <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_validates(example: Path) -> None:
    data = tomllib.loads(example.read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))

    jsonschema.Draft202012Validator(schema).validate(data)
    ProjectFile.model_validate(data)
    project = load_project(example)
    assert project.sandboxes
    assert example.read_text(encoding="utf-8").startswith("#:schema ../../schema/")


def test_examples_use_only_the_offline_image() -> None:
    for example in EXAMPLES:
        project = load_project(example)
        images = {s.image for s in project.sandboxes.values()} - {None}
        images |= {s.from_ or s.image for s in project.snapshots.values()}
        assert {i for i in images if not str(i).startswith("snapshot:")} <= {"busybox:latest"}


@pytest.mark.parametrize(
    "data",
    [
        {"sandboxes": {"a": {"persist": "yes"}}},
        {"sandboxes": {"Bad": {"image": "x"}}},
        {"sandboxes": {"a": {"image": "x", "snapshot": "y"}}},
        {"sandboxes": {"a": {"volumes": {"./d": "relative"}}}},
        {"snapshots": {"s": {"run": ["x"]}}},
        {"sandboxes": {"a": {"labels": {"pocketdock.x": "y"}}}},
        {"unknown": 1},
    ],
)
def test_schema_rejects_what_the_models_reject(data: dict[str, object]) -> None:
    validator = jsonschema.Draft202012Validator(generate_schema())
    assert list(validator.iter_errors(data))
