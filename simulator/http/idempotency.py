"""``Idempotency-Key`` on every POST: a retry with the same key gets the first response and applies nothing twice;
the same key with another body is refused (409). Concurrent retries wait for the first one to finish."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass


@dataclass
class Stored:
    fingerprint: str
    status: int = 0
    body: bytes = b""
    content_type: str = "application/json"
    done: asyncio.Event | None = None


class IdempotencyStore:
    def __init__(self, limit: int = 100_000) -> None:
        self._entries: dict[tuple[str, str], Stored] = {}
        self._limit = limit

    @staticmethod
    def fingerprint(method: str, path: str, body: bytes) -> str:
        return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()

    def get(self, scope: str, key: str) -> Stored | None:
        return self._entries.get((scope, key))

    def begin(self, scope: str, key: str, fingerprint: str) -> Stored:
        if len(self._entries) >= self._limit:  # oldest first: dicts keep insertion order
            self._entries.pop(next(iter(self._entries)))
        entry = self._entries[(scope, key)] = Stored(fingerprint, done=asyncio.Event())
        return entry

    def finish(self, entry: Stored, status: int, body: bytes, content_type: str) -> None:
        entry.status, entry.body, entry.content_type = status, body, content_type
        assert entry.done is not None
        entry.done.set()

    def abandon(self, scope: str, key: str, entry: Stored) -> None:
        """A request that failed without a response (a crash) leaves no stored answer behind."""
        if self._entries.get((scope, key)) is entry:
            del self._entries[(scope, key)]
        if entry.done is not None:
            entry.done.set()

    def clear(self) -> None:
        self._entries.clear()
