"""The engine goes away in the middle of `up` or `down`, then comes back (issue 6).

pocketdock reaches the engine through a small Unix-socket proxy in the test. Cutting the
proxy closes its listening socket and every open connection at once, so in-flight
requests break and new ones are refused, as when the engine stops. The interrupted
command must exit 1 with a clear error report and no traceback; once the proxy is back, the
next run must converge with exactly one labelled container per sandbox.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from project.conftest import Proj
from support import SocketProxy, wait_for

from pocketdock import labels as L
from pocketdock.engine.client import EngineClient
from pocketdock.engine.parse import item_labels, item_name, item_state
from pocketdock.spec.loader import load_project

pytestmark = pytest.mark.engine

SANDBOXES = [f"s{i:02d}" for i in range(15)]
PERSISTENT = {"s03", "s07", "s11"}
SETUP = "s00"  # ephemeral, with a setup command
STOPPED = {"s05", "s11"}
RUNNING = [s for s in SANDBOXES if s not in STOPPED]
KEPT = "s03"  # persistent, created and given a file before any cut


def _body() -> str:
    body = '[defaults]\nimage = "busybox:latest"\n'
    for name in SANDBOXES:
        body += f"\n[sandboxes.{name}]\n"
        if name in PERSISTENT:
            body += "persist = true\n"
        if name in STOPPED:
            body += 'state = "stopped"\n'
        if name == SETUP:
            # Slow enough that some cuts land while its exec stream is open.
            body += 'setup = ["sleep 0.5 && echo set > /root/setup-done"]\n'
    return body


@pytest.fixture
def proj(
    tmp_path: Path, client: EngineClient, engine_env: dict[str, str], unique: str
) -> Iterator[Proj]:
    project = Proj(root=tmp_path / "p", name=unique, client=client, env=dict(engine_env))
    project.write(_body())
    yield project
    project.cleanup()


@pytest.fixture
def proxy(tmp_path: Path, socket_path: str) -> Iterator[SocketProxy]:
    forward = SocketProxy(tmp_path / "engine.sock", socket_path)
    forward.up()
    yield forward
    forward.down()


class Watched:
    """A running CLI process whose output lines are collected as they arrive."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the interrupted command hung; output so far: {self.out} {self.err}")
        for reader in self._readers:
            reader.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            assert stream is not None
            stream.close()
        return code, "".join(self.out), "".join(self.err)


def _cut_when(
    project: Proj, proxy: SocketProxy, command: str, moment: Callable[[list[str]], bool]
) -> tuple[int, str, str]:
    """Run `command` through the proxy, cut the proxy at `moment`, and wait for the end."""
    run = Watched(project.popen("--socket", str(proxy.path), command))
    what = f"the moment to cut `{command}`"
    wait_for(lambda: moment(list(run.out)) or run.proc.poll() is not None, timeout=30, what=what)
    assert run.proc.poll() is None, f"{command} ended before the cut: {run.out} {run.err}"
    proxy.down()
    return run.finish()


def _assert_clear_failure(code: int, out: str, err: str, proxy: SocketProxy) -> None:
    assert code == 1, (code, out, err)
    assert "Traceback" not in out + err, out + err
    assert err.startswith("error: "), err
    gone = ("connection to the engine broke", f"no container engine answers at unix://{proxy.path}")
    failures = [line for line in err.splitlines() if line.startswith("  ")]
    assert failures, err
    for line in failures:
        assert any(g in line for g in gone), line


def _assert_labelled(project: Proj) -> None:
    """Every container named after the project is pocketdock's and this project's."""
    project_id = load_project(project.file).project_id
    for item in project.containers():
        labels = item_labels(item)
        assert labels.get(L.MANAGED) == "true", item_name(item)
        assert labels.get(L.PROJECT_ID) == project_id, item_name(item)


def _assert_one_each(project: Proj, sandboxes: list[str]) -> None:
    """Exactly one labelled container per sandbox, under its name, and nothing else."""
    _assert_labelled(project)
    project_id = load_project(project.file).project_id
    by_label = project.client.list_containers(labels={L.PROJECT_ID: project_id})
    assert sorted(item_name(i) for i in by_label) == [f"{project.name}-{s}" for s in sandboxes]
    assert {i["Id"] for i in by_label} == {i["Id"] for i in project.containers()}


def _mark_persistent(project: Proj) -> dict[str, str]:
    """Write a file into every running persistent sandbox; returns sandbox -> container id."""
    marked = {}
    for item in project.containers():
        sandbox = item_labels(item).get(L.SANDBOX, "")
        if sandbox in PERSISTENT and item_state(item) == "running":
            assert project.sh(sandbox, f"echo {sandbox} > /root/mark") == (0, "")
            marked[sandbox] = str(item["Id"])
    return marked


def _oks(out: str) -> int:
    return sum(line.startswith("ok ") for line in out.splitlines())


def _ok_lines(count: int) -> Callable[[list[str]], bool]:
    return lambda lines: _oks("".join(lines)) >= count


def _first_action(lines: list[str]) -> bool:
    return any(line.startswith("->") for line in lines)


UP_MOMENTS = {
    "at-first-create": _first_action,
    "after-3-ok": _ok_lines(3),
    "after-9-ok": _ok_lines(9),
}


@pytest.mark.parametrize("moment", list(UP_MOMENTS), ids=list(UP_MOMENTS))
def test_up_cut_mid_apply_then_converges(proj: Proj, proxy: SocketProxy, moment: str) -> None:
    first = proj.sub("up", KEPT)
    assert first.code == 0, first.text
    assert proj.sh(KEPT, "echo precious > /root/work") == (0, "")
    kept_id = proj.cid(KEPT)

    code, out, err = _cut_when(proj, proxy, "up", UP_MOMENTS[moment])
    _assert_clear_failure(code, out, err, proxy)
    assert "-> create" in out
    _assert_labelled(proj)
    assert _oks(out) < len(SANDBOXES) - 1, "the cut came after the apply"
    marked = _mark_persistent(proj)

    proxy.up()
    again = proj.sub("--socket", str(proxy.path), "up")
    assert again.code == 0, again.text
    _assert_one_each(proj, SANDBOXES)
    for sandbox in SANDBOXES:
        expected = ("running",) if sandbox in RUNNING else ("created", "exited")
        assert proj.state(sandbox) in expected, (sandbox, out, err, again.text)
    assert proj.cid(KEPT) == kept_id
    assert proj.sh(KEPT, "cat /root/work") == (0, "precious\n")
    for sandbox, cid in marked.items():
        assert proj.cid(sandbox) == cid
        assert proj.sh(sandbox, "cat /root/mark") == (0, f"{sandbox}\n")
    assert proj.sh(SETUP, "cat /root/setup-done") == (0, "set\n")
    assert proj.sub("plan", "--detailed-exitcode").code == 0


def test_down_cut_mid_apply_then_converges(proj: Proj, proxy: SocketProxy) -> None:
    first = proj.sub("up")
    assert first.code == 0, first.text
    marked = _mark_persistent(proj)
    assert sorted(marked) == sorted(PERSISTENT - STOPPED)

    code, out, err = _cut_when(proj, proxy, "down", _first_action)
    _assert_clear_failure(code, out, err, proxy)
    _assert_labelled(proj)
    assert _oks(out) < len(SANDBOXES), "the cut came after the apply"

    proxy.up()
    again = proj.sub("--socket", str(proxy.path), "down")
    assert again.code == 0, again.text
    _assert_one_each(proj, sorted(PERSISTENT))
    wait_for(lambda: set(proj.states().values()) <= {"exited", "created"}, what="all stopped")
    for sandbox, cid in marked.items():
        assert proj.cid(sandbox) == cid
        proj.client.start_container(cid)
        assert proj.sh(sandbox, "cat /root/mark") == (0, f"{sandbox}\n")
