"""A corpus of broken pocket-dock.toml files, each with the exact line and key path blamed."""

from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

import pytest

from pocketdock.errors import SpecError
from pocketdock.spec.loader import load_project, parse_project

FILE = Path("/project/pocket-dock.toml")

# (id, document, line, column or None, key path, a fragment of the message)
CORPUS: list[tuple[str, str, int, int | None, str, str]] = [
    ("syntax-missing-value", "[sandboxes.a]\nimage =\n", 2, 8, "", "invalid TOML"),
    ("syntax-bad-header", 'x = 1\n[sandboxes.a\nimage = "b"\n', 2, None, "", "invalid TOML"),
    ("syntax-unterminated", '[sandboxes.a]\nimage = "busybox\n', 2, None, "", "invalid TOML"),
    (
        "syntax-duplicate-key",
        '[sandboxes.a]\nimage = "x"\nimage = "y"\n',
        3,
        None,
        "",
        "invalid TOML",
    ),
    (
        "syntax-duplicate-table",
        '[sandboxes.a]\nimage = "x"\n[sandboxes.a]\n',
        3,
        None,
        "",
        "invalid TOML",
    ),
    ("unknown-top-key", "sandboxs = {}\n", 1, 1, "sandboxs", "did you mean `sandboxes`?"),
    (
        "unknown-sandbox-key",
        '[sandboxes.a]\nimage = "x"\npersit = true\n',
        3,
        1,
        "sandboxes.a.persit",
        "unknown key `persit`; did you mean `persist`?",
    ),
    (
        "unknown-key-far",
        '[sandboxes.a]\nimage = "x"\nzzz = 1\n',
        3,
        1,
        "sandboxes.a.zzz",
        "unknown key `zzz`",
    ),
    ("unknown-project-key", '[project]\nnam = "x"\n', 2, 1, "project.nam", "did you mean `name`?"),
    (
        "unknown-snapshot-key",
        '[snapshots.s]\nform = "busybox"\n',
        2,
        1,
        "snapshots.s.form",
        "did you mean `from`?",
    ),
    (
        "unknown-defaults-key",
        '[defaults]\nimage = "x"\nmemlimit = "1g"\n',
        3,
        1,
        "defaults.memlimit",
        "did you mean `mem_limit`?",
    ),
    (
        "persist-string",
        '[sandboxes.dev]\nimage = "x"\npersist = "yes"\n',
        3,
        11,
        "sandboxes.dev.persist",
        'expected a boolean, got "yes"',
    ),
    (
        "env-int",
        '[sandboxes.a]\nimage = "x"\nenv = { A = 1 }\n',
        3,
        13,
        "sandboxes.a.env.A",
        "expected a string, got 1",
    ),
    (
        "image-int",
        "[sandboxes.a]\nimage = 5\n",
        2,
        9,
        "sandboxes.a.image",
        "expected a string, got 5",
    ),
    ("sandboxes-not-table", "sandboxes = 3\n", 1, 13, "sandboxes", "expected a table, got 3"),
    (
        "setup-element",
        '[sandboxes.a]\nimage = "x"\nsetup = [\n  "ok",\n  7,\n]\n',
        5,
        3,
        "sandboxes.a.setup[1]",
        "expected a string, got 7",
    ),
    (
        "command-type",
        '[sandboxes.a]\nimage = "x"\ncommand = true\n',
        3,
        11,
        "sandboxes.a.command",
        "expected a string or an array of strings, got true",
    ),
    (
        "command-empty",
        '[sandboxes.a]\nimage = "x"\ncommand = []\n',
        3,
        11,
        "sandboxes.a.command",
        "must not be empty",
    ),
    (
        "state-bad",
        '[sandboxes.a]\nimage = "x"\nstate = "paused"\n',
        3,
        9,
        "sandboxes.a.state",
        'expected "running" or "stopped", got "paused"',
    ),
    (
        "cpus-zero",
        '[sandboxes.a]\nimage = "x"\ncpus = 0\n',
        3,
        8,
        "sandboxes.a.cpus",
        "must be at least 0.01, got 0",
    ),
    (
        "cpus-string",
        '[sandboxes.a]\nimage = "x"\ncpus = "2"\n',
        3,
        8,
        "sandboxes.a.cpus",
        'expected a number, got "2"',
    ),
    (
        "mem-too-small",
        '[sandboxes.a]\nimage = "x"\nmem_limit = "1m"\n',
        3,
        13,
        "sandboxes.a.mem_limit",
        "at least 6 MiB",
    ),
    (
        "mem-bad-unit",
        '[sandboxes.a]\nimage = "x"\nmem_limit = "5 parsecs"\n',
        3,
        13,
        "sandboxes.a.mem_limit",
        "size like",
    ),
    (
        "mem-bool",
        '[sandboxes.a]\nimage = "x"\nmem_limit = true\n',
        3,
        13,
        "sandboxes.a.mem_limit",
        "got true",
    ),
    (
        "mem-int-small",
        '[sandboxes.a]\nimage = "x"\nmem_limit = 1024\n',
        3,
        13,
        "sandboxes.a.mem_limit",
        "at least 6 MiB",
    ),
    (
        "pids-negative",
        '[sandboxes.a]\nimage = "x"\npids_limit = -1\n',
        3,
        14,
        "sandboxes.a.pids_limit",
        "greater than 0",
    ),
    (
        "image-and-snapshot",
        '[snapshots.s]\nimage = "i"\n\n[sandboxes.a]\nimage = "x"\nsnapshot = "s"\n',
        6,
        1,
        "sandboxes.a.snapshot",
        "not both",
    ),
    (
        "neither",
        "[sandboxes.a]\npersist = true\n",
        1,
        12,
        "sandboxes.a",
        "needs `image` or `snapshot`",
    ),
    (
        "unknown-snapshot-ref",
        '[snapshots.tools]\nimage = "i"\n[sandboxes.a]\nsnapshot = "tols"\n',
        4,
        12,
        "sandboxes.a.snapshot",
        'unknown snapshot "tols"; did you mean "tools"?',
    ),
    (
        "unknown-parent-snapshot",
        '[snapshots.b]\nfrom = "snapshot:nope"\n',
        2,
        8,
        "snapshots.b.from",
        'unknown snapshot "nope"',
    ),
    (
        "cycle",
        '[snapshots.a]\nfrom = "snapshot:b"\n\n[snapshots.b]\nfrom = "snapshot:a"\n',
        2,
        8,
        "snapshots.a.from",
        "snapshot cycle: a -> b -> a",
    ),
    ("self-cycle", '[snapshots.me]\nfrom = "snapshot:me"\n', 2, 8, "snapshots.me.from", "me -> me"),
    ("snapshot-neither", "[snapshots.s]\nrun = []\n", 1, 12, "snapshots.s", "needs `from`"),
    (
        "snapshot-both",
        '[snapshots.s]\nfrom = "x"\nimage = "y"\n',
        3,
        1,
        "snapshots.s.image",
        "not both",
    ),
    (
        "snapshot-run-image",
        '[snapshots.s]\nimage = "y"\nrun = ["a"]\n',
        3,
        1,
        "snapshots.s.run",
        "needs `from`",
    ),
    (
        "sandbox-name-upper",
        '[sandboxes.Dev]\nimage = "x"\n',
        1,
        12,
        "sandboxes.Dev",
        'invalid name "Dev"',
    ),
    ("sandbox-name-dash", '[sandboxes."-x"]\nimage = "x"\n', 1, 12, "sandboxes.-x", "invalid name"),
    ("snapshot-name", '[snapshots.a_B]\nimage = "x"\n', 1, 12, "snapshots.a_B", "invalid name"),
    # Names become image repositories, whose rule is stricter than "letters, - and _".
    (
        "sandbox-name-trailing",
        '[sandboxes.dev_]\nimage = "x"\n',
        1,
        12,
        "sandboxes.dev_",
        "invalid name",
    ),
    (
        "sandbox-name-mixed-run",
        '[sandboxes.a_-b]\nimage = "x"\n',
        1,
        12,
        "sandboxes.a_-b",
        "invalid name",
    ),
    (
        "sandbox-name-too-long",
        f'[sandboxes.{"a" * 64}]\nimage = "x"\n',
        1,
        12,
        f"sandboxes.{'a' * 64}",
        "at most 63",
    ),
    ("project-name-trailing", '[project]\nname = "lab-"\n', 2, 8, "project.name", "invalid name"),
    ("project-name", '[project]\nname = "My Project"\n', 2, 8, "project.name", "invalid name"),
    (
        "volume-target-relative",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "./d" = "data" }\n',
        3,
        21,
        'sandboxes.a.volumes."./d"',
        "must be absolute",
    ),
    (
        "volume-target-dotdot",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "./d" = "/a/../etc" }\n',
        3,
        21,
        'sandboxes.a.volumes."./d"',
        "must not contain `..`",
    ),
    (
        "volume-bad-form",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "./d" = ["/d"] }\n',
        3,
        21,
        'sandboxes.a.volumes."./d"',
        "expected a container path or a table",
    ),
    (
        "volume-table-missing-target",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "./d" = { read_only = true } }\n',
        3,
        21,
        'sandboxes.a.volumes."./d"',
        "missing required key `target`",
    ),
    (
        "volume-table-ro-type",
        '[sandboxes.a]\nimage = "x"\n[sandboxes.a.volumes."./d"]\n'
        'target = "/d"\nread_only = "no"\n',
        5,
        13,
        'sandboxes.a.volumes."./d".read_only',
        'expected a boolean, got "no"',
    ),
    (
        "volume-escape",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "../secrets" = "/s" }\n',
        3,
        13,
        'sandboxes.a.volumes."../secrets"',
        "inside the project directory",
    ),
    (
        "volume-escape-hidden",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "data/../../x" = "/s" }\n',
        3,
        13,
        'sandboxes.a.volumes."data/../../x"',
        "inside the project directory",
    ),
    (
        "volume-tilde",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "~/x" = "/s" }\n',
        3,
        13,
        'sandboxes.a.volumes."~/x"',
        "`~` is not expanded",
    ),
    (
        "sync-escape",
        '[sandboxes.a]\nimage = "x"\nsync = { "../src" = "/app" }\n',
        3,
        10,
        'sandboxes.a.sync."../src"',
        "inside the project directory",
    ),
    (
        "sync-relative-target",
        '[sandboxes.a]\nimage = "x"\nsync = { "./src" = "app" }\n',
        3,
        20,
        'sandboxes.a.sync."./src"',
        "must be absolute",
    ),
    (
        "engine-socket",
        '[sandboxes.a]\nimage = "x"\n'
        'volumes = { "/var/run/docker.sock" = "/var/run/docker.sock" }\n',
        3,
        13,
        'sandboxes.a.volumes."/var/run/docker.sock"',
        "allow_engine_socket",
    ),
    (
        "podman-socket",
        '[sandboxes.a]\nimage = "x"\n\n[sandboxes.a.volumes]\n'
        '"/run/user/1000/podman/podman.sock" = "/s"\n',
        5,
        1,
        'sandboxes.a.volumes."/run/user/1000/podman/podman.sock"',
        "engine socket",
    ),
    (
        "socket-directory",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "/run" = "/hostrun" }\n',
        3,
        13,
        'sandboxes.a.volumes."/run"',
        "engine socket",
    ),
    (
        "socket-from-defaults",
        '[defaults]\nimage = "x"\nvolumes = { "/run/docker.sock" = "/d.sock" }\n[sandboxes.a]\n',
        3,
        13,
        'defaults.volumes."/run/docker.sock"',
        "engine socket",
    ),
    (
        "host-root",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "/" = "/host" }\n',
        3,
        13,
        'sandboxes.a.volumes."/"',
        "allow_host_root",
    ),
    (
        "duplicate-target",
        '[sandboxes.a]\nimage = "x"\nvolumes = { "./a" = "/d", "./b" = "/d" }\n',
        3,
        35,
        'sandboxes.a.volumes."./b"',
        "already the target",
    ),
    (
        "label-reserved",
        '[sandboxes.a]\nimage = "x"\nlabels = { "pocketdock.managed" = "x" }\n',
        3,
        12,
        'sandboxes.a.labels."pocketdock.managed"',
        "reserved",
    ),
    (
        "label-value-int",
        '[sandboxes.a]\nimage = "x"\nlabels = { a = 1 }\n',
        3,
        16,
        "sandboxes.a.labels.a",
        "expected a string",
    ),
    (
        "workdir-relative",
        '[sandboxes.a]\nimage = "x"\nworkdir = "work"\n',
        3,
        11,
        "sandboxes.a.workdir",
        "must be absolute",
    ),
    (
        "image-spaces",
        '[sandboxes.a]\nimage = "busy box"\n',
        2,
        9,
        "sandboxes.a.image",
        "without spaces",
    ),
    (
        "date-value",
        "[sandboxes.a]\nimage = 1979-05-27T07:32:00Z\n",
        2,
        9,
        "sandboxes.a.image",
        "expected a string, got a date/time",
    ),
    (
        "dotted-key",
        'sandboxes.a.image = "x"\nsandboxes.a.persist = 1\n',
        2,
        23,
        "sandboxes.a.persist",
        "expected a boolean, got 1",
    ),
    (
        "sandbox-not-a-table",
        'sandboxes.web = "busybox"\n',
        1,
        17,
        "sandboxes.web",
        "expected a table",
    ),
    (
        "sandbox-array-of-tables",
        '[[sandboxes.web]]\nimage = "x"\n',
        1,
        None,
        "sandboxes.web",
        "expected a table, got an array",
    ),
    (
        "snapshot-not-a-table",
        '[sandboxes.a]\nimage = "x"\n[snapshots]\nt = 3\n',
        4,
        5,
        "snapshots.t",
        "expected a table, got 3",
    ),
    (
        "merged-table-of-the-wrong-type",
        '[defaults]\nimage = "x"\nenv = { A = "1" }\n[sandboxes.a]\nenv = ["A=1"]\n',
        5,
        7,
        "sandboxes.a.env",
        "expected a table, got an array",
    ),
    (
        "cpus-infinite",
        '[sandboxes.a]\nimage = "x"\ncpus = inf\n',
        3,
        8,
        "sandboxes.a.cpus",
        "must be a finite number, got inf",
    ),
    (
        "cpus-too-small",
        '[sandboxes.a]\nimage = "x"\ncpus = 0.001\n',
        3,
        8,
        "sandboxes.a.cpus",
        "must be at least 0.01, got 0.001",
    ),
    (
        "mem-limit-beyond-any-engine",
        '[sandboxes.a]\nimage = "x"\nmem_limit = "' + "9" * 400 + '"\n',
        3,
        13,
        "sandboxes.a.mem_limit",
        "larger than any engine accepts",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "key_path", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in CORPUS],
)
def test_bad_file_is_located(
    text: str, line: int, column: int | None, key_path: str, fragment: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_project(text, FILE)

    matching = [p for p in caught.value.problems if fragment in p.message]
    assert matching, [str(p) for p in caught.value.problems]
    problem = matching[0]
    assert (problem.line, problem.key_path) == (line, key_path), str(problem)
    if column is not None:
        assert problem.column == column, str(problem)
    assert problem.path == FILE


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


def test_every_problem_is_reported_in_file_order() -> None:
    text = dedent(
        """\
        [defaults]
        mem_limit = "2m"

        [sandboxes.one]
        image = "x"
        persist = "yes"

        [sandboxes.two]
        snapshot = "missing"
        cpus = -1

        [sandboxes.three]
        imgae = "x"
        """
    )
    with pytest.raises(SpecError) as caught:
        parse_project(text, FILE)

    found = [(p.line, p.key_path) for p in caught.value.problems]
    assert found == [
        (2, "defaults.mem_limit"),
        (6, "sandboxes.one.persist"),
        (9, "sandboxes.two.snapshot"),
        (10, "sandboxes.two.cpus"),
        (12, "sandboxes.three"),
        (13, "sandboxes.three.imgae"),
    ]
    assert "did you mean `image`?" in caught.value.problems[-1].message


def test_problem_renders_as_file_line_column_key_message() -> None:
    with pytest.raises(SpecError) as caught:
        parse_project('[sandboxes.dev]\nimage = "x"\npersist = "yes"\n', FILE)

    expected = f'{FILE}:3:11: sandboxes.dev.persist: expected a boolean, got "yes"'
    assert str(caught.value.problems[0]) == expected


def test_defaults_socket_problem_is_reported_once() -> None:
    text = '[defaults]\nimage = "x"\nvolumes = { "/run/docker.sock" = "/s" }\n'
    text += "[sandboxes.a]\n[sandboxes.b]\n"
    with pytest.raises(SpecError) as caught:
        parse_project(text, FILE)

    assert len(caught.value.problems) == 1


def test_allow_flags_permit_socket_and_root() -> None:
    text = dedent(
        """\
        [sandboxes.a]
        image = "x"
        allow_engine_socket = true
        allow_host_root = true
        volumes = { "/var/run/docker.sock" = "/var/run/docker.sock", "/" = "/host" }
        """
    )
    project = parse_project(text, FILE)

    sources = [v.source for v in project.sandboxes["a"].volumes]
    assert sources == ["/var/run/docker.sock", "/"]


# -- hostile files on disk


def _problem(path: Path) -> str:
    with pytest.raises(SpecError) as caught:
        load_project(path)
    assert len(caught.value.problems) == 1
    return str(caught.value.problems[0])


def test_file_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "pocket-dock.toml").mkdir()
    assert "is a directory" in _problem(tmp_path / "pocket-dock.toml")


def test_missing_file(tmp_path: Path) -> None:
    assert "cannot read" in _problem(tmp_path / "nope.toml")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_text('[sandboxes.a]\nimage = "x"\n')
    file.chmod(0)
    if os.geteuid() == 0:
        # Root reads a mode-0 file anyway, so make the open fail as it would for a user.
        def refuse(self: Path, *args: object, **kwargs: object) -> object:
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "open", refuse)
    assert "cannot read: Permission denied" in _problem(file)


def test_non_utf8_is_located(tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_bytes(b'[sandboxes.a]\nimage = "caf\xe9"\n')
    assert _problem(file).endswith("pocket-dock.toml:2:13: not valid UTF-8 (byte 0xe9)")


def test_binary_garbage(tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_bytes(bytes(range(1, 128)) * 3)
    assert "invalid TOML" in _problem(file)


def test_huge_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_text("# padding\n" * 120_000)
    assert "larger than 1 MiB" in _problem(file)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(SpecError):
        parse_project("a = " + "[" * 50_000 + "]" * 50_000 + "\n", FILE)
