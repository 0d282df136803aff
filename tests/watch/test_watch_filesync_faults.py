"""File sync when things go wrong on either side: unreadable host directories, odd files
in the sandbox, failed deletes, undecodable names and files swapped during a sync."""

from __future__ import annotations

import errno
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from pocketdock.engine.client import EngineClient
from pocketdock.sandbox.containers import Container
from pocketdock.spec.effective import SyncRule
from pocketdock.watch.filesync import FileSync, RuleSync, SyncFailure, SyncReport

from .helpers import listing, write

pytestmark = pytest.mark.engine


def file_sync(client: EngineClient, source: Path) -> FileSync:
    sync = FileSync(client)
    sync.set_rules({"ff": [SyncRule(source=str(source), target="/app")]})
    return sync


def failing_scandir(monkeypatch: pytest.MonkeyPatch, bad: Path) -> None:
    """Make listing `bad` fail with EIO, as a flaky disk or a stale NFS handle would."""
    real = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == bad:
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


@pytest.mark.parametrize("unreadable", ["dir", "."])
def test_a_directory_that_cannot_be_listed_deletes_nothing(
    box: Container,
    client: EngineClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    unreadable: str,
) -> None:
    write(tmp_path / "top.txt", "top")
    write(tmp_path / "dir" / "a.txt", "a")
    write(tmp_path / "dir" / "sub" / "b.txt", "b")
    sync = file_sync(client, tmp_path)
    [report] = sync.sync({"ff": box.id})
    assert isinstance(report, SyncReport) and report.sent == 3

    failing_scandir(monkeypatch, (tmp_path / unreadable).resolve())
    [failure] = sync.sync({"ff": box.id})
    assert isinstance(failure, SyncFailure) and "cannot read directory" in failure.error
    assert sync.sync({"ff": box.id}) == []  # reported once
    expected = {"top.txt": "top", "dir/a.txt": "a", "dir/sub/b.txt": "b"}
    assert listing(box) == expected

    # Once the directory reads again, deletes work as before.
    monkeypatch.undo()
    shutil.rmtree(tmp_path / "dir")
    [report] = sync.sync({"ff": box.id})
    assert isinstance(report, SyncReport) and report.deleted == 1
    assert listing(box) == {"top.txt": "top"}


def test_a_fifo_or_a_device_link_in_the_sandbox_does_not_hang_the_first_sync(
    box: Container, client: EngineClient, tmp_path: Path
) -> None:
    write(tmp_path / "pipe", "was a fifo")
    write(tmp_path / "zero", "was a link to /dev/zero")
    write(tmp_path / "plain.txt", "plain")
    made = box.run("mkdir -p /app && mkfifo /app/pipe && ln -s /dev/zero /app/zero")
    assert made.ok, made.stderr
    rule = RuleSync(client, "ff", SyncRule(source=str(tmp_path), target="/app"))

    reports: list[SyncReport | None] = []
    worker = threading.Thread(target=lambda: reports.append(rule.sync(box.id)), daemon=True)
    worker.start()
    worker.join(timeout=90)  # generous: it hangs for good without the fix
    assert not worker.is_alive(), "the first sync hung on a FIFO or /dev/zero"

    [report] = reports
    assert report is not None and report.sent == 3
    kinds = box.run("cd /app && for f in pipe zero; do [ -f $f ] && [ ! -L $f ] && echo $f; done")
    assert kinds.stdout.split() == ["pipe", "zero"]
    assert listing(box) == {
        "pipe": "was a fifo",
        "plain.txt": "plain",
        "zero": "was a link to /dev/zero",
    }


def test_a_delete_that_failed_is_done_by_a_later_sync(
    box: Container, client: EngineClient, tmp_path: Path
) -> None:
    write(tmp_path / "keep.txt", "keep")
    write(tmp_path / "gone.txt", "gone")
    write(tmp_path / "dir" / "inner.txt", "inner")
    sync = file_sync(client, tmp_path)
    [report] = sync.sync({"ff": box.id})
    assert isinstance(report, SyncReport) and report.sent == 3

    (tmp_path / "gone.txt").unlink()
    shutil.rmtree(tmp_path / "dir")
    client.stop_container(box.id)  # commands cannot run: the delete fails
    [failure] = sync.sync({"ff": box.id})
    assert isinstance(failure, SyncFailure)

    client.start_container(box.id)
    [report] = sync.sync({"ff": box.id})
    assert isinstance(report, SyncReport) and report.deleted == 2
    assert listing(box) == {"keep.txt": "keep"}


def test_names_that_are_not_utf8_are_skipped_and_reported_once(
    box: Container, client: EngineClient, tmp_path: Path
) -> None:
    write(tmp_path / "good.txt", "good")
    bad = os.path.join(os.fsencode(tmp_path), b"bad-\xff.txt")
    with open(bad, "wb") as handle:
        handle.write(b"not sent")
    os.mkdir(os.path.join(os.fsencode(tmp_path), b"dir-\xfe"))
    sync = file_sync(client, tmp_path)

    results = sync.sync({"ff": box.id})
    assert [type(r) for r in results] == [SyncReport, SyncFailure]
    report, failure = results
    assert isinstance(report, SyncReport) and report.sent == 1
    assert isinstance(failure, SyncFailure) and "not UTF-8" in failure.error
    assert "\\xfe" in failure.error or "\\xff" in failure.error
    assert listing(box) == {"good.txt": "good"}

    write(tmp_path / "more.txt", "more")
    [report] = sync.sync({"ff": box.id})  # the skipped names are not reported again
    assert isinstance(report, SyncReport) and report.sent == 1
    assert listing(box) == {"good.txt": "good", "more.txt": "more"}


def test_a_file_swapped_for_a_symlink_during_a_sync_is_not_read_through(
    box: Container, client: EngineClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("host secret")
    source = tmp_path / "src"
    write(source / "a.txt", "harmless")
    rule = RuleSync(client, "ff", SyncRule(source=str(source), target="/app"))
    scan = rule.scanner.scan

    def scan_then_swap(changed: Any = ()) -> Any:
        found = scan(changed)
        (source / "a.txt").unlink()
        (source / "a.txt").symlink_to(secret)
        return found

    monkeypatch.setattr(rule.scanner, "scan", scan_then_swap)
    rule.sync(box.id)
    monkeypatch.undo()
    assert "host secret" not in box.run("cat /app/a.txt 2>/dev/null").stdout

    # The next sync sends what is there now: the link itself.
    rule.sync(box.id)
    link = box.run("readlink /app/a.txt")
    assert link.stdout.strip() == str(secret)
    assert "host secret" not in box.run("cat /app/a.txt 2>/dev/null").stdout


def unreadable_gitignore(monkeypatch: pytest.MonkeyPatch, bad: Path, code: int) -> None:
    """Make reading `bad` fail with `code`; running as root, chmod would not do it."""
    real = Path.read_text

    def read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        if self == bad:
            raise OSError(code, os.strerror(code), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)


@pytest.mark.parametrize(
    ("where", "code"),
    [("src", errno.EACCES), ("src/dir", errno.EIO), (".", errno.EACCES)],
)
def test_a_gitignore_that_cannot_be_read_sends_and_deletes_nothing(
    box: Container,
    client: EngineClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    code: int,
) -> None:
    source = tmp_path / "src"
    write(tmp_path / where / ".gitignore", "*.log\n")
    write(source / "keep.txt", "keep")
    write(source / "dir" / "a.txt", "a")
    sync = FileSync(client, ignore_root=tmp_path)
    sync.set_rules({"ff": [SyncRule(source=str(source), target="/app")]})
    [report] = sync.sync({"ff": box.id})
    assert isinstance(report, SyncReport)
    before = listing(box)
    assert "keep.txt" in before and not any(name.endswith(".log") for name in before)

    unreadable_gitignore(monkeypatch, tmp_path / where / ".gitignore", code)
    write(source / "dir" / "secret.log", "must stay on the host")
    (source / "keep.txt").unlink()
    [failure] = sync.sync({"ff": box.id})
    assert isinstance(failure, SyncFailure) and ".gitignore" in failure.error
    assert os.strerror(code) in failure.error
    assert sync.sync({"ff": box.id}) == []  # reported once
    assert listing(box) == before

    # Readable again: the ignored file still stays out, the delete goes through.
    monkeypatch.undo()
    [report] = sync.sync({"ff": box.id})
    assert isinstance(report, SyncReport) and report.deleted == 1
    after = listing(box)
    assert "keep.txt" not in after and "dir/secret.log" not in after
