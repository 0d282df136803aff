"""The parse cache of `load_project`: hits, invalidation, and a cache that cannot be used."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from pocketdock.errors import SpecError
from pocketdock.spec import loader
from pocketdock.spec.loader import load_project, parse_project

RICH = dedent(
    """\
    [project]
    name = "cached"

    [defaults]
    image = "debian:12"
    env = { A = "1", Z = "ü" }
    volumes = { "./data" = "/data", "/opt/x" = { target = "/x", read_only = true } }
    cpus = 2

    [snapshots.base]
    from = "debian:12"
    run = ["apt-get update"]

    [snapshots.child]
    from = "snapshot:base"

    [snapshots.img]
    image = "alpine:3"

    [sandboxes.a]
    command = "sleep 1000"
    setup = ["echo a"]
    labels = { team = "x" }
    sync = { "./src" = "/app" }

    [sandboxes.b]
    snapshot = "child"
    command = ["sleep", "99"]
    state = "stopped"
    mem_limit = "512m"
    pids_limit = 50
    """
)
INVALID = '[sandboxes.a]\nimage = "x"\npersist = "yes"\n'


def cache_file(directory: Path) -> Path:
    return directory / ".pocketdock" / "spec-cache.json"


@pytest.fixture
def project_file(tmp_path: Path) -> Path:
    file = tmp_path / "pocket-dock.toml"
    file.write_text(RICH)
    return file


def test_hit_returns_an_equal_project(project_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_project(project_file)
    assert first == parse_project(RICH, project_file)

    monkeypatch.setattr(loader, "parse_project", None)  # a miss would now fail
    second = load_project(project_file)

    assert second == first
    assert second.sandboxes["b"].command == ("sleep", "99")
    assert second.snapshots["child"].parent_snapshot == "base"
    assert sorted(p.name for p in cache_file(project_file.parent).parent.iterdir()) == [
        "spec-cache.json"
    ]


def test_editing_the_file_invalidates(project_file: Path) -> None:
    load_project(project_file)
    project_file.write_text(RICH.replace('name = "cached"', 'name = "edited"'))

    assert load_project(project_file).name == "edited"


def test_same_bytes_at_another_path_do_not_hit(tmp_path: Path) -> None:
    first = tmp_path / "one" / "pocket-dock.toml"
    first.parent.mkdir()
    first.write_text(RICH)
    old = load_project(first)
    moved = tmp_path / "two"
    shutil.copytree(first.parent, moved)  # the cache travels with the directory

    new = load_project(moved)

    assert new.file == moved / "pocket-dock.toml"
    assert new.project_id != old.project_id
    assert new.sandboxes["a"].volumes[0].source == str(moved / "data")


def test_files_sharing_a_cache_do_not_hit(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(RICH)
    (tmp_path / "b.toml").write_text(RICH)
    load_project(tmp_path / "a.toml")

    assert load_project(tmp_path / "b.toml").file == tmp_path / "b.toml"


@pytest.mark.parametrize("garbage", ["{not json", '{"key": 1}', "[]", '{"key": null, "x": 1}'])
def test_corrupt_cache_is_ignored_and_rewritten(project_file: Path, garbage: str) -> None:
    expected = load_project(project_file)
    cache_file(project_file.parent).write_text(garbage)

    assert load_project(project_file) == expected
    assert json.loads(cache_file(project_file.parent).read_text())["project"]["name"] == "cached"


def test_damaged_entry_with_the_right_key_is_ignored(project_file: Path) -> None:
    expected = load_project(project_file)
    cache = cache_file(project_file.parent)
    data = json.loads(cache.read_text())
    del data["project"]["sandboxes"]["a"]["volumes"]
    cache.write_text(json.dumps(data))

    assert load_project(project_file) == expected


def test_invalid_file_is_never_cached(project_file: Path) -> None:
    load_project(project_file)
    before = cache_file(project_file.parent).read_bytes()
    project_file.write_text(INVALID)

    for _ in range(2):
        with pytest.raises(SpecError) as caught:
            load_project(project_file)
        [problem] = caught.value.problems
        assert (problem.line, problem.column, problem.key_path) == (3, 11, "sandboxes.a.persist")
    assert cache_file(project_file.parent).read_bytes() == before


def test_syntax_error_is_located_every_time(tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_text('[sandboxes.a]\nimage = "busybox\n')

    for _ in range(2):
        with pytest.raises(SpecError, match=r":2:\d+: invalid TOML"):
            load_project(file)
    assert not cache_file(tmp_path).exists()


@pytest.mark.parametrize("blocker", [".pocketdock", ".pocketdock/spec-cache.json"])
def test_unwritable_cache_still_loads(project_file: Path, blocker: str) -> None:
    # A file where the directory should be, or a directory where the file should be,
    # refuses the write even to root, for whom permission bits do not.
    path = project_file.parent / blocker
    if blocker.endswith(".json"):
        path.mkdir(parents=True)
    else:
        path.write_text("")

    for _ in range(2):
        assert load_project(project_file) == parse_project(RICH, project_file)
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_cache_hit_imports_neither_pydantic_nor_tomlkit(project_file: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from pocketdock.spec.loader import load_project; "
        f"load_project(Path({str(project_file)!r})); "
        "print(sorted(m for m in ('pydantic', 'tomlkit') if m in sys.modules))"
    )

    def imported() -> str:
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    assert imported() == "['pydantic']"  # a miss validates with pydantic
    assert imported() == "[]"


@pytest.mark.parametrize("module", ["spec/check.py", "sandbox/security.py"])
def test_the_key_changes_with_the_code_that_checks_files(module: str) -> None:
    # Editing a rule (say, which mounts are refused) must not serve results checked
    # under the old one.
    from pocketdock.spec import cache

    source = Path(cache.__file__).parent.parent / module
    before = cache.key_of(Path("/p/pocket-dock.toml"), b"x")
    info = source.stat()
    try:
        os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))
        assert cache.key_of(Path("/p/pocket-dock.toml"), b"x") != before
    finally:
        os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns))
