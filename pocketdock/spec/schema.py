"""The JSON Schema of pocket-dock.toml, generated from `pocketdock.spec.models`.

The committed copy lives in `schema/pocket-dock.schema.json`; a test fails when it differs
from `generate_schema()`. TOML has no null, so optional keys are written as their plain
type rather than "type or null".
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from pocketdock.spec.models import NAME_MAX_LENGTH, NAME_PATTERN, ProjectFile

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:pocketdock:schema:pocket-dock.toml"


class _TomlSchema(GenerateJsonSchema):
    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        result = super().default_schema(schema)
        if result.get("default", ...) is None:
            del result["default"]
        return result

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        # Pydantic maps a constrained key type to patternProperties, which lets any other
        # key through; propertyNames says what we mean: every key must match.
        result = super().dict_schema(schema)
        patterns = result.pop("patternProperties", None)
        if patterns:
            ((pattern, value),) = patterns.items()
            names: dict[str, Any] = {"pattern": pattern}
            if pattern == NAME_PATTERN:
                names["maxLength"] = NAME_MAX_LENGTH
            result["propertyNames"] = names
            result["additionalProperties"] = value
        return result


def generate_schema() -> dict[str, Any]:
    """The draft 2020-12 JSON Schema of pocket-dock.toml."""
    body = ProjectFile.model_json_schema(by_alias=True, schema_generator=_TomlSchema)
    return {"$schema": SCHEMA_DIALECT, "$id": SCHEMA_ID, **body}


def schema_text() -> str:
    """The schema as committed: indent 2, sorted as generated, trailing newline."""
    return json.dumps(generate_schema(), indent=2) + "\n"
