"""Deterministic sample data for the demo, tests and benchmarks."""

from __future__ import annotations

import hashlib


def sample_bytes(name: str, size: int) -> bytes:
    """``size`` pseudo-random bytes derived from ``name``: the same name gives the same data."""
    seed = hashlib.sha256(name.encode()).digest()
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])
