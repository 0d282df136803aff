"""Small output helpers shared by the commands: tables, JSON, colour on terminals only."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def style(text: str, color: str) -> str:
    return click.style(text, fg=color) if use_color() else text


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces; headers in capitals."""
    cells = [[h.upper() for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def confirm(question: str, *, yes: bool) -> bool:
    """True when `--yes` was given or the user agrees; never asks without a terminal."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise click.UsageError(f"{question} Refusing without a terminal; pass --yes to confirm.")
    return click.confirm(question, default=False)
