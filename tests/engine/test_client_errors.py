"""Error mapping of the engine client, driven through `httpx.MockTransport`.

Every engine answer here is made up; what is tested is how the client reads it: which
pocketdock error each status becomes, what it keeps of the engine's words, and that a
malformed answer never escapes as a raw httpx or JSON error.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pocketdock.engine import client as client_module
from pocketdock.engine.client import EngineClient, full_image_id
from pocketdock.engine.endpoint import parse_endpoint
from pocketdock.errors import (
    Conflict,
    ContainerNotFound,
    EngineError,
    EngineProtocolError,
    EngineTimeout,
    EngineUnavailable,
    ImageNotFound,
    NameConflict,
    NotFound,
    PocketDockError,
)

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler) -> EngineClient:
    endpoint = parse_endpoint("/fake/engine.sock", "test")
    return EngineClient(endpoint, transport=httpx.MockTransport(handler))


def answer(status: int, body: Any = None, *, raw: bytes | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if raw is not None:
            return httpx.Response(status, content=raw)
        return httpx.Response(status, json=body)

    return handler


# Each call that names an object, with the NotFound subclass a 404 must become.
NOT_FOUND_CALLS: list[tuple[str, Callable[[EngineClient], object], type[NotFound]]] = [
    ("inspect_container", lambda c: c.inspect_container("x"), ContainerNotFound),
    ("start_container", lambda c: c.start_container("x"), ContainerNotFound),
    ("stop_container", lambda c: c.stop_container("x"), ContainerNotFound),
    ("kill_container", lambda c: c.kill_container("x"), ContainerNotFound),
    ("remove_container", lambda c: c.remove_container("x"), ContainerNotFound),
    ("exec_create", lambda c: c.exec_create("x", ["true"]), ContainerNotFound),
    ("exec_start", lambda c: c.exec_start("e"), ContainerNotFound),
    ("put_archive", lambda c: c.put_archive("x", "/", b""), ContainerNotFound),
    ("commit", lambda c: c.commit("x", repo="r", tag="t"), ContainerNotFound),
    ("create_container", lambda c: c.create_container("x", {}), ImageNotFound),
    ("inspect_image", lambda c: c.inspect_image("i"), ImageNotFound),
    ("remove_image", lambda c: c.remove_image("i"), ImageNotFound),
    ("tag_image", lambda c: c.tag_image("i", repo="r", tag="t"), ImageNotFound),
    ("get_archive", lambda c: c.get_archive("x", "/nope"), NotFound),
    ("exec_inspect", lambda c: c.exec_inspect("e"), NotFound),
]


@pytest.mark.parametrize(
    ("call", "expected"),
    [(call, expected) for _, call, expected in NOT_FOUND_CALLS],
    ids=[name for name, _, _ in NOT_FOUND_CALLS],
)
def test_404_becomes_the_right_not_found(
    call: Callable[[EngineClient], object], expected: type[NotFound]
) -> None:
    client = make_client(answer(404, {"message": "no such thing: x"}))
    with pytest.raises(expected) as info:
        call(client)
    assert type(info.value) is expected
    assert (info.value.status, info.value.engine_message) == (404, "no such thing: x")


def test_409_on_create_is_a_name_conflict() -> None:
    client = make_client(answer(409, {"message": 'Conflict. The container name "/x" is in use'}))
    with pytest.raises(NameConflict) as info:
        client.create_container("x", {"Image": "i"})
    assert info.value.status == 409
    assert "is in use" in info.value.engine_message


def test_409_elsewhere_is_a_plain_conflict() -> None:
    client = make_client(answer(409, {"message": "container is running: stop it first"}))
    with pytest.raises(Conflict) as info:
        client.remove_image("i")
    assert type(info.value) is Conflict


class RefusedCreate:
    """An engine that answers every create with 500 and shows the name's holder only
    after `hidden` inspects (never, when None); counts the inspects."""

    def __init__(self, message: str, hidden: int | None) -> None:
        self.message = message
        self.hidden = hidden
        self.inspects = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/containers/create"):
            return httpx.Response(500, json={"message": self.message})
        self.inspects += 1
        if self.hidden is None or self.inspects <= self.hidden:
            return httpx.Response(404, json={"message": "no such container"})
        return httpx.Response(200, json={"Id": "abc", "Name": "/x"})


def test_500_on_create_without_the_name_taken_stays_an_engine_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_module, "NAME_RACE_SECONDS", 0.2)
    engine = RefusedCreate("runtime exploded", hidden=None)

    with pytest.raises(EngineError) as info:
        make_client(engine).create_container("x", {})
    assert type(info.value) is EngineError
    assert info.value.engine_message == "runtime exploded"
    assert engine.inspects > 1  # looked again while a racing create might still finish


def test_podman_name_race_waits_for_the_winner_to_show() -> None:
    # Podman reserves the name before the winner of a create race can be inspected: the
    # loser's 500 comes while the name still looks free for a moment.
    engine = RefusedCreate("that name is already in use", hidden=2)

    with pytest.raises(NameConflict):
        make_client(engine).create_container("x", {})
    assert engine.inspects == 3


def test_podman_answers_a_taken_name_with_500() -> None:
    # Podman 4 says 500 where Docker says 409; the client checks whether the name exists.
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/containers/create"):
            return httpx.Response(500, json={"message": "that name is already in use"})
        assert request.url.path.endswith("/containers/x/json")
        return httpx.Response(200, json={"Id": "abc", "Name": "/x"})

    with pytest.raises(NameConflict) as info:
        make_client(handler).create_container("x", {})
    assert info.value.status == 409
    assert info.value.engine_message == "that name is already in use"


def test_500_keeps_the_engine_message() -> None:
    client = make_client(answer(500, {"message": "driver failed programming: boom"}))
    with pytest.raises(EngineError) as info:
        client.list_containers()
    assert type(info.value) is EngineError
    assert info.value.status == 500
    assert info.value.engine_message == "driver failed programming: boom"
    assert str(info.value) == "failed to list containers: driver failed programming: boom"


def test_error_body_that_is_not_json_is_kept_as_text() -> None:
    client = make_client(answer(502, raw=b"<html>bad gateway</html>"))
    with pytest.raises(EngineError) as info:
        client.ping()
    assert info.value.engine_message == "<html>bad gateway</html>"


def test_empty_error_body_names_the_status() -> None:
    client = make_client(answer(503, raw=b""))
    with pytest.raises(EngineError, match="failed to ping the engine: HTTP 503"):
        client.ping()


# Every status the client distinguishes, and the class each must become.
STATUS_MAP: dict[int, type[EngineError]] = {
    400: EngineError,
    401: EngineError,
    403: EngineError,
    404: NotFound,
    406: EngineError,
    409: Conflict,
    418: EngineError,
    500: EngineError,
    501: EngineError,
    503: EngineError,
}


@pytest.mark.parametrize(("status", "expected"), sorted(STATUS_MAP.items()))
def test_every_error_status_is_mapped(status: int, expected: type[EngineError]) -> None:
    client = make_client(answer(status, {"message": f"engine says {status}"}))
    with pytest.raises(EngineError) as info:
        client.version()
    assert type(info.value) is expected
    assert (info.value.status, info.value.engine_message) == (status, f"engine says {status}")


@pytest.mark.parametrize("status", [200, 201, 204, 304])
def test_success_statuses_are_not_errors(status: int) -> None:
    client = make_client(answer(status, raw=b""))
    client.start_container("x")  # raises on any status the client does not accept


def test_malformed_json_is_a_protocol_error() -> None:
    client = make_client(answer(200, raw=b'[{"Id": "abc", '))
    with pytest.raises(EngineProtocolError, match="malformed JSON") as info:
        client.list_containers()
    assert isinstance(info.value.__cause__, ValueError)


def test_invalid_utf8_is_a_protocol_error() -> None:
    client = make_client(answer(200, raw=b'{"Id": "\xff\xfe"}'))
    with pytest.raises(EngineProtocolError):
        client.inspect_container("x")


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (lambda c: c.list_containers(), {"Id": "not a list"}),
        (lambda c: c.list_containers(), ["not", "objects"]),
        (lambda c: c.list_images(), 42),
        (lambda c: c.inspect_container("x"), ["a", "list"]),
        (lambda c: c.version(), "a string"),
        (lambda c: c.create_container("x", {}), {"Id": 42}),
        (lambda c: c.create_container("x", {}), {}),
        (lambda c: c.exec_create("x", ["true"]), {"Warnings": []}),
        (lambda c: c.commit("x", repo="r", tag="t"), {"Id": None}),
    ],
    ids=[
        "list-object",
        "list-of-strings",
        "images-number",
        "inspect-list",
        "version-string",
        "create-id-int",
        "create-no-id",
        "exec-no-id",
        "commit-null-id",
    ],
)
def test_json_of_the_wrong_shape_is_a_protocol_error(
    call: Callable[[EngineClient], object], body: Any
) -> None:
    with pytest.raises(EngineProtocolError):
        call(make_client(answer(200, body)))


def test_null_list_means_empty() -> None:
    # Podman answers `null` instead of `[]` for an empty list in some versions.
    assert make_client(answer(200, raw=b"null")).list_containers() == []
    assert make_client(answer(200, raw=b"null")).list_images() == []


def test_podman_commit_answers_a_bare_image_id() -> None:
    bare = "ab" * 32
    client = make_client(answer(201, {"Id": bare}))
    assert client.commit("x", repo="r", tag="t") == f"sha256:{bare}"
    assert full_image_id(f"sha256:{bare}") == f"sha256:{bare}"
    assert full_image_id("not-hex-" + "z" * 56) == "not-hex-" + "z" * 56


def commit_engine(components: list[str], seen: list[httpx.Request]) -> EngineClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/version"):
            return httpx.Response(200, json={"Components": [{"Name": n} for n in components]})
        return httpx.Response(201, json={"Id": "sha256:" + "0" * 64})

    return make_client(handler)


def test_docker_commit_takes_labels_from_the_body() -> None:
    seen: list[httpx.Request] = []
    engine = commit_engine(["Engine", "containerd"], seen)
    engine.commit("x", repo="r", tag="t", labels={"pocketdock.managed": "", "a": 'q"\\$'})
    request = seen[-1]
    assert request.url.params.get_list("changes") == []
    assert json.loads(request.content) == {"Labels": {"pocketdock.managed": "", "a": 'q"\\$'}}


def test_podman_commit_ignores_body_labels() -> None:
    seen: list[httpx.Request] = []
    engine = commit_engine(["Podman Engine", "Conmon"], seen)
    engine.commit("x", repo="r", tag="t", labels={"pocketdock.managed": "", "b": "$x é"})
    engine.commit("x", repo="r", tag="t2", labels={"c": "1"})
    assert [r.url.path for r in seen].count("/v1.41/version") == 1  # asked once
    assert seen[1].url.params.get_list("changes") == [
        'LABEL "pocketdock.managed"=""',
        'LABEL "b"="$x é"',
    ]


@pytest.mark.parametrize("value", ['say "hi"', "back\\slash", "two\nlines"])
def test_podman_commit_refuses_labels_it_would_alter(value: str) -> None:
    seen: list[httpx.Request] = []
    engine = commit_engine(["Podman Engine"], seen)
    with pytest.raises(EngineError, match="Podman cannot store the image label"):
        engine.commit("x", repo="r", tag="t", labels={"k": value})
    assert not any(r.url.path.endswith("/commit") for r in seen)


def test_label_filters_are_sent_as_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    make_client(handler).list_containers(labels={"a": "1", "b": "2"}, name="n")
    params = seen[0].url.params
    assert params["all"] == "1"
    assert json.loads(params["filters"]) == {"label": ["a=1", "b=2"], "name": ["n"]}
    assert seen[0].url.path == "/v1.41/containers/json"


def test_connection_refused_names_the_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.close()  # the socket file stays, nobody listens: ECONNREFUSED
    client = EngineClient(parse_endpoint(str(path), "socket_path"))
    try:
        with pytest.raises(EngineUnavailable) as info:
            client.ping()
    finally:
        client.close()
    assert info.value.endpoint == f"unix://{path}"
    assert f"unix://{path}" in str(info.value)
    assert "socket_path" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_missing_socket_file_names_the_endpoint(tmp_path: Path) -> None:
    client = EngineClient(parse_endpoint(str(tmp_path / "none.sock"), "POCKETDOCK_SOCKET"))
    try:
        with pytest.raises(EngineUnavailable, match=r"none\.sock") as info:
            client.list_containers()
    finally:
        client.close()
    assert "POCKETDOCK_SOCKET" in str(info.value)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), EngineUnavailable),
        (httpx.ConnectTimeout("slow"), EngineUnavailable),
        (httpx.ReadTimeout("slow"), EngineTimeout),
        (httpx.WriteTimeout("slow"), EngineTimeout),
        (httpx.PoolTimeout("busy"), EngineTimeout),
        (httpx.RemoteProtocolError("peer closed"), EngineProtocolError),
        (httpx.ReadError("reset"), EngineProtocolError),
        (httpx.WriteError("broken pipe"), EngineProtocolError),
        (httpx.CloseError("close failed"), EngineUnavailable),
        (httpx.LocalProtocolError("bad request"), EngineUnavailable),
        (httpx.ProxyError("proxy"), EngineUnavailable),
        (httpx.UnsupportedProtocol("gopher"), EngineUnavailable),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else v.__name__,
)
def test_every_transport_error_is_mapped(exc: httpx.TransportError, expected: type) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(PocketDockError) as info:
        make_client(handler).list_containers()
    assert type(info.value) is expected
    assert info.value.__cause__ is exc


def test_transport_errors_cover_every_httpx_transport_error() -> None:
    # A new httpx TransportError subclass must be added to the table above.
    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        for sub in list(found):
            found |= subclasses(sub)
        return found

    mapped = {
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.PoolTimeout,
        httpx.RemoteProtocolError,
        httpx.ReadError,
        httpx.WriteError,
        httpx.CloseError,
        httpx.LocalProtocolError,
        httpx.ProxyError,
        httpx.UnsupportedProtocol,
    }
    abstract = {httpx.TimeoutException, httpx.NetworkError, httpx.ProtocolError}
    assert subclasses(httpx.TransportError) - abstract == mapped


class Chunks(httpx.SyncByteStream):
    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


def test_exec_stream_is_demultiplexed_across_chunks() -> None:
    frames = b"\x01\x00\x00\x00\x00\x00\x00\x03out" + b"\x02\x00\x00\x00\x00\x00\x00\x03err"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunks(frames[:5], frames[5:13], frames[13:]))

    assert make_client(handler).exec_start("e") == (b"out", b"err")


def test_exec_stream_that_ends_mid_frame_is_a_protocol_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunks(b"\x01\x00\x00\x00\x00\x00\x00\x10only-half"))

    with pytest.raises(EngineProtocolError, match="middle of a frame"):
        make_client(handler).exec_start("e")
