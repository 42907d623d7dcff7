"""The recorder: a live session against the server, kept as a file that ``carriersim record export`` turns into a
scenario.

``carriersim serve --record DIR`` starts a recording as soon as the server serves; ``POST /_sim/recordings`` starts
another, ``POST /_sim/recordings/{id}/stop`` ends one (a clean stop of the server ends the running one). A recording
is one JSON-lines file ``DIR/<id>.jsonl``: a header with the world at the start (clock, seed, accounts, how many
cards), then one line per request of any API that is not a test-control read — its API, method, path, calling
account, status, the operations of the operation table it ran (``Ctx.run``) with their arguments and results or
refusal codes, the answer, the clock before and after, and the state and reasons of every card it touched (named
by it, or with an event since the last line) — one line per accelerated clock move, and a footer when it stops. The
file is appended and flushed line by line, so it is readable while the session goes on; an export refuses a
recording without its footer.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SimError

if TYPE_CHECKING:
    from ..simulation import Simulation
    from .app import ServerState

FORMAT = 1
ID_RE = re.compile(r"rec-(\d{4,})")


class RecorderError(Exception):
    """The recordings directory cannot be used (it cannot be created or written)."""


def json_safe(value: Any) -> Any:
    """An operation's argument or result as JSON: bytes as text (base64 when not UTF-8), tuples as lists, records
    and other objects as their text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        try:
            return {"text": value.decode("utf-8")}
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@dataclass
class Recording:
    id: str
    path: Path
    started_at: str
    status: str = "running"
    stopped_at: str | None = None
    entries: int = 0
    _cursor: int = 0
    _sim: "Simulation | None" = None

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "file": str(self.path), "started_at": self.started_at,
                "stopped_at": self.stopped_at, "entries": self.entries}

    # ---------------------------------------------------------------- writing
    def _write(self, line: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")

    def _touched(self, sim: "Simulation", named: set[str]) -> dict[str, Any]:
        """State and reasons of the cards named by the entry or with events since the last entry."""
        if sim is not self._sim:  # a reset: a new world, its events count from 0
            self._sim, self._cursor = sim, 0
        iccids = set(named)
        end = sim.event_count()
        while self._cursor < end:
            events, self._cursor = sim.events_since(self._cursor, 10_000)
            iccids.update(e.iccid for e in events if e.iccid)
        out: dict[str, Any] = {}
        for iccid in sorted(iccids):
            try:
                card = sim.card(iccid)
            except SimError:
                continue
            out[iccid] = {"state": card.state.label, "reasons": card.reasons.names(), "account": card.account}
        return out

    def request(self, state: "ServerState", api: str, method: str, path: str, account: str | None, status: int,
                ops: list[dict[str, Any]], answer: Any, before: str | None) -> None:
        sim = state.sim
        named = {v for op in ops for k, v in (op.get("args") or {}).items()
                 if k in ("iccid", "to_iccid") and isinstance(v, str)}
        named |= {op["result"] for op in ops if op["op"] in ("open_card", "swap") and isinstance(op.get("result"), str)}
        self.entries += 1
        self._write({"t": "request", "api": api, "method": method, "path": path, "account": account,
                     "status": status, "before": before, "now": sim.iso(sim.now), "ops": ops, "answer": answer,
                     "cards": self._touched(sim, named)})

    def tick(self, state: "ServerState", before: int, after: int) -> None:
        sim = state.sim
        self.entries += 1
        self._write({"t": "tick", "before": sim.iso(before), "now": sim.iso(after), "cards": self._touched(sim, set())})


class Recorder:
    """The recordings of one directory; at most one runs at a time."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            probe = self.dir / f".carriersim-probe-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise RecorderError(f"cannot write recordings to {self.dir}: {exc.strerror or exc}") from None
        self.current: Recording | None = None
        self.known: dict[str, Recording] = {}

    def _next_id(self) -> str:
        taken = [int(m.group(1)) for p in self.dir.glob("rec-*.jsonl") if (m := ID_RE.fullmatch(p.stem))]
        return f"rec-{max(taken, default=0) + 1:04d}"

    def start(self, state: "ServerState") -> Recording:
        if self.current is not None:
            raise SimError("recording_running", f"Recording {self.current.id} is running; stop it first "
                           f"(POST /_sim/recordings/{self.current.id}/stop).", status=409)
        sim = state.sim
        rec_id = self._next_id()
        rec = Recording(rec_id, self.dir / f"{rec_id}.jsonl", sim.iso(sim.now) or "")
        accounts = [{"id": a, **_account(sim, a)} for a in sorted(sim.engine.accounts)]
        header = {"t": "header", "format": FORMAT, "recording": rec_id,
                  "wall": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "world": {"now": sim.iso(sim.now), "seed": sim.seed, "timezone": str(sim.tz),
                            "cards": len(sim.engine.cards), "accounts": accounts}}
        try:
            with rec.path.open("x", encoding="utf-8") as f:
                f.write(json.dumps(header, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise SimError("recording_unwritable", f"Cannot write {rec.path}: {exc.strerror or exc}.",
                           status=409) from None
        rec._sim, rec._cursor = sim, sim.event_count()
        self.current = self.known[rec_id] = rec
        return rec

    def stop(self, state: "ServerState", rec_id: str) -> Recording:
        rec = self.get(rec_id)
        if rec.status != "running":
            raise SimError("recording_stopped", f"Recording {rec_id} is stopped already.", status=409)
        rec.status, rec.stopped_at = "stopped", state.sim.iso(state.sim.now)
        rec._write({"t": "stopped", "at": rec.stopped_at, "entries": rec.entries})
        self.current = None
        return rec

    def get(self, rec_id: str) -> Recording:
        rec = self.known.get(rec_id)
        if rec is None:
            path = self.dir / f"{rec_id}.jsonl"
            if not ID_RE.fullmatch(rec_id) or not path.is_file():
                raise SimError("recording_not_found", f"No recording {rec_id!r} in {self.dir}.", status=404)
            rec = _read_view(rec_id, path)
        return rec

    def all(self) -> list[Recording]:
        ids = sorted({p.stem for p in self.dir.glob("rec-*.jsonl") if ID_RE.fullmatch(p.stem)} | set(self.known))
        return [self.get(i) for i in ids]


def _account(sim: "Simulation", account_id: str) -> dict[str, Any]:
    a = sim.engine.accounts[account_id]
    return {"name": a.name, "kind": a.kind, "verified": a.verified, "channel": a.channel,
            "id_number": getattr(a, "id_number", None)}


def _read_view(rec_id: str, path: Path) -> Recording:
    """A recording of an earlier server run, from its file."""
    lines = path.read_text("utf-8").splitlines()
    head = json.loads(lines[0]) if lines else {}
    last = json.loads(lines[-1]) if lines else {}
    stopped = last.get("t") == "stopped"
    return Recording(rec_id, path, (head.get("world") or {}).get("now", ""), "stopped" if stopped else "running",
                     last.get("at") if stopped else None, max(len(lines) - 1 - int(stopped), 0))
