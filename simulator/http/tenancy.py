"""API keys per account (PLAN-3: a key sees and changes only its own account's cards).

Keys are derived from the simulation's seed, the world's generation and a counter, so a replayed journal hands out
the same keys; they are stored hashed, and looked up by their hash, so a dump of the server never shows a usable key.
Each reset starts a new generation: the new world's accounts have the ids the old ones had (``acc-0001`` …), and
without the generation their keys would be the old keys too, so a client left over from before the reset would
quietly act on the new world's account.

A world other than the server's default one (``worlds``) names itself in its keys: ``csk_<world id>_<hex>``, derived
from the world id as well, so keys are unique across worlds and the key alone says which world it opens
(``Worlds.for_key``). The default world's keys keep their old form (``csk_<hex>``: no ``w`` after the prefix).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


class KeyRing:
    def __init__(self, seed: int, generation: int = 0, world: str | None = None) -> None:
        self.generation = generation
        self.world = world  # None: the default world
        self._seed = str(seed).encode() if generation == 0 else f"{seed}/{generation}".encode()
        if world is not None:
            self._seed = f"{world}:".encode() + self._seed
        self._by_hash: dict[str, str] = {}
        self._issued = 0

    def issue(self, account_id: str) -> str:
        self._issued += 1
        raw = hmac.new(self._seed, f"{account_id}:{self._issued}".encode(), hashlib.sha256).hexdigest()[:32]
        key = f"csk_{raw}" if getattr(self, "world", None) is None else f"csk_{self.world}_{raw}"
        self._by_hash[self._hash(key)] = account_id
        return key

    def account_for(self, key: str) -> str | None:
        return self._by_hash.get(self._hash(key))

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha256(_raw(key)).hexdigest()


def world_of_key(key: str) -> str | None:
    """The world a key names (None: the default world's form, or no key of ours)."""
    if key.startswith("csk_w"):
        world, sep, _ = key[4:].partition("_")
        if sep:
            return world
    return None


def _raw(text: str) -> bytes:
    """Header bytes that are not UTF-8 reach us as surrogate escapes (aiohttp decodes with ``surrogateescape``);
    turn them back into the bytes sent rather than fail with UnicodeEncodeError (a 500 for a bad header)."""
    return text.encode("utf-8", "surrogateescape")


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(_raw(given), _raw(expected))
