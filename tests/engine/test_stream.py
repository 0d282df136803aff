"""Demultiplexing the engine's stdout/stderr frame stream."""

from __future__ import annotations

import pytest

from pocketdock.engine.stream import HEADER, Demuxer, demux
from pocketdock.errors import EngineProtocolError


def frame(stream: int, payload: bytes) -> bytes:
    return HEADER.pack(stream, len(payload)) + payload


def test_frames_go_to_their_streams_in_order() -> None:
    data = frame(1, b"a") + frame(2, b"b") + frame(1, b"c") + frame(2, b"d")
    assert demux([data]) == (b"ac", b"bd")


def test_stdin_id_counts_as_stdout() -> None:
    assert demux([frame(0, b"x")]) == (b"x", b"")


def test_empty_stream_and_empty_frames() -> None:
    assert demux([]) == (b"", b"")
    assert demux([frame(1, b""), frame(2, b"")]) == (b"", b"")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 13])
def test_frames_split_across_chunks_at_every_offset(size: int) -> None:
    data = frame(1, b"hello ") + frame(2, b"oops") + frame(1, b"world" * 100)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert demux(chunks) == (b"hello " + b"world" * 100, b"oops")


def test_header_split_then_payload_arrives_later() -> None:
    demuxer = Demuxer()
    data = frame(2, b"late")
    demuxer.feed(data[:3])
    demuxer.feed(data[3:8])
    assert (demuxer.stdout, demuxer.stderr) == (b"", b"")
    demuxer.feed(data[8:])
    demuxer.close()
    assert bytes(demuxer.stderr) == b"late"


def test_binary_payload_is_kept_byte_for_byte() -> None:
    payload = bytes(range(256)) * 4
    assert demux([frame(1, payload)]) == (payload, b"")


@pytest.mark.parametrize("stream", [3, 4, 0x7F, 0xFF])
def test_unknown_stream_id(stream: int) -> None:
    with pytest.raises(EngineProtocolError, match=f"unknown stream id {stream}"):
        demux([frame(1, b"ok") + frame(stream, b"??")])


def test_tty_style_raw_output_is_refused() -> None:
    # Raw text where a header belongs: 'h' (0x68) is no stream id.
    with pytest.raises(EngineProtocolError, match="unknown stream id"):
        demux([b"hello world\n"])


@pytest.mark.parametrize(
    "data",
    [
        frame(1, b"complete") + frame(1, b"cut short")[:-3],
        frame(1, b"x")[:5],
        HEADER.pack(2, 10),
    ],
    ids=["payload-cut", "header-cut", "header-only"],
)
def test_truncated_frame(data: bytes) -> None:
    with pytest.raises(EngineProtocolError, match="middle of a frame"):
        demux([data])
