"""Many worlds on one server: the registry every API resolves its requests through.

A world is what one server held before there were several: a ``Simulation`` with its own clock (frozen or
accelerated), carriers, accounts and API keys, cards, events, webhooks, faults, maintenance windows, idempotency
records, batch jobs and, with ``--db``, its own journal and snapshots (``app.ServerState``). The server starts
with one, the *default* world, which the plain ``/_sim/…`` routes and the server's admin token control, so a
client that knows nothing of worlds sees exactly the server it always saw. ``POST /_sim/worlds`` makes more; each
answers its id (``w`` and ten hex digits) and an admin token of its own, which opens ``/_sim/worlds/{id}/…`` (every
test-control route) of that world and of no other.

How a request finds its world — a server-level service, so that every API, carrier dialects to come included,
resolves the same way:

- an account's API key names its world (``csk_<world>_<hex>``; the default world's keys are ``csk_<hex>``):
  ``for_key`` gives the world and the account, or nothing — another world's key is an unknown key;
- test control names the world in the path and proves it with that world's token (``opens``).

Another world's card, account, pool, job, webhook, snapshot or token therefore answers exactly like one that never
existed: a world holds no reference to any other.

Limits: at most ``max_worlds`` created worlds (the default one is not counted); a world unused for its ``ttl``
seconds of real time (its own, else the server's ``--world-ttl``) is deleted, as if ``DELETE`` had been called.
Refusals are ``SimError`` with a stable code (``world_limit_reached``, ``world_not_found``, ``invalid_input``,
``invalid_profile``), rendered as problems by the API, never a 5xx.

Durability (``--db PATH``): the default world lives in ``PATH`` as before; each created world in a file of its own,
``PATH.worlds/<id>.db``, the same journal-and-snapshots format with the world's id, token hash and ttl in its
``meta`` table. A restart opens every file there (every world comes back as it was, its token and keys still
valid, its idle time counted from the restart); deleting a world deletes its file. A file per world keeps a world's
writes from waiting on another's commits and makes deletion a file removal.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..durable.store import Store, StoreError
from ..errors import SimError
from ..errors import ProfileError
from ..profile import CarrierProfile, parse_profile
from ..simulation import Simulation
from ..timeutil import parse_instant, to_iso
from .tenancy import _raw, same_token, world_of_key

if TYPE_CHECKING:
    from .app import ServerState

log = logging.getLogger("carriersim.worlds")
DEFAULT = "default"
WORLD_ID = re.compile(r"w[0-9a-f]{10}")
TOKEN_PREFIX = "csw_"
REAP_EVERY = 1.0  # seconds between looks for idle worlds
MAX_TTL = 30 * 86400


def _hash(token: str) -> str:
    return hashlib.sha256(_raw(token)).hexdigest()


def world_not_found(world_id: str) -> SimError:
    return SimError("world_not_found", f"No world {world_id!r} is on this server (never created, deleted, or "
                    "expired after its idle ttl); GET /_sim/worlds lists the worlds there are.", status=404)


class Worlds:
    """The server's worlds: the default one and those made with ``create``."""

    def __init__(self, default: "ServerState", *, max_worlds: int = 100, default_ttl: float = 3600.0,
                 db: str | None = None, db_sync: str = "normal", webhook_backoff: float = 0.5) -> None:
        self.default = default
        self.max_worlds = max_worlds
        self.default_ttl = default_ttl if default_ttl > 0 else None
        self.dir = Path(str(db) + ".worlds") if db is not None else None
        self.db_sync = db_sync
        self.webhook_backoff = webhook_backoff
        # the carriers a world may name by id: those the server was started with (shipped and --profile)
        self.profiles: dict[str, CarrierProfile] = {c: default.sim.profile(c) for c in default.sim.carrier_ids()}
        self._worlds: dict[str, "ServerState"] = {}
        self._pending = 0  # creations under way (in worker threads): counted against max_worlds
        self._guard = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._reaper: asyncio.Task | None = None

    # ------------------------------------------------------------------ finding a world
    def get(self, world_id: str) -> "ServerState | None":
        if world_id == DEFAULT:
            return self.default
        state = self._worlds.get(world_id)
        if state is not None and self._expired(state):
            self._drop(state, "expired")
            return None
        return state

    def created(self) -> list["ServerState"]:
        return list(self._worlds.values())

    def for_key(self, key: str | None) -> "tuple[ServerState, str] | None":
        """The world an API key opens and its account, or None (an unknown key, or one of a world that is gone)."""
        if not key:
            return None
        world_id = world_of_key(key)
        state = self.default if world_id is None else self.get(world_id)
        if state is None:
            return None
        account = state.keys.account_for(key)
        if account is None or not state.sim.has_account(account):
            return None
        return state, account

    def opens(self, state: "ServerState", token: str | None) -> bool:
        """Whether ``token`` is this world's admin token (the default world's: the server's)."""
        if token is None:
            return False
        if state.token_hash is None:
            return state.admin_token is not None and same_token(token, state.admin_token)
        return hmac.compare_digest(_hash(token), state.token_hash)

    def is_server_token(self, token: str | None) -> bool:
        return self.opens(self.default, token)

    # ------------------------------------------------------------------ making and removing worlds
    def create(self, *, seed: int | None = None, start: object = None, profiles: list[Any] | None = None,
               fleet: int | None = None, clock: dict[str, Any] | None = None,
               ttl: int | None = None) -> tuple["ServerState", str, dict[str, Any] | None]:
        """A new world: its state, its admin token (shown once: only its hash is kept) and the fleet built, if
        asked. May run in a worker thread (a big fleet takes seconds); tasks start on the event loop."""
        from .app import execute, new_state
        from .world import bounded_instant

        with self._guard:
            if len(self._worlds) + self._pending >= self.max_worlds:
                raise SimError("world_limit_reached", f"This server holds its maximum of {self.max_worlds} worlds "
                               "(--max-worlds); delete one (DELETE /_sim/worlds/{id}), let idle ones expire, or "
                               "start the server with a higher --max-worlds.", status=409,
                               max_worlds=self.max_worlds)
            self._pending += 1
        try:
            base = self.default.sim
            chosen = self._profiles(profiles)
            when = base.now if start is None else bounded_instant(
                "start time", lambda: parse_instant(start, base.tz))
            mode = (clock or {}).get("mode", "frozen")
            rate = float((clock or {}).get("rate", 86400.0))
            world_id = self._new_id()
            sim = Simulation(seed=base.seed if seed is None else seed, start=when, timezone=str(base.tz),
                             profiles=chosen)
            state = new_state(sim, None, clock=mode, rate=rate, webhook_backoff=self.webhook_backoff,
                              world_id=world_id)
            token = TOKEN_PREFIX + secrets.token_urlsafe(24)
            state.token_hash = _hash(token)
            state.ttl = float(ttl) if ttl is not None else self.default_ttl
            if self.dir is not None:
                self._store_for(state)
            built = None
            if fleet:
                built = execute(state, "generate_fleet", {"cards": fleet, "accounts": max(1, fleet // 50),
                                                          "seed": sim.seed})
            with self._guard:
                self._worlds[world_id] = state
        finally:
            with self._guard:
                self._pending -= 1
        self._start_world(state)
        return state, token, built

    def _store_for(self, state: "ServerState") -> None:
        """The new world's file, with its record and first snapshot; a file that cannot be made is a 503 that
        says why (and leaves no half-made file behind)."""
        from .app import attach_durability

        assert self.dir is not None
        path = self.dir / f"{state.id}.db"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            store = Store(path, sync=self.db_sync)
        except (OSError, StoreError) as exc:
            raise SimError("world_storage_failed", f"The world's file {path} cannot be made ({exc}); check the "
                           "space and permissions of the --db folder.", status=503) from None
        try:
            store.set_meta("world", json.dumps(self._record(state)))
            attach_durability(state, store).open()
        except Exception as exc:
            store.close()
            _unlink(path)
            raise SimError("world_storage_failed", f"The world's file {path} cannot be written ({exc}); check "
                           "the space and permissions of the --db folder.", status=503) from None

    def _profiles(self, given: list[Any] | None) -> list[CarrierProfile]:
        if given is None:
            return list(self.profiles.values())
        out: dict[str, CarrierProfile] = {}
        for n, item in enumerate(given):
            where = f"profiles/{n}"
            if isinstance(item, str):
                profile = self.profiles.get(item)
                if profile is None:
                    raise SimError("invalid_input", f"{where}: no carrier {item!r} on this server (it has "
                                   f"{', '.join(sorted(self.profiles))}); name one of them or give the profile "
                                   "document itself.", status=422)
            else:
                try:
                    profile = parse_profile(item, f"inline profile {where}")
                except ProfileError as exc:
                    problems = [{"field": f"{where}/{field}" if not field.startswith("(") else where,
                                 "message": message} for field, message in exc.problems]
                    first = problems[0]
                    raise SimError("invalid_profile", f"{first['field']}: {first['message']} (carriersim profiles "
                                   "--validate FILE checks a profile file the same way).", status=422,
                                   errors=problems[:20]) from None
            if profile.id in out:
                raise SimError("invalid_input", f"{where}: carrier {profile.id!r} is given twice; give each "
                               "carrier once.", status=422)
            out[profile.id] = profile
        if not out:
            raise SimError("invalid_input", "profiles: give at least one carrier (or leave profiles out for the "
                           "server's carriers).", status=422)
        return list(out.values())

    def _new_id(self) -> str:
        while True:
            world_id = "w" + secrets.token_hex(5)
            if world_id not in self._worlds and not (self.dir and (self.dir / f"{world_id}.db").exists()):
                return world_id

    @staticmethod
    def _record(state: "ServerState") -> dict[str, Any]:
        return {"id": state.id, "token_hash": state.token_hash, "ttl": state.ttl, "created": state.created}

    def delete(self, world_id: str) -> None:
        if world_id == DEFAULT:
            raise SimError("default_world", "The default world cannot be deleted (the plain /_sim routes control "
                           "it); POST /_sim/reset empties it.", status=409)
        state = self.get(world_id)
        if state is None:
            raise world_not_found(world_id)
        self._drop(state, "deleted")

    def _drop(self, state: "ServerState", why: str) -> None:
        with self._guard:
            if self._worlds.get(state.id) is not state:
                return
            del self._worlds[state.id]
        state.gone = True
        self._on_loop(self._stop_world, state)
        if state.durability is not None:
            state.durability.store.close()
            _unlink(state.durability.store.path)
        log.info("world %s %s", state.id, why)

    def _expired(self, state: "ServerState") -> bool:
        return state.ttl is not None and not state.busy() and time.monotonic() - state.last_used > state.ttl

    def expire(self) -> list[str]:
        """Delete every world idle past its ttl; their ids."""
        gone = [s for s in list(self._worlds.values()) if self._expired(s)]
        for state in gone:
            self._drop(state, "expired")
        return [s.id for s in gone]

    # ------------------------------------------------------------------ restart
    def load(self) -> list[str]:
        """Open every world file of ``--db``'s folder (at start, before serving)."""
        from .app import attach_durability, new_state

        if self.dir is None or not self.dir.is_dir():
            return []
        loaded = []
        for path in sorted(self.dir.glob("w*.db")):
            if not WORLD_ID.fullmatch(path.stem):
                continue
            store = Store(path, sync=self.db_sync)
            try:
                record = json.loads(store.get_meta("world") or "null")
            except ValueError:
                record = None
            if not isinstance(record, dict) or record.get("id") != path.stem:
                store.close()
                raise StoreError(f"{path} is not a world file of this server (no world record in it); move it out "
                                 f"of {self.dir} or delete it.")
            blank = Simulation(seed=self.default.sim.seed, profiles=list(self.profiles.values()))
            state = new_state(blank, None, webhook_backoff=self.webhook_backoff, world_id=path.stem)
            state.token_hash, state.ttl = record["token_hash"], record["ttl"]
            state.created = float(record.get("created", time.time()))
            attach_durability(state, store).open()  # the world's own snapshot and journal replace the blank one
            loaded.append(state)
        for state in sorted(loaded, key=lambda s: (s.created, s.id)):  # listed in the order they were made
            self._worlds[state.id] = state
        return [s.id for s in loaded]

    # ------------------------------------------------------------------ running
    def start(self) -> None:
        """Inside the event loop: start every world's clock and webhooks, and the reaper of idle worlds."""
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        for state in [self.default, *self._worlds.values()]:
            self._start_world(state)
        self._reaper = self._loop.create_task(self._reap())

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
            self._reaper = None
        for state in [self.default, *self._worlds.values()]:
            await state.clock.stop()
            await state.webhooks.stop()
            if state.durability is not None:  # a clean stop leaves nothing to replay at the next start
                if state.durability.replay_cost > 0:
                    state.durability.snapshot()
                state.durability.store.close()

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(REAP_EVERY)
            try:
                self.expire()
            except Exception:  # pragma: no cover - a failure here must not stop the reaper for good
                log.exception("expiring idle worlds failed")

    def _start_world(self, state: "ServerState") -> None:
        if self._loop is None:  # not serving yet: start() starts it
            return
        self._on_loop(self._start_now, state)

    @staticmethod
    def _start_now(state: "ServerState") -> None:
        if not state.gone:
            state.webhooks.start_now()
            state.clock.start()

    @staticmethod
    def _stop_world(state: "ServerState") -> None:
        asyncio.get_running_loop().create_task(_stop(state))

    def _on_loop(self, fn: Any, *args: Any) -> None:
        if self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    # ------------------------------------------------------------------ views
    def view(self, state: "ServerState") -> dict[str, Any]:
        sim = state.sim
        out: dict[str, Any] = {
            "id": state.id, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.created)),
            "clock": {"now": to_iso(sim.now, sim.tz), "mode": state.clock.mode, "rate": state.clock.rate},
            "carriers": sim.carrier_ids(), "accounts": len(sim.engine.accounts), "cards": len(sim.engine.by_iccid),
            "durable": state.durability is not None,
            "ttl": state.ttl,
            "expires_in": None if state.ttl is None else max(0, round(state.ttl - (time.monotonic()
                                                                                    - state.last_used))),
            "control": "/_sim" if state.id == DEFAULT else f"/_sim/worlds/{state.id}",
        }
        return out

    def listing(self) -> Iterable["ServerState"]:
        self.expire()
        return [self.default, *self._worlds.values()]


def _unlink(path: Path) -> None:
    """A world's database with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(str(path) + suffix)
        except FileNotFoundError:
            pass


async def _stop(state: "ServerState") -> None:
    await state.clock.stop()
    await state.webhooks.stop()
