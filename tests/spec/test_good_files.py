"""Valid files: merging, path resolution, naming, identity and discovery."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from textwrap import dedent

import pytest

from pocketdock.errors import SpecError
from pocketdock.spec.check import derive_project_name
from pocketdock.spec.effective import Volume
from pocketdock.spec.loader import find_project_file, load_project, parse_project

MERGING = dedent(
    """\
    [defaults]
    image = "busybox:latest"
    mem_limit = "1.5g"
    env = { A = "1", B = "2" }
    labels = { team = "x" }
    volumes = { "./shared" = "/shared" }

    [snapshots.tools]
    from = "busybox:latest"
    run = ["mkdir -p /work"]

    [sandboxes.plain]

    [sandboxes.custom]
    snapshot = "tools"
    mem_limit = 268435456
    env = { B = "override", C = "3" }
    volumes = { "./own" = { target = "/own", read_only = true } }
    command = "echo hi && sleep 5"
    """
)


def test_defaults_merge_into_every_sandbox(tmp_path: Path) -> None:
    project = parse_project(MERGING, tmp_path / "pocket-dock.toml")
    plain, custom = project.sandboxes["plain"], project.sandboxes["custom"]

    assert plain.image == "busybox:latest"
    assert plain.mem_limit == 1536 * 1024 * 1024
    assert plain.env == {"A": "1", "B": "2"}
    assert plain.labels == {"team": "x"}
    assert plain.command is None
    assert plain.pids_limit == 1024 and plain.no_new_privileges is True

    # The sandbox's own `snapshot` replaces the image chosen in [defaults].
    assert (custom.image, custom.snapshot) == (None, "tools")
    assert custom.mem_limit == 268435456
    assert custom.env == {"A": "1", "B": "override", "C": "3"}
    assert custom.command == ("sh", "-c", "echo hi && sleep 5")
    assert custom.volumes == (
        Volume(source=str(tmp_path / "shared"), target="/shared"),
        Volume(source=str(tmp_path / "own"), target="/own", read_only=True),
    )


def test_snapshots_are_built() -> None:
    text = dedent(
        """\
        [snapshots.base]
        from = "busybox:latest"
        [snapshots.top]
        from = "snapshot:base"
        run = ["true"]
        [snapshots.saved]
        image = "pocketdock/x/y:1"
        """
    )
    project = parse_project(text, Path("/p/pocket-dock.toml"))

    assert project.snapshots["top"].parent_snapshot == "base"
    assert project.snapshots["top"].run == ("true",)
    assert project.snapshots["saved"].is_recipe is False
    assert project.sandboxes == {}


def test_paths_resolve_against_the_file(tmp_path: Path) -> None:
    text = dedent(
        """\
        [sandboxes.a]
        image = "x"
        volumes = { "data" = "/data", "./sub/../cfg" = "/cfg", "/abs/path" = "/abs" }
        sync = { "./src" = "/app/src" }
        """
    )
    project = parse_project(text, tmp_path / "pocket-dock.toml")
    sandbox = project.sandboxes["a"]

    assert [v.source for v in sandbox.volumes] == [
        str(tmp_path / "data"),
        str(tmp_path / "cfg"),
        "/abs/path",
    ]
    assert sandbox.sync[0].source == str(tmp_path / "src")
    assert sandbox.sync[0].target == "/app/src"
    assert project.file == (tmp_path / "pocket-dock.toml").resolve()


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        ("agent-lab", "agent-lab"),
        ("My Repo (copy)", "my-repo-copy"),
        ("__weird__", "weird"),
        ("Ünïcode", "n-code"),
        ("...", "project"),
        ("x" * 80, "x" * 63),
    ],
)
def test_project_name_is_derived_from_the_directory(directory: str, expected: str) -> None:
    assert derive_project_name(Path("/tmp") / directory) == expected


def test_project_name_from_the_file_wins(tmp_path: Path) -> None:
    text = '[project]\nname = "chosen"\n'
    assert parse_project(text, tmp_path / "Other Dir" / "pocket-dock.toml").name == "chosen"
    assert parse_project("", tmp_path / "Other Dir" / "pocket-dock.toml").name == "other-dir"


def test_two_checkouts_get_different_ids(tmp_path: Path) -> None:
    source = Path(__file__).parents[2] / "examples" / "agent-pool" / "pocket-dock.toml"
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        shutil.copy(source, tmp_path / name / "pocket-dock.toml")

    first, second = load_project(tmp_path / "one"), load_project(tmp_path / "two")

    assert first.name == second.name == "agent-pool"
    assert first.project_id != second.project_id
    assert len(first.project_id) == 16
    assert load_project(tmp_path / "one" / "pocket-dock.toml").project_id == first.project_id


def test_discovery_searches_upwards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pocket-dock.toml").write_text('[sandboxes.a]\nimage = "x"\n')
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)

    assert find_project_file(deep) == tmp_path / "pocket-dock.toml"
    assert load_project().sandboxes["a"].image == "x"


def test_discovery_failure_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        find_project_file(tmp_path)

    problem = caught.value.problems[0]
    assert (problem.line, problem.column) == (0, 0)
    assert str(tmp_path) in problem.message
    assert "pocketdock init" in problem.message
    assert str(problem).startswith(f"{tmp_path}: no pocket-dock.toml found")


def test_symlinked_directory_shares_the_id(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "pocket-dock.toml").write_text("")
    os.symlink(tmp_path / "real", tmp_path / "link")

    # The id follows the resolved path, so one checkout reached two ways is one project.
    assert load_project(tmp_path / "link").project_id == load_project(tmp_path / "real").project_id
