"""File sync into a real sandbox: by content, deletes, ignores, modes, failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pocketdock.engine.client import EngineClient
from pocketdock.sandbox.containers import Container
from pocketdock.spec.effective import SyncRule
from pocketdock.watch.filesync import FileSync, RuleSync, SyncFailure, SyncReport

from .helpers import listing, write

pytestmark = pytest.mark.engine


def counts(report: SyncReport | None) -> tuple[int, int]:
    assert report is not None
    return report.sent, report.deleted


def test_first_sync_compares_content_with_the_container(
    box: Container, client: EngineClient, tmp_path: Path
) -> None:
    write(tmp_path / "same.txt", "identical")
    write(tmp_path / "differs.txt", "host version")
    write(tmp_path / "new" / "file.txt", "only on the host")
    box.write_file("/app/same.txt", "identical")
    box.write_file("/app/differs.txt", "container version")
    box.write_file("/app/mine.txt", "only in the container")

    rule = RuleSync(client, "fs", SyncRule(source=str(tmp_path), target="/app"))
    report = rule.sync(box.id)

    assert counts(report) == (2, 0) and report is not None and report.initial
    assert listing(box) == {
        "differs.txt": "host version",
        "mine.txt": "only in the container",
        "new/file.txt": "only on the host",
        "same.txt": "identical",
    }
    assert rule.sync(box.id) is None  # nothing changed since


def test_edits_deletes_and_modes_follow_the_host(
    box: Container, client: EngineClient, tmp_path: Path
) -> None:
    write(tmp_path / ".gitignore", "*.log\n")
    write(tmp_path / "keep.txt", "v1")
    write(tmp_path / "tool.sh", "echo hi\n")
    write(tmp_path / "dir" / "a.txt", "a")
    write(tmp_path / "dir" / "sub" / "b.txt", "b")
    write(tmp_path / "debug.log", "never sent")
    rule = RuleSync(client, "fs", SyncRule(source=str(tmp_path), target="/app"))
    assert rule.sync(box.id) is not None

    write(tmp_path / "keep.txt", "v2")
    (tmp_path / "tool.sh").chmod(0o755)
    shutil.rmtree(tmp_path / "dir")
    box.write_file("/app/dir/built-here.o", "made in the sandbox")
    report = rule.sync(box.id, changed=["keep.txt"])

    assert counts(report) == (2, 1)  # keep.txt and tool.sh sent; dir removed as a whole
    assert listing(box) == {".gitignore": "*.log\n", "keep.txt": "v2", "tool.sh": "echo hi\n"}
    assert box.run("/app/tool.sh").stdout == "hi\n"

    # A file that becomes ignored stays in the sandbox as it was.
    write(tmp_path / ".gitignore", "*.log\nkeep.txt\n")
    assert counts(rule.sync(box.id)) == (1, 0)  # the new .gitignore itself
    assert listing(box)["keep.txt"] == "v2"


def test_failures_are_reported_once_and_nothing_is_deleted(
    box: Container, client: EngineClient, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    write(source / "a.txt", "a")
    sync = FileSync(client)
    sync.set_rules({"fs": [SyncRule(source=str(source), target="/app")]})
    [report] = sync.sync({"fs": box.id})
    assert isinstance(report, SyncReport) and report.sent == 1

    moved = tmp_path / "moved"
    source.rename(moved)
    [failure] = sync.sync({"fs": box.id})
    assert isinstance(failure, SyncFailure) and "not a directory" in failure.error
    assert sync.sync({"fs": box.id}) == []  # the same failure is not repeated
    assert listing(box) == {"a.txt": "a"}  # a vanished source deletes nothing

    moved.rename(source)
    write(source / "b.txt", "b")
    [report] = sync.sync({"fs": box.id})
    assert isinstance(report, SyncReport) and report.sent == 1
    assert listing(box) == {"a.txt": "a", "b.txt": "b"}

    # Only rules holding a changed path are looked at.
    write(source / "c.txt", "c")
    assert sync.sync({"fs": box.id}, changed=[tmp_path / "elsewhere.txt"]) == []
    [report] = sync.sync({"fs": box.id}, changed=[source / "c.txt"])
    assert isinstance(report, SyncReport) and report.sent == 1


def test_a_path_can_change_kind(box: Container, client: EngineClient, tmp_path: Path) -> None:
    write(tmp_path / "node", "a file first")
    write(tmp_path / "tree" / "leaf.txt", "a directory first")
    rule = RuleSync(client, "fs", SyncRule(source=str(tmp_path), target="/app"))
    assert counts(rule.sync(box.id)) == (2, 0)

    (tmp_path / "node").unlink()
    write(tmp_path / "node" / "inner.txt", "now a directory")
    shutil.rmtree(tmp_path / "tree")
    write(tmp_path / "tree", "now a file")
    assert counts(rule.sync(box.id)) == (2, 2)
    assert listing(box) == {"node/inner.txt": "now a directory", "tree": "now a file"}
