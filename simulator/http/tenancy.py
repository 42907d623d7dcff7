"""API keys per account (PLAN-3: a key sees and changes only its own account's cards).

Keys are derived from the simulation's seed and a counter, so a replayed journal hands out the same keys; they are
stored hashed, and looked up by their hash, so a dump of the server never shows a usable key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


class KeyRing:
    def __init__(self, seed: int) -> None:
        self._seed = str(seed).encode()
        self._by_hash: dict[str, str] = {}
        self._issued = 0

    def issue(self, account_id: str) -> str:
        self._issued += 1
        raw = hmac.new(self._seed, f"{account_id}:{self._issued}".encode(), hashlib.sha256).hexdigest()[:32]
        key = f"csk_{raw}"
        self._by_hash[self._hash(key)] = account_id
        return key

    def account_for(self, key: str) -> str | None:
        return self._by_hash.get(self._hash(key))

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())
