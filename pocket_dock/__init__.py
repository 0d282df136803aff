"""Alias package: `import pocket_dock` gives exactly the public API of `pocketdock`."""

from __future__ import annotations

from typing import Any

import pocketdock
from pocketdock import *  # noqa: F403
from pocketdock import __all__, __version__  # noqa: F401


def __getattr__(name: str) -> Any:
    return getattr(pocketdock, name)
