"""Round-trip edits keep the user's comments, order and formatting."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from pocketdock.spec.edit import ensure_gitignore_entry, set_snapshot_image
from pocketdock.spec.loader import load_project

ORIGINAL = dedent(
    """\
    #:schema ./.pocketdock/pocket-dock.schema.json
    # My project.
    [project]
    name = "demo"   # keep me

    [snapshots.tools]  # the recipe
    from = "busybox:latest"
    run = ["mkdir -p /w"]

    [sandboxes.dev]
    snapshot   =   "tools"    # odd spacing, kept
    """
)


def test_adding_a_snapshot_keeps_everything_else(tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_text(ORIGINAL)

    set_snapshot_image(file, "saved", "pocketdock/demo/dev:20260101T000000")

    text = file.read_text()
    assert text.startswith(ORIGINAL.split("[sandboxes.dev]")[0])
    assert 'snapshot   =   "tools"    # odd spacing, kept' in text
    assert text.index("[snapshots.saved]") < text.index("[sandboxes.dev]")
    snapshot = load_project(file).snapshots["saved"]
    assert snapshot.image == "pocketdock/demo/dev:20260101T000000"


def test_updating_a_recipe_turns_it_into_an_image(tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_text(ORIGINAL)

    set_snapshot_image(file, "tools", "img:1")
    set_snapshot_image(file, "tools", "img:2")

    text = file.read_text()
    assert "[snapshots.tools]  # the recipe" in text
    assert "from =" not in text and "run =" not in text
    assert text.count("image =") == 1
    assert load_project(file).snapshots["tools"].image == "img:2"


def test_first_snapshot_in_a_file_without_any(tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_text('# only a comment\n[sandboxes.a]\nimage = "x"\n')

    set_snapshot_image(file, "saved", "img")

    assert file.read_text().startswith('# only a comment\n[sandboxes.a]\nimage = "x"\n')
    assert load_project(file).snapshots["saved"].image == "img"
    # No temp file left; `.pocketdock/` is the loader's parse cache.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pocketdock", "pocket-dock.toml"]


def test_gitignore_entry_is_added_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc")

    ensure_gitignore_entry(tmp_path)
    ensure_gitignore_entry(tmp_path)

    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n.pocketdock/\n"


def test_gitignore_entry_recognises_other_spellings(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("/.pocketdock\n")
    ensure_gitignore_entry(tmp_path)
    assert (tmp_path / ".gitignore").read_text() == "/.pocketdock\n"


def test_gitignore_is_created(tmp_path: Path) -> None:
    ensure_gitignore_entry(tmp_path)
    assert (tmp_path / ".gitignore").read_text() == ".pocketdock/\n"
