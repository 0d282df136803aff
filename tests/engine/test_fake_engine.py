"""The engine's answers are data too: a tiny fake engine on a Unix socket misbehaves.

The fake speaks just enough HTTP/1.1 to send canned raw bytes back, so it can send what
no real engine would on purpose: malformed JSON, odd statuses, a body cut short, an
exec stream that stops in the middle of a frame, or no HTTP at all. The public API must
turn each into a `PocketDockError`, and the CLI into one line on stderr and exit 1.
"""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import pocketdock
from pocketdock import labels as L
from pocketdock.engine.stream import HEADER
from pocketdock.errors import EngineError, PocketDockError

# A route answers (method, path) with raw bytes, written as they are; None closes silently.
Route = Callable[[str, str], bytes | None]


def http(status: str, body: bytes, *, length: int | None = None, ctype: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nConnection: close\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    return head.encode() + b"\r\n" + body


def ok_json(value: object) -> bytes:
    body = json.dumps(value).encode()
    return http("200 OK", body, length=len(body), ctype="application/json")


class _Handler(socketserver.StreamRequestHandler):
    server: FakeEngine

    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1").split()
        if len(request_line) < 2:
            return
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length:
            self.rfile.read(length)
        method, target = request_line[0], request_line[1]
        self.server.seen.append(f"{method} {target}")
        answer = self.server.route(method, target.split("?", 1)[0])
        if answer is not None:
            self.wfile.write(answer)
            self.wfile.flush()


class FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, route: Route) -> None:
        super().__init__(path, _Handler)
        self.path = path
        self.route = route
        self.seen: list[str] = []


@pytest.fixture
def fake_engine(tmp_path: Path) -> Iterator[Callable[[Route], FakeEngine]]:
    servers: list[FakeEngine] = []

    def start(route: Route) -> FakeEngine:
        server = FakeEngine(str(tmp_path / f"fake{len(servers)}.sock"), route)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def fixed(answer: bytes | None) -> Route:
    return lambda method, path: answer


BROKEN_ANSWERS = {
    "malformed-json": http("200 OK", b'[{"Id": "abc", ', length=14, ctype="application/json"),
    "json-object-not-list": ok_json({"message": "surprise"}),
    "json-list-of-strings": ok_json(["a", "b"]),
    "status-418": http("418 I'm a teapot", b"short and stout", length=15),
    "status-502-html": http("502 Bad Gateway", b"<html>proxy</html>", length=18),
    "status-302": b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
    "status-500-empty": http("500 Internal Server Error", b"", length=0),
    "body-cut-short": http("200 OK", b"[{}, {}", length=100, ctype="application/json"),
    "not-http": b"SSH-2.0-OpenSSH_9.2\r\n",
    "closed-without-answer": None,
}


@pytest.mark.parametrize("answer", BROKEN_ANSWERS.values(), ids=BROKEN_ANSWERS.keys())
def test_list_containers_raises_pocketdock_errors_only(
    fake_engine: Callable[[Route], FakeEngine], answer: bytes | None
) -> None:
    engine = fake_engine(fixed(answer))
    with pytest.raises(PocketDockError) as info:
        pocketdock.list_containers(socket_path=engine.path)
    assert isinstance(info.value, EngineError)
    assert engine.seen and engine.seen[0].startswith("GET /v1.41/containers/json")


def test_unexpected_status_keeps_status_and_engine_words(
    fake_engine: Callable[[Route], FakeEngine],
) -> None:
    engine = fake_engine(fixed(BROKEN_ANSWERS["status-418"]))
    with pytest.raises(EngineError) as info:
        pocketdock.list_containers(socket_path=engine.path)
    assert (info.value.status, info.value.engine_message) == (418, "short and stout")


def running_box(exec_start: bytes, exec_inspect: bytes | None = None) -> Route:
    """An engine with one running managed sandbox whose exec answers are given."""
    item = {
        "Id": "c0ffee",
        "Names": ["/box"],
        "Image": "busybox",
        "State": "running",
        "Created": 0,
        "Labels": {L.MANAGED: "true", L.PERSIST: "false", L.PROJECT: ""},
    }
    inspect = exec_inspect or ok_json({"ExitCode": 0, "Running": False})

    def route(method: str, path: str) -> bytes | None:
        if path == "/v1.41/containers/json":
            return ok_json([item])
        if path == "/v1.41/containers/c0ffee/exec":
            return http("201 Created", b'{"Id": "e1"}', length=12, ctype="application/json")
        if path == "/v1.41/exec/e1/start":
            return exec_start
        if path == "/v1.41/exec/e1/json":
            return inspect
        return http("404 Not Found", b'{"message": "no"}', length=17)

    return route


def frame(stream: int, payload: bytes) -> bytes:
    return HEADER.pack(stream, len(payload)) + payload


STREAM = "application/vnd.docker.raw-stream"
BROKEN_EXECS = {
    # The connection closes cleanly, but in the middle of a frame.
    "truncated-frame": http("200 OK", frame(1, b"fine\n") + frame(1, b"cut")[:-1], ctype=STREAM),
    # The engine promised more bytes than it sent.
    "body-cut-short": http("200 OK", frame(1, b"fine\n"), length=500, ctype=STREAM),
    "unknown-stream-id": http("200 OK", frame(7, b"??"), ctype=STREAM),
    "exec-start-500": http("500 Internal Server Error", b'{"message":"oci"}', length=17),
    "exec-start-not-http": b"\x00\x01\x02garbage",
}


@pytest.mark.parametrize("exec_start", BROKEN_EXECS.values(), ids=BROKEN_EXECS.keys())
def test_run_with_a_broken_exec_stream(
    fake_engine: Callable[[Route], FakeEngine], exec_start: bytes
) -> None:
    engine = fake_engine(running_box(exec_start))
    box = pocketdock.resume_container("box", socket_path=engine.path)
    with pytest.raises(EngineError):
        box.run("echo fine")
    assert "POST /v1.41/exec/e1/start" in engine.seen


def test_run_works_against_the_fake_when_it_behaves(
    fake_engine: Callable[[Route], FakeEngine],
) -> None:
    # The control case: the same fake with a well-formed stream gives a normal result.
    good = http("200 OK", frame(1, b"out\n") + frame(2, b"err\n"), ctype=STREAM)
    exit_3 = ok_json({"ExitCode": 3, "Running": False})
    engine = fake_engine(running_box(good, exit_3))
    result = pocketdock.resume_container("box", socket_path=engine.path).run("x")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")


@pytest.mark.parametrize(
    "exec_inspect",
    [
        http("200 OK", b"{not json", length=9, ctype="application/json"),
        ok_json(["a list"]),
        ok_json({"ExitCode": None, "Running": True}),
    ],
    ids=["malformed", "wrong-shape", "never-finishes"],
)
def test_run_with_a_broken_exit_code(
    fake_engine: Callable[[Route], FakeEngine], exec_inspect: bytes
) -> None:
    good = http("200 OK", frame(1, b"out\n"), ctype=STREAM)
    engine = fake_engine(running_box(good, exec_inspect))
    with pytest.raises(PocketDockError):
        pocketdock.resume_container("box", socket_path=engine.path).run("x")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POCKETDOCK_SOCKET", "DOCKER_HOST")}
    return subprocess.run(
        [sys.executable, "-m", "pocketdock", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def assert_one_clean_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


@pytest.mark.parametrize(
    "answer",
    [
        BROKEN_ANSWERS["malformed-json"],
        BROKEN_ANSWERS["status-418"],
        BROKEN_ANSWERS["not-http"],
        BROKEN_ANSWERS["closed-without-answer"],
    ],
    ids=["malformed-json", "status-418", "not-http", "closed-without-answer"],
)
def test_cli_list_against_a_broken_engine(
    fake_engine: Callable[[Route], FakeEngine], answer: bytes | None
) -> None:
    engine = fake_engine(fixed(answer))
    assert_one_clean_error(run_cli("--socket", engine.path, "list"))


def test_cli_stop_against_a_broken_engine(fake_engine: Callable[[Route], FakeEngine]) -> None:
    engine = fake_engine(fixed(BROKEN_ANSWERS["json-list-of-strings"]))
    line = assert_one_clean_error(run_cli("--socket", engine.path, "stop", "box"))
    assert "expected a JSON array" in line


@pytest.mark.parametrize("command", [["list"], ["stop", "x"], ["prune", "--yes"]])
def test_cli_engine_down_names_the_socket(command: list[str]) -> None:
    line = assert_one_clean_error(run_cli("--socket", "/nonexistent", *command))
    assert "unix:///nonexistent" in line


def test_cli_engine_down_through_the_environment() -> None:
    env = {**os.environ, "POCKETDOCK_SOCKET": "/nonexistent/pd.sock"}
    env.pop("DOCKER_HOST", None)
    done = subprocess.run(
        [sys.executable, "-m", "pocketdock", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    line = assert_one_clean_error(done)
    assert "unix:///nonexistent/pd.sock" in line and "POCKETDOCK_SOCKET" in line


def test_cli_unsupported_endpoint_scheme() -> None:
    line = assert_one_clean_error(run_cli("--socket", "ssh://host", "list"))
    assert "unsupported engine endpoint scheme 'ssh'" in line
