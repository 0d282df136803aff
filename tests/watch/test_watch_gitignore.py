"""`.gitignore` matching and the host-side scan of a synced directory (no engine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pocketdock.watch.filesync import (
    HostScanner,
    IgnoreFile,
    is_ignored,
    parse_gitignore,
)

ROOT = Path("/r")


def ignored(text: str, rel: str, *, is_dir: bool = False) -> bool:
    ignore = IgnoreFile(ROOT, tuple(parse_gitignore(text)))
    return is_ignored([ignore], ROOT / rel, is_dir)


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "expected"),
    [
        ("*.log", "a.log", False, True),
        ("*.log", "deep/er/a.log", False, True),
        ("*.log", "a.log.txt", False, False),
        ("*.log", "x.log", True, True),
        ("build/", "build", True, True),
        ("build/", "build", False, False),
        ("build/", "src/build", True, True),
        ("/build", "build", False, True),
        ("/build", "src/build", False, False),
        ("doc/frotz", "doc/frotz", False, True),
        ("doc/frotz", "a/doc/frotz", False, False),
        ("**/foo", "foo", False, True),
        ("**/foo", "a/b/foo", False, True),
        ("**/foo/bar", "x/foo/bar", False, True),
        ("abc/**", "abc/x", False, True),
        ("abc/**", "abc/x/y", False, True),
        ("abc/**", "abc", True, False),
        ("a/**/b", "a/b", False, True),
        ("a/**/b", "a/x/b", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("a/**/b", "a/xb", False, False),
        ("?.txt", "a.txt", False, True),
        ("?.txt", "ab.txt", False, False),
        ("[ab].c", "a.c", False, True),
        ("[ab].c", "c.c", False, False),
        ("[!ab].c", "c.c", False, True),
        ("[!ab].c", "a.c", False, False),
        ("[a-c]x", "bx", False, True),
        ("[a-c]x", "dx", False, False),
        ("[]]x", "]x", False, True),
        ("[ab", "[ab", False, True),
        ("foo*bar", "fooXYbar", False, True),
        ("foo*bar", "foo/bar", False, False),
        ("\\#file", "#file", False, True),
        ("# a comment", "# a comment", False, False),
        ("\\!important", "!important", False, True),
        ("a.txt   ", "a.txt", False, True),
        ("*.py[cod]", "m.pyc", False, True),
        ("", "anything", False, False),
    ],
)
def test_pattern(pattern: str, path: str, is_dir: bool, expected: bool) -> None:
    assert ignored(pattern, path, is_dir=is_dir) is expected


def test_last_matching_line_wins() -> None:
    text = "*.log\n!keep.log\n"
    assert ignored(text, "x.log")
    assert not ignored(text, "keep.log")
    assert ignored(text + "keep.log\n", "keep.log")


def test_git_directory_is_always_ignored() -> None:
    assert ignored("", ".git", is_dir=True)
    assert ignored("!.git\n", ".git", is_dir=True)


def write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_scan_honours_nested_files_and_pruned_directories(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / ".gitignore", "*.tmp\nbuild/\n!build/keep\n")
    write(src / "a.py")
    write(src / "x.tmp")
    write(src / "build" / "keep")
    write(src / "sub" / ".gitignore", "!keep.tmp\n/local.cfg\n")
    write(src / "sub" / "keep.tmp")
    write(src / "sub" / "drop.tmp")
    write(src / "sub" / "local.cfg")
    write(src / "sub" / "deeper" / "local.cfg")
    write(src / ".git" / "HEAD")
    write(src / ".pocketdock" / "apply.lock")

    found = HostScanner(src).scan()

    assert sorted(found) == [
        ".gitignore",
        "a.py",
        "sub/.gitignore",
        "sub/deeper/local.cfg",
        "sub/keep.tmp",
    ]


def test_scan_applies_ignore_files_between_project_root_and_source(tmp_path: Path) -> None:
    write(tmp_path / ".gitignore", "secret.txt\n/src/gen/\n")
    src = tmp_path / "src"
    write(src / "secret.txt")
    write(src / "gen" / "out.c")
    write(src / "nested" / "gen" / "out.c")
    write(src / "ok.txt")

    assert sorted(HostScanner(src, tmp_path).scan()) == ["nested/gen/out.c", "ok.txt"]
    assert sorted(HostScanner(src).scan()) == [
        "gen/out.c",
        "nested/gen/out.c",
        "ok.txt",
        "secret.txt",
    ]


def test_scan_records_links_and_modes(tmp_path: Path) -> None:
    write(tmp_path / "run.sh", "#!/bin/sh\n")
    (tmp_path / "run.sh").chmod(0o755)
    (tmp_path / "link").symlink_to("run.sh")

    found = HostScanner(tmp_path).scan()

    assert found["run.sh"].kind == "file" and found["run.sh"].mode == 0o755
    assert found["link"].kind == "link" and found["link"].link == "run.sh"


def test_scan_rehashes_what_changed(tmp_path: Path) -> None:
    path = write(tmp_path / "f.txt", "one")
    scanner = HostScanner(tmp_path)
    first = scanner.scan()["f.txt"].digest

    path.write_text("two")
    assert scanner.scan()["f.txt"].digest != first

    # Same size and a restored mtime: only the watcher's hint forces a new hash.
    before = path.stat()
    path.write_text("six")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    stale = scanner.scan()["f.txt"].digest
    fresh = scanner.scan(changed=["f.txt"])["f.txt"].digest
    assert stale != fresh
    assert fresh == HostScanner(tmp_path).scan()["f.txt"].digest
