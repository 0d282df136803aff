"""The benchmark runs end to end (N=2, one repetition); its timings are not checked."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pocketdock.engine.client import EngineClient
from pocketdock.engine.parse import item_name

BENCH = Path(__file__).resolve().parents[2] / "bench" / "run.py"


@pytest.mark.engine
def test_bench_smoke(
    tmp_path: Path, unique: str, socket_path: str, test_image: str, client: EngineClient
) -> None:
    argv = [
        sys.executable,
        str(BENCH),
        "--quick",
        "--no-compose",
        "--out-dir",
        str(tmp_path),
        "--socket",
        socket_path,
        "--image",
        test_image,
        "--prefix",
        unique,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

    table = (tmp_path / "results.md").read_text()
    assert "| figure | pocketdock | floor | docker-compose |" in table
    assert "`up` 2 from nothing" in table
    raw = json.loads((tmp_path / "results.json").read_text())
    assert raw["samples"]["up 2"]["pocketdock"]
    assert raw["samples"]["no-op plan 2 requests"]["pocketdock"] == [2]
    if importlib.util.find_spec("matplotlib") is not None:  # the chart needs the bench extra
        assert (tmp_path / "up.png").stat().st_size > 0
    # The benchmark removed every container it made, and left the shared image alone.
    left = [item_name(i) for i in client.list_containers() if item_name(i).startswith(unique)]
    assert left == []
    assert client.image_id(test_image) is not None
