"""Splitting the engine's multiplexed stdout/stderr stream.

Without a TTY, the engine sends an exec's or attach's output as frames: an 8-byte header
(stream id, three zero bytes, big-endian payload length) followed by the payload. Stream
id 1 is stdout and 2 is stderr (0, stdin, never appears in output).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from pocketdock.errors import EngineProtocolError

HEADER = struct.Struct(">BxxxL")


class Demuxer:
    """Incremental frame parser: feed it chunks as they arrive, then call `close()`."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.stdout = bytearray()
        self.stderr = bytearray()

    def frames(self, chunk: bytes) -> Iterator[tuple[int, bytes]]:
        """Add `chunk` and yield each (stream id, payload) frame it completes."""
        self._buffer += chunk
        while len(self._buffer) >= HEADER.size:
            stream, size = HEADER.unpack_from(self._buffer)
            if stream not in (0, 1, 2):
                raise EngineProtocolError(f"malformed output stream: unknown stream id {stream}")
            end = HEADER.size + size
            if len(self._buffer) < end:
                return
            payload = bytes(self._buffer[HEADER.size : end])
            del self._buffer[:end]
            yield stream, payload

    def feed(self, chunk: bytes) -> None:
        """Add `chunk`, collecting complete frames into `stdout` and `stderr`."""
        for stream, payload in self.frames(chunk):
            (self.stderr if stream == 2 else self.stdout).extend(payload)

    def close(self) -> None:
        if self._buffer:
            raise EngineProtocolError(
                f"output stream ended in the middle of a frame ({len(self._buffer)} bytes left)"
            )


def demux(chunks: Iterable[bytes]) -> tuple[bytes, bytes]:
    """Split a complete multiplexed stream into (stdout, stderr)."""
    demuxer = Demuxer()
    for chunk in chunks:
        demuxer.feed(chunk)
    demuxer.close()
    return bytes(demuxer.stdout), bytes(demuxer.stderr)
