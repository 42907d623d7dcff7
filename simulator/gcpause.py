"""Pausing the cyclic garbage collector around bulk work.

A world of a million cards is millions of long-lived objects; every full collection walks all of them, and bulk
work (an advance over a year, a batch of usage reports, a fleet build) allocates enough to trigger one again and
again — at a million cards that was half the time of a batch of usage reports. That work makes no garbage cycles,
so the collector is paused for its duration and restored after (reference counting still frees everything).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
