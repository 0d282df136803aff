"""Helpers shared by the engine-facing test folders."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def wait_for(check: Callable[[], Any], *, timeout: float = 20, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class SocketProxy:
    """Forwards connections on the Unix socket `path` to the engine's socket.

    `down()` mimics an engine that went away: it stops listening, removes the socket file
    (connecting fails as with a stopped engine) and breaks every open connection in both
    directions, the event stream included. `up()` brings it back on the same path.
    """

    def __init__(self, path: Path, upstream: str) -> None:
        self.path = path
        self.upstream = upstream
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._pumps: list[threading.Thread] = []
        self._stop = threading.Event()
        self._acceptor: threading.Thread | None = None

    def up(self) -> None:
        self.path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(128)
        listener.settimeout(0.05)  # how often the acceptor looks at `_stop`
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def down(self) -> None:
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join()  # closes the listener: new connections are refused
            self._acceptor = None
        self.path.unlink(missing_ok=True)
        with self._lock:
            sockets, self._sockets = self._sockets, []
            pumps, self._pumps = self._pumps, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for pump in pumps:
            if pump.is_alive():
                pump.join(timeout=5)
        for sock in sockets:
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while not self._stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                conn.settimeout(None)
                engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                pumps = [
                    threading.Thread(target=self._pump, args=pair, daemon=True)
                    for pair in ((conn, engine), (engine, conn))
                ]
                with self._lock:
                    self._sockets += [conn, engine]
                    self._pumps += pumps
                try:
                    engine.connect(self.upstream)
                except OSError:
                    conn.shutdown(socket.SHUT_RDWR)
                    continue
                for pump in pumps:
                    pump.start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
