"""Dialect credentials: who a carrier API's username and secret are, in one small function (``account_for``), so
that routing keys to worlds later changes one place.

A dialect's secret is the account's native API key (any key issued for it: ``POST /_sim/accounts`` and the fleet
generator hand them out); its username is derived from the account id, the world's seed and its key generation
(so a reset world's usernames are new, like its keys): Twilio's Account SID (``AC`` + 32 hex), Control Center's
username (the account id). A username that does not go with the key opens nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..app import ServerState
    from ..worlds import Worlds


def username(state: "ServerState", dialect: str, account_id: str) -> str:
    if dialect == "twilio":
        return _account_sid(state.sim.seed, state.keys.generation, account_id)
    return account_id


@functools.lru_cache(maxsize=4096)
def _account_sid(seed: int, generation: int, account_id: str) -> str:
    return "AC" + hashlib.sha256(f"{seed}/{generation}:{account_id}".encode()).hexdigest()[:32]


def credentials(state: "ServerState", dialect: str, account_id: str, api_key: str) -> dict[str, str]:
    """What ``createAccount`` adds for a mounted dialect, beside the native key."""
    if dialect == "twilio":
        return {"account_sid": username(state, dialect, account_id), "auth_token": api_key}
    return {"username": username(state, dialect, account_id), "api_key": api_key}


def basic(header: str | None) -> tuple[str, str] | None:
    """The user and password of an HTTP Basic ``Authorization`` header."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, secret) if sep else None


def account_for(worlds: "Worlds", dialect: str, header: str | None) -> "tuple[ServerState, str] | None":
    """The world and account a dialect request's Basic credentials name, or None: the secret is an API key, and a
    key belongs to one world (``Worlds.for_key``)."""
    pair = basic(header)
    if pair is None or not pair[1]:
        return None
    found = worlds.for_key(pair[1])
    if found is None or pair[0] != username(found[0], dialect, found[1]):
        return None
    return found
