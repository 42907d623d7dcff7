"""``Idempotency-Key`` on every POST: a retry with the same key gets the first response and applies nothing twice;
the same key with another body is refused (409). Concurrent retries wait for the first one to finish."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass

_MAX_CANONICAL = 64 * 1024


def _canonical(body: bytes) -> bytes:
    if not body.strip() or len(body) > _MAX_CANONICAL:
        return b"raw:" + body
    try:
        data = json.loads(body, parse_constant=_refuse)
        return b"json:" + json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, RecursionError, UnicodeDecodeError):  # not JSON (or not JSON we can hold): the bytes
        return b"raw:" + body


def _refuse(name: str) -> None:
    raise ValueError(name)


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
        """What makes two requests the same: method, path and body — a JSON body by its meaning, so that a retry
        serialised with other spacing or key order is still the same request (anything else byte for byte)."""
        return hashlib.sha256(method.encode() + b" " + path.encode("utf-8", "surrogateescape") + b"\n"
                              + _canonical(body)).hexdigest()

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
