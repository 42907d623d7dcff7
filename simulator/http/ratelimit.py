"""A per-account token bucket: an API may declare one (``Api.rate_limit``) to answer 429 as a real carrier does
(Control Center's transactions per second, Twilio's 20429). Real time, not simulated time: it limits how fast a
client calls, which the simulated clock does not measure."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class RateLimit:
    """``rate`` requests a second per account, bursts of up to ``burst``."""

    rate: float
    burst: int = 1
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)  # account → (tokens, at)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")

    def take(self, account: str) -> float:
        """Take one token: 0.0 when the request may go, else the seconds until one is available."""
        now = self.clock()
        tokens, at = self._buckets.get(account, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[account] = (tokens - 1.0, now)
            return 0.0
        self._buckets[account] = (tokens, now)
        return (1.0 - tokens) / self.rate
