"""Memory sizes as people write them (`512m`, `1.5g`, `64MB`) and as engines read them.

Kept apart from `containers.py` so that checking a project file does not import the
engine client.
"""

from __future__ import annotations

import re

# The engines read a memory limit as a signed 64-bit number of bytes.
MAX_BYTES = 2**63 - 1

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


class SizeTooLarge(ValueError):
    """A well-formed size beyond what any engine accepts."""


def parse_bytes(value: int | str) -> int:
    """Bytes in `value`: an int as it is, or a size in binary units, any case.

    Raises `ValueError` for anything else, and `SizeTooLarge` (a `ValueError`) for a size
    over `MAX_BYTES`.
    """
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(value.strip())
    if match is None:
        raise ValueError(f"not a size: {value!r} (use e.g. 512m or 2g)")
    size = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if size > MAX_BYTES:  # also a number with too many digits to be a finite float
        raise SizeTooLarge(f"size {value!r} is larger than any engine accepts")
    return int(size)
