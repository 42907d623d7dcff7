"""``--db``: nothing acknowledged is ever lost, and a tester can go back.

Every accepted command — an operation of the operation table (``simulator.operations``) with the calling account
and its arguments, whichever API it came through, and each move of the accelerated clock — is journaled in the
SQLite store before its response leaves; on start the world is the latest snapshot plus the journal after it,
replayed through the same table (the engine is deterministic, so replay rebuilds the same world byte for byte).
Snapshots are taken automatically once replaying what follows the last one would cost more than a second, on
clean shutdown, and on request (named). Restoring a snapshot or rewinding to a simulated time are journal entries
themselves, so the journal stays one linear history.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..errors import SimError
from ..operations import invoke
from ..simulation import Simulation
from . import codec
from .store import Entry, SnapshotInfo, Store, StoreError

if TYPE_CHECKING:
    from ..http.app import ServerState
    from ..http.faults import FaultInjector
    from ..http.tenancy import KeyRing

log = logging.getLogger("carriersim.durability")
SNAPSHOT_AFTER_SECONDS = 1.0  # of replay work accumulated since the last snapshot
RESET = "reset"  # the operation that starts a new world, and with it a timeline of its own


@dataclass
class World:
    """What a snapshot holds: the simulation and the server state that belongs to it."""

    sim: Simulation
    keys: "KeyRing"
    batch_jobs: dict[str, dict[str, Any]]
    idempotency: list[tuple[str, str, str, int, bytes, str]]
    faults: "FaultInjector"
    webhooks: list[dict[str, Any]]
    webhook_count: int
    clock_mode: str
    clock_rate: float


class Durability:
    def __init__(self, store: Store, state: "ServerState", receiver: Callable[[], Any]) -> None:
        self.store = store
        self.state = state
        self.receiver = receiver  # what replayed operations run on (the server's world facade)
        self.replay_cost = 0.0  # seconds of handler time journaled since the last snapshot
        self.last_seq = store.last_seq()

    # ------------------------------------------------------------------ the world as bytes

    def capture(self) -> World:
        st = self.state
        idem = [(scope, key, e.fingerprint, e.status, e.body, e.content_type)
                for (scope, key), e in st.idempotency._entries.items() if e.done is not None and e.done.is_set()]
        hooks = [{"id": s.id, "account": s.account_id, "url": s.url, "secret": s.secret, "cursor": s.cursor,
                  "delivered": s.delivered, "failures": s.failures} for s in st.webhooks.subs.values()]
        return World(st.sim, st.keys, st.batch_jobs, idem, st.faults, hooks, st.webhooks._count, st.clock.mode,
                     st.clock.rate)

    def install(self, world: World) -> None:
        st = self.state
        st.sim, st.keys, st.batch_jobs, st.faults = world.sim, world.keys, world.batch_jobs, world.faults
        st.idempotency.clear()
        for scope, key, fingerprint, status, body, content_type in world.idempotency:
            st.idempotency.finish(st.idempotency.begin(scope, key, fingerprint), status, body, content_type)
        st.webhooks.restore(world.webhooks, world.webhook_count)
        st.clock.mode, st.clock.rate = world.clock_mode, world.clock_rate
        st.clock.reanchor()

    def snapshot(self, name: str | None = None) -> SnapshotInfo:
        if name is not None and self.store.snapshot_info(name) is not None:
            raise SimError("snapshot_exists", f"A snapshot named {name!r} exists already.", status=409)
        data = codec.dumps(self.capture())
        sid = self.store.save_snapshot(data, self.last_seq, self.state.sim.now, name=name)
        self.replay_cost = 0.0
        return self.store.snapshot_by_id(sid)

    def _load(self, snapshot_id: int) -> None:
        self.install(codec.loads(self.store.snapshot_data(snapshot_id)))

    # ------------------------------------------------------------------ journaling

    def record(self, op: str, account: str | None, args: dict[str, Any], idem: tuple[str, str, int, bytes] | None,
               cost: float, sim_time: int) -> None:
        """Journal one accepted engine command (``op`` of the operation table, its account and arguments); a
        ``bytes`` argument (a batch file) goes to the upload column."""
        blob = None
        body = {}
        for name, value in args.items():
            if isinstance(value, bytes):
                blob = value
            else:
                body[name] = value
        if op == RESET:  # a new world starts a timeline of its own, from a snapshot journaled with it
            self.last_seq, _ = self.store.append_timeline(sim_time, op, body, codec.dumps(self.capture()),
                                                          account=account, idem=idem)
            self.replay_cost = 0.0
            return
        self.last_seq = self.store.append(sim_time, op, account, {}, body, blob, idem)
        self.replay_cost += cost
        if self.replay_cost > SNAPSHOT_AFTER_SECONDS:
            self.snapshot()

    def record_tick(self, before: int, target: int, cost: float) -> None:
        self.record("advance", None, {"to": target}, None, cost, before)

    # ------------------------------------------------------------------ replay

    @contextmanager
    def _replaying(self) -> Iterator[None]:
        """Replay never reads the wall clock. The accelerated clock's moves were journaled as tick entries of
        their own; the tick a handler takes first (advanceClock, setClockMode) must not move the clock again by
        however much real time the replay happens to take."""
        clock = self.state.clock
        if "tick" in vars(clock):  # already replaying (a rewind inside a replay)
            yield
            return
        clock.tick = lambda: None  # type: ignore[method-assign]
        try:
            yield
        finally:
            del clock.tick

    def apply(self, entry: Entry) -> None:
        """Re-run one journaled command through the operation table, as it first ran."""
        st = self.state
        if entry.op == "rewind" and "snapshot" not in entry.body:  # a rewind whose snapshot was never written:
            self._replay_until(int(entry.body["to"]), entry.seq - 1)  # redo it from the journal
        elif entry.op in ("restore", "rewind"):
            self._load(entry.body["snapshot"])
        else:
            args = {k: v for k, v in entry.body.items() if not (entry.op == RESET and k == "snapshot")}
            if entry.upload is not None:
                args["data"] = entry.upload
            try:
                invoke(self.receiver(), entry.op, entry.account, args)
            except SimError as exc:  # pragma: no cover - would mean the engine is not deterministic
                log.error("journal entry %s (%s) was accepted but is refused on replay: %s", entry.seq, entry.op,
                          exc)
        if entry.idem_key is not None:  # a retry after the restart still gets the first answer
            scope = entry.account or "admin"
            st.idempotency.finish(st.idempotency.begin(scope, entry.idem_key, entry.idem_fingerprint or ""),
                                  entry.response_status or 200, entry.response_body or b"", "application/json")
        self.last_seq = entry.seq

    def open(self) -> dict[str, Any]:
        """Rebuild the world: the latest snapshot, then the journal after it. A new file gets a first snapshot
        of the empty world, the root every timeline can be replayed from."""
        started = time.perf_counter()
        replayed = 0
        try:
            base = self.store.latest_snapshot()
            if base is None:
                self.last_seq = 0
                self.snapshot()
            else:
                with self._replaying():
                    self._load(base.id)
                    self.last_seq = base.journal_seq
                    for entry in self.store.entries(base.journal_seq):
                        self.apply(entry)
                        replayed += 1
        except StoreError:
            self.store.close()
            raise
        except Exception as exc:  # a damaged snapshot or journal row: refuse the file, as a damaged page is
            self.store.close()
            raise StoreError(f"{self.store.path} is damaged: its state cannot be rebuilt ({type(exc).__name__}: "
                             f"{exc}); it was left untouched. Start with a new --db file or restore a backup.") \
                from None
        seconds = time.perf_counter() - started
        # what was replayed now is replayed again at the next start unless a snapshot follows: count it, so that
        # a clean stop (or the next writes) takes that snapshot
        self.replay_cost = seconds if replayed else 0.0
        return {"snapshot": None if base is None else base.id, "replayed": replayed, "seconds": round(seconds, 3)}

    # ------------------------------------------------------------------ snapshots and rewind

    def restore(self, name: str) -> SnapshotInfo:
        info = self.store.snapshot_info(name)
        if info is None:
            raise SimError("snapshot_not_found", f"No snapshot named {name!r}.", status=404)
        self._load(info.id)
        self.last_seq = self.store.append(self.state.sim.now, "restore", None, {}, {"snapshot": info.id,
                                                                                    "name": name})
        return info

    def rewind(self, to: object) -> dict[str, Any]:
        """The world as it was at simulated time ``to`` on the current timeline; the clock runs on from there."""
        sim = self.state.sim
        target = sim.resolve_target(to=to)
        if target > sim.now:
            raise SimError("rewind_forward", f"{sim.iso(target)} is after now ({sim.iso(sim.now)}); advance the "
                           "clock to go forward.", status=409)
        with self._replaying():
            self._replay_until(target, self.last_seq)
        # the entry and the snapshot of the rewound world (the new timeline's start) in one transaction: a crash
        # between the two would leave an entry that names no world to continue from
        self.last_seq, sid = self.store.append_timeline(self.state.sim.now, "rewind", {"to": target},
                                                        codec.dumps(self.capture()))
        self.replay_cost = 0.0
        return {"to": self.state.sim.iso(target), "snapshot": sid}

    def _out_of_range(self, target: int, why: str) -> SimError:
        return SimError("rewind_out_of_range", f"There is no state of this timeline at {self.state.sim.iso(target)}:"
                        f" {why}.", status=409)

    def _replay_until(self, target: int, upto: int) -> None:
        """The world at simulated time ``target`` on the timeline that journal entry ``upto`` belongs to. Refusals
        (409) come before anything of the current world is touched."""
        start = self.store.last_restore_before(upto)
        world = None
        if start is not None:
            world = codec.loads(self.store.snapshot_data(start.body["snapshot"]))
            if target < world.sim.now:  # earlier than this timeline: follow it back to where it branched off
                origin_info = self.store.snapshot_by_id(start.body["snapshot"])
                if start.op == "restore":
                    if origin_info.kind == "imported":
                        raise self._out_of_range(target, f"the timeline starts at the imported snapshot "
                                                 f"{origin_info.name!r} ({self.state.sim.iso(world.sim.now)}), "
                                                 "with no earlier history")
                    earlier = origin_info.journal_seq
                else:
                    if start.op == RESET and target > start.sim_time:
                        raise self._out_of_range(target, f"the world was reset at "
                                                 f"{self.state.sim.iso(start.sim_time)} to a new one starting at "
                                                 f"{self.state.sim.iso(world.sim.now)}")
                    earlier = start.seq - 1
                self._replay_until(target, earlier)
                return
        floor = start.seq if start is not None else -1
        base = self.store.latest_snapshot(upto, before_time=target, after_seq=floor)
        if base is not None:
            self._load(base.id)
            after = base.journal_seq
        elif world is not None and start is not None:
            self.install(world)
            after = start.seq
        else:  # before the first snapshot of all: the world began later
            raise self._out_of_range(target, "it is before the world began")
        sim_of = lambda: self.state.sim  # noqa: E731 (a reset inside the replay replaces the simulation)
        for entry in self.store.entries(after, upto):
            if entry.sim_time > target or entry.op in ("restore", "rewind"):
                break
            stop = self._crosses(entry, target)
            if stop:
                sim_of().advance(to=target)
                break
            self.apply(entry)
        if sim_of().now < target:
            sim_of().advance(to=target)

    def _crosses(self, entry: Entry, target: int) -> bool:
        """Does this clock movement go past ``target``?"""
        if entry.op == "advance":
            return self.state.sim.resolve_target(entry.body.get("to"), entry.body.get("by")) > target
        return False

    def export(self, name: str) -> bytes:
        info = self.store.snapshot_info(name)
        if info is None:
            raise SimError("snapshot_not_found", f"No snapshot named {name!r}.", status=404)
        return self.store.snapshot_data(info.id)

    def import_(self, data: bytes, name: str) -> SnapshotInfo:
        try:
            world = codec.loads(data)
        except codec.SnapshotFormatError as exc:
            raise SimError("invalid_snapshot", f"The file is not a usable carriersim snapshot: {exc}.",
                           status=422) from None
        if not _well_formed(world):
            raise SimError("invalid_snapshot", "The file is not a carriersim server snapshot.", status=422)
        if self.store.snapshot_info(name) is not None:
            raise SimError("snapshot_exists", f"A snapshot named {name!r} exists already.", status=409)
        sid = self.store.save_snapshot(data, self.last_seq, world.sim.now, name=name, imported=True)
        return self.store.snapshot_by_id(sid)


def _well_formed(world: object) -> bool:
    """A World whose parts are what a server installs (a file from elsewhere may hold a World of anything)."""
    from ..http.faults import FaultInjector
    from ..http.tenancy import KeyRing

    parts: dict[str, type | tuple[type, ...]] = {
        "sim": Simulation, "keys": KeyRing, "batch_jobs": dict, "idempotency": list, "faults": FaultInjector,
        "webhooks": list, "webhook_count": int, "clock_mode": str, "clock_rate": (int, float)}
    return (isinstance(world, World)
            and all(isinstance(getattr(world, part, None), kind) for part, kind in parts.items())
            and world.clock_mode in ("frozen", "accelerated") and isinstance(getattr(world.sim, "now", None), int))


def snapshot_view(info: SnapshotInfo, tz: Any) -> dict[str, Any]:
    from ..timeutil import to_iso

    return {"id": info.id, "name": info.name, "journal_seq": info.journal_seq, "sim_time": to_iso(info.sim_time, tz),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.created)), "kind": info.kind,
            "size": info.size}


__all__ = ["Durability", "World", "snapshot_view", "StoreError"]
