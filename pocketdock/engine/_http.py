"""httpx, imported without the parts of it pocketdock never uses.

Whenever click is installed (as it is for pocketdock), `import httpx` also imports httpx's
own command-line tool, and rich and pygments with it; and httpcore, which httpx loads when
the first transport is made, imports trio, when installed, to serve async clients under
trio. Both cost every CLI run time (about 0.05 s and 0.1 s here) for nothing, since
pocketdock's client is synchronous. This module keeps them out while httpx and httpcore
first load; anything already imported is left alone.

Note that trio is kept out only when no trio is loaded when the first `EngineClient` is
made: a process that creates one and only then imports trio to run httpx's async client
under trio would find httpcore without trio support. Import trio first in that case.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def _hidden(*names: str) -> Iterator[None]:
    """While inside, `import NAME` fails for each module not imported yet."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            del sys.modules[name]


with _hidden("httpx._main"):
    import httpx as httpx


def import_httpcore() -> None:
    """Import httpcore (httpx does it for the first transport) without trio."""
    if "httpcore" not in sys.modules:
        with _hidden("trio"):
            import httpcore  # noqa: F401
