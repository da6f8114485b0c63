"""Seeded random streams: every random draw in a run comes from one of these.

Each (seed, upstream, purpose) gets its own ``random.Random``, seeded from a SHA-256 of the three,
so streams never share state, adding an upstream does not shift another's draws, and the values
are the same in every process and on every machine (Mersenne Twister's ``random()`` sequence for
a given integer seed is part of Python's compatibility promise).
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["stream"]


def stream(seed: int, upstream: str, purpose: str) -> random.Random:
    """Return the random stream for ``purpose`` (e.g. "faults") of ``upstream`` under ``seed``."""
    digest = hashlib.sha256(f"{seed}\x00{upstream}\x00{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))
