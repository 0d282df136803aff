"""Random documents and mutated examples either load or raise SpecError, nothing else."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pocketdock.errors import SpecError
from pocketdock.spec.loader import parse_project

FILE = Path("/project/pocket-dock.toml")
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*/pocket-dock.toml"))
EXAMPLE_TEXTS = [path.read_text(encoding="utf-8") for path in EXAMPLES]

SANDBOX_KEYS = [
    "image",
    "snapshot",
    "persist",
    "volumes",
    "env",
    "workdir",
    "command",
    "setup",
    "state",
    "cpus",
    "mem_limit",
    "labels",
    "sync",
    "no_new_privileges",
    "pids_limit",
    "allow_engine_socket",
    "allow_host_root",
    "from",
    "run",
    "target",
    "read_only",
]
keys = st.one_of(
    st.sampled_from(SANDBOX_KEYS),
    st.sampled_from(["dev", "a", "tools", "./data", "/", "/var/run/docker.sock", "../x"]),
    st.text(min_size=1, max_size=8),
)
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["512m", "1g", "snapshot:tools", "/data", "running", "busybox:latest"]),
    st.dates(min_value=date(1, 1, 1)),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
sections = st.fixed_dictionaries(
    {},
    optional={
        "project": st.dictionaries(st.just("name"), values, max_size=1),
        "defaults": st.dictionaries(keys, values, max_size=4),
        "snapshots": st.dictionaries(keys, st.dictionaries(keys, values, max_size=3), max_size=3),
        "sandboxes": st.dictionaries(keys, st.dictionaries(keys, values, max_size=5), max_size=3),
    },
)


def _loads_or_spec_error(text: str) -> None:
    try:
        parse_project(text, FILE)
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1, str(problem)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections)
def test_random_documents(document: dict[str, object]) -> None:
    _loads_or_spec_error(tomlkit.dumps(document))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(EXAMPLE_TEXTS), st.data())
def test_mutated_examples(text: str, data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        kind = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = data.draw(
            st.sampled_from(
                ['"', "'", "[", "]", "{", "}", "=", ".", "\n", "#", "x", "1", " ", "\\", ","]
            )
            | st.text(max_size=3)
        )
        end = at + data.draw(st.integers(0, 12)) if kind != "insert" else at
        text = text[:at] + ("" if kind == "delete" else piece) + text[end:]
    _loads_or_spec_error(text)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(EXAMPLE_TEXTS), st.data())
def test_dropped_lines_of_examples(text: str, data: st.DataObject) -> None:
    lines = text.splitlines(keepends=True)
    dropped = data.draw(st.sets(st.integers(0, len(lines) - 1), max_size=4))
    _loads_or_spec_error("".join(line for i, line in enumerate(lines) if i not in dropped))


@settings(max_examples=100, deadline=None)
@given(sections)
def test_every_value_is_located_on_its_own_line(document: dict[str, object]) -> None:
    # The scanner must find every leaf the parser found, on the line that holds it.
    from pocketdock.spec.loader import _scan

    text = tomlkit.dumps(document)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # tomlkit can emit TOML that tomllib rejects; the loader covers that case
    positions = _scan(text)
    lines = text.split("\n")  # TOML lines; str.splitlines also splits on \x85
    for path, value in _leaves(data, ()):
        found = positions.values.get(path)
        assert found is not None, path
        assert not isinstance(value, dict)
        line, column = positions.keys[path]
        source = lines[line - 1][column - 1 :]
        key = path[-1]
        if isinstance(key, str):
            assert source.startswith(key) or source[:1] in "\"'", (path, source)


def _leaves(
    value: object, path: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], object]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list) and value:
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return [(path, value)] if path else []
