"""`init`, `validate` and `schema` through click's CliRunner; no engine involved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pocketdock.cli.main import cli
from pocketdock.spec.schema import schema_text


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_init_writes_a_valid_template(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(cli, ["init", "--name", "demo"])

    assert result.exit_code == 0, result.output
    text = (tmp_path / "pocket-dock.toml").read_text()
    assert text.startswith("#:schema ./.pocketdock/pocket-dock.schema.json\n")
    assert (tmp_path / ".gitignore").read_text() == ".pocketdock/\n"
    schema = tmp_path / ".pocketdock" / "pocket-dock.schema.json"
    assert schema.read_text() == schema_text()

    validated = runner.invoke(cli, ["validate", "--json"])
    assert validated.exit_code == 0, validated.output
    assert json.loads(validated.stdout)["name"] == "demo"


def test_init_refuses_to_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_text("# mine\n")

    result = runner.invoke(cli, ["-f", str(tmp_path), "init"])

    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert file.read_text() == "# mine\n"
    assert not (tmp_path / ".gitignore").exists()


def test_init_rejects_a_bad_name(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["-f", str(tmp_path), "init", "--name", "Bad Name"])

    assert result.exit_code == 2
    assert not (tmp_path / "pocket-dock.toml").exists()


def test_init_uses_the_image_option(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["-f", str(tmp_path), "init", "--image", "alpine:3.20"])

    assert result.exit_code == 0, result.output
    out = runner.invoke(cli, ["-f", str(tmp_path), "validate", "--json"])
    sandboxes = json.loads(out.stdout)["sandboxes"]
    assert {s["image"] for s in sandboxes.values()} == {"alpine:3.20"}


def test_validate_prints_the_effective_configuration(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "pocket-dock.toml").write_text(
        '[defaults]\nimage = "busybox:latest"\n[sandboxes.a]\nvolumes = { "./d" = "/d" }\n'
    )

    result = runner.invoke(cli, ["-f", str(tmp_path), "validate"])

    assert result.exit_code == 0, result.output
    assert 'image = "busybox:latest"' in result.stdout
    assert str(tmp_path / "d") in result.stdout


def test_validate_reports_each_problem_and_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_text('[sandboxes.dev]\nimage = "x"\npersist = "yes"\ncpus = -1\n')

    result = runner.invoke(cli, ["-f", str(file), "validate"])

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f'{file}:3:11: sandboxes.dev.persist: expected a boolean, got "yes"',
        f"{file}:4:8: sandboxes.dev.cpus: must be at least 0.01, got -1",
    ]
    assert result.stdout == ""


def test_validate_syntax_error(runner: CliRunner, tmp_path: Path) -> None:
    file = tmp_path / "pocket-dock.toml"
    file.write_text("[sandboxes.dev]\nimage = \n")

    result = runner.invoke(cli, ["-f", str(file), "validate"])

    assert result.exit_code == 2
    assert result.stderr.startswith(f"{file}:2:9: invalid TOML")


def test_validate_without_a_file(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(cli, ["validate"])

    assert result.exit_code == 2
    assert "pocketdock init" in result.stderr


def test_schema_prints_the_committed_schema(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema"])

    assert result.exit_code == 0
    committed = Path(__file__).parents[2] / "schema" / "pocket-dock.schema.json"
    assert result.stdout == committed.read_text()


def test_schema_write(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "pocket-dock.toml").write_text("")

    result = runner.invoke(cli, ["-f", str(tmp_path), "schema", "--write"])

    assert result.exit_code == 0, result.output
    assert (tmp_path / ".pocketdock" / "pocket-dock.schema.json").read_text() == schema_text()


def test_help_does_not_import_pydantic() -> None:
    import subprocess
    import sys

    code = "import sys, pocketdock.cli.main; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("verbose", [[], ["-vv"]])
def test_a_bug_is_one_line_not_a_traceback(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verbose: list[str]
) -> None:
    from pocketdock.spec import loader

    def broken(path: Path | None = None) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(loader, "load_project", broken)
    (tmp_path / "pocket-dock.toml").write_text('[sandboxes.a]\nimage = "x"\n')

    result = runner.invoke(cli, [*verbose, "-f", str(tmp_path / "pocket-dock.toml"), "validate"])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: unexpected ZeroDivisionError: boom; this is a bug in pocketdock "
        "(run with -vv to see where)"
    )
    assert ("Traceback" in result.stderr) == bool(verbose)
