"""Turning medians into the results table, the JSON file and the chart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HEADERS = ("figure", "pocketdock", "floor", "docker-compose", "ratio", "target", "pass/fail")


@dataclass(frozen=True)
class Row:
    """One line of the table; `passed` is None where the issue sets no target."""

    figure: str
    unit: str  # "s", "ms", "MB" or "req"
    pocketdock: float | None
    floor: float | None = None
    compose: float | None = None
    target: str = "-"
    passed: bool | None = None
    compose_over: bool = False  # the docker-compose figure is only a lower bound
    # The median over repetitions of pocketdock / floor within one repetition.
    paired: float | None = None

    @property
    def ratio(self) -> float | None:
        """The paired ratio where there is one, else the ratio of the two medians."""
        if self.paired is not None:
            return self.paired
        if self.pocketdock is None or not self.floor:
            return None
        return self.pocketdock / self.floor


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "req":
        return f"{value:.0f}"
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:.1f} {unit}"


def _verdict(passed: bool | None) -> str:
    return "-" if passed is None else ("pass" if passed else "**FAIL**")


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        cells = [
            row.figure,
            _value(row.pocketdock, row.unit),
            _value(row.floor, row.unit),
            ("> " if row.compose_over else "") + _value(row.compose, row.unit),
            ratio,
            row.target,
            _verdict(row.passed),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(path: Path, data: dict[str, Any], rows: Sequence[Row]) -> None:
    payload = {**data, "table": [{**asdict(r), "ratio": r.ratio} for r in rows]}
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_chart(path: Path, series: dict[str, dict[int, float]]) -> bool:
    """`up` time against N, one line per contender; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    styles = {"pocketdock": "o-", "floor (engine API)": "s--", "docker-compose": "^-."}
    for label, points in series.items():
        if points:
            ns = sorted(points)
            style = next((v for k, v in styles.items() if label.startswith(k)), "o-")
            axes.plot(ns, [points[n] for n in ns], style, label=label)
    axes.set_xlabel("sandboxes (N)")
    axes.set_ylabel("up from nothing: median wall time (s)")
    axes.set_title("up: pocketdock vs the engine floor vs docker-compose")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return True
