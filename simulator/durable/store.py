"""The SQLite file behind ``--db``: an append-only journal of accepted commands and the snapshots.

The journal is linear: restoring a snapshot or rewinding the timeline is itself a journal entry that names the
snapshot the world continues from, so state is always "the latest snapshot, then the entries after it". Commits
happen before a request is answered; WAL with ``synchronous=NORMAL`` makes each commit survive the process being
killed (a power cut may lose the last commits; ``--db-sync full`` trades throughput for that too).

A file that is not SQLite, not carriersim's, damaged, or of a newer schema is refused before anything is written.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

APPLICATION_ID = 0x43534D31  # "CSM1": carriersim's mark in the SQLite header
SCHEMA_VERSION = 2  # 2: the journal records operations of the operation table (carriersim 0.2)
SQLITE_HEADER = b"SQLite format 3\x00"
KEEP_AUTO_SNAPSHOTS = 4

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,             -- rowid: rows are never deleted, so it only grows (no AUTOINCREMENT cost)
    sim_time INTEGER NOT NULL,          -- the simulated time when the command ran
    op TEXT NOT NULL,                   -- an operation of simulator.operations (open_card, advance, ...),
                                        -- or restore / rewind
    account TEXT,                       -- the calling account (NULL: test control)
    params TEXT NOT NULL,               -- unused since schema 2 ({})
    body TEXT NOT NULL,                 -- the operation's arguments, JSON
    upload BLOB,                        -- a bytes argument (a batch job's file)
    idem_key TEXT, idem_fingerprint TEXT, response_status INTEGER, response_body BLOB,
    created REAL NOT NULL               -- wall-clock time of the commit
);
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT UNIQUE,                   -- NULL for automatic snapshots
    journal_seq INTEGER NOT NULL,       -- the last journal entry the snapshot includes
    sim_time INTEGER NOT NULL,
    created REAL NOT NULL,
    kind TEXT NOT NULL,                 -- auto | named | imported (an imported one is no point of this journal)
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX snapshots_by_seq ON snapshots (journal_seq);
"""


# journal entries a timeline starts from, each naming the snapshot of the world it starts with (body.snapshot)
TIMELINE_STARTS = ("(op IN ('restore', 'rewind') OR (op = 'reset' AND json_extract(body, '$.snapshot') IS NOT "
                   "NULL))")


def _rowid(cur: sqlite3.Cursor) -> int:
    """The row an INSERT just wrote (sqlite3 types it as optional; after an INSERT it is always set)."""
    assert cur.lastrowid is not None
    return cur.lastrowid


class StoreError(Exception):
    """The database cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Entry:
    seq: int
    sim_time: int
    op: str
    account: str | None
    params: dict[str, str]
    body: dict[str, Any]
    upload: bytes | None
    idem_key: str | None
    idem_fingerprint: str | None
    response_status: int | None
    response_body: bytes | None


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    name: str | None
    journal_seq: int
    sim_time: int
    created: float
    kind: str
    size: int


class Store:
    def __init__(self, path: str | Path, *, sync: str = "normal", exclusive: bool = True) -> None:
        self.path = Path(path)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if not fresh:
            self._check_header()
        try:
            # no busy wait: a file held by another process is refused at once, not after sqlite's 5 s
            self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=0)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path} cannot be used: {exc}.") from None
        try:
            self._open(fresh, sync, exclusive)
        except BaseException:  # a refused file is let go at once: the connection would keep holding its lock
            self.db.close()
            raise

    def _open(self, fresh: bool, sync: str, exclusive: bool) -> None:
        try:
            if exclusive:
                self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
            if fresh:
                # the header (application id, schema) goes to the file itself, not to a WAL a kill could leave
                # unmerged; without --db-sync full it is written without syncs (a process kill keeps it, and a new
                # world's file is made several times faster)
                if sync != "full":
                    self.db.execute("PRAGMA synchronous=OFF")
                self._create()
            else:
                self._check()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
            if exclusive:
                self.db.execute("BEGIN EXCLUSIVE")  # take the lock now: a second process is refused at once
                self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise StoreError(f"{self.path} is in use by another carriersim process (a running server?); stop "
                                 "it, or use its API (/_sim/snapshots) instead.") from None
            raise StoreError(f"{self.path} cannot be used: {exc}.") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is damaged ({exc}); it was left untouched. Start with a new --db file "
                             "or restore a backup.") from None

    # ------------------------------------------------------------------ integrity

    def _check_header(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(100)
        except OSError as exc:
            raise StoreError(f"{self.path} cannot be read: {exc.strerror or exc}.") from None
        if not head.startswith(SQLITE_HEADER):
            raise StoreError(f"{self.path} is not a carriersim database (not even SQLite); it was left untouched. "
                             "Give --db a new file name or an existing carriersim database.")
        if len(head) >= 72 and int.from_bytes(head[68:72], "big") != APPLICATION_ID:
            raise StoreError(f"{self.path} is an SQLite database of another application; it was left untouched. "
                             "Give --db a new file name or an existing carriersim database.")

    def _check(self) -> None:
        app_id = self.db.execute("PRAGMA application_id").fetchone()[0]
        if app_id != APPLICATION_ID:
            raise StoreError(f"{self.path} is not a carriersim database; it was left untouched.")
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer carriersim (schema {version}, this one reads "
                             f"{SCHEMA_VERSION}); upgrade carriersim to use it.")
        if version < SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by an older carriersim (schema {version}: a journal of native "
                             f"HTTP operations; this one reads schema {SCHEMA_VERSION}, a journal of engine "
                             "operations) and cannot be migrated: its snapshots name classes that no longer exist. "
                             "It was left untouched; start with a new --db file, or use the carriersim version that "
                             "wrote it (0.1) to read it.")
        result = self.db.execute("PRAGMA quick_check").fetchone()[0]
        if result != "ok":
            raise StoreError(f"{self.path} is damaged ({result}); it was left untouched.")

    def _create(self) -> None:
        self.db.executescript(f"BEGIN; {SCHEMA} PRAGMA application_id={APPLICATION_ID}; "
                              f"PRAGMA user_version={SCHEMA_VERSION}; "
                              f"INSERT INTO meta VALUES ('created', '{time.time()}'); COMMIT;")

    def close(self) -> None:
        self.db.close()

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """A value about the file (a world's id, token hash and ttl), committed at once."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ the journal

    def append(self, sim_time: int, op: str, account: str | None, params: dict[str, str], body: dict[str, Any],
               upload: bytes | None = None, idem: tuple[str, str, int, bytes] | None = None) -> int:
        """Record one accepted command, committed before the caller answers."""
        key, fingerprint, status, response = idem if idem else (None, None, None, None)
        cur = self.db.execute(
            "INSERT INTO journal (sim_time, op, account, params, body, upload, idem_key, idem_fingerprint, "
            "response_status, response_body, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (sim_time, op, account, json.dumps(params, ensure_ascii=False), json.dumps(body, ensure_ascii=False),
             upload, key, fingerprint, status, response, time.time()))
        return _rowid(cur)

    def entries(self, after: int, upto: int | None = None) -> Iterator[Entry]:
        sql = "SELECT seq, sim_time, op, account, params, body, upload, idem_key, idem_fingerprint, " \
              "response_status, response_body FROM journal WHERE seq > ?"
        args: list[Any] = [after]
        if upto is not None:
            sql += " AND seq <= ?"
            args.append(upto)
        for row in self.db.execute(sql + " ORDER BY seq", args):
            yield Entry(row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]), row[6], row[7],
                        row[8], row[9], row[10])

    def last_seq(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()[0]

    def last_restore_before(self, seq: int) -> Entry | None:
        """The latest restore/rewind entry (or reset with its snapshot) at or before ``seq``: where the current
        timeline began."""
        row = self.db.execute(f"SELECT seq FROM journal WHERE {TIMELINE_STARTS} AND seq <= ? ORDER BY seq DESC "
                              "LIMIT 1", (seq,)).fetchone()
        return None if row is None else next(self.entries(row[0] - 1, row[0]))

    # ------------------------------------------------------------------ snapshots

    def save_snapshot(self, data: bytes, journal_seq: int, sim_time: int, *, name: str | None = None,
                      imported: bool = False) -> int:
        if name is not None and self.snapshot_info(name) is not None:
            raise StoreError(f"a snapshot named {name!r} exists already; choose another name.")
        self.db.execute("BEGIN")
        try:
            sid = self._insert_snapshot(data, journal_seq, sim_time, name, imported)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return sid

    def _insert_snapshot(self, data: bytes, journal_seq: int, sim_time: int, name: str | None,
                         imported: bool) -> int:
        kind = "imported" if imported else ("auto" if name is None else "named")
        cur = self.db.execute("INSERT INTO snapshots (name, journal_seq, sim_time, created, kind, size, data) "
                              "VALUES (?,?,?,?,?,?,?)", (name, journal_seq, sim_time, time.time(), kind, len(data),
                                                         data))
        if kind == "auto":  # keep the last few automatic ones, the root, and every one a timeline starts from
            self.db.execute(
                "DELETE FROM snapshots WHERE kind = 'auto' AND journal_seq > 0 AND id NOT IN (SELECT id FROM "
                "snapshots WHERE kind = 'auto' ORDER BY id DESC LIMIT ?) AND id NOT IN (SELECT CAST(json_extract("
                f"body, '$.snapshot') AS INTEGER) FROM journal WHERE {TIMELINE_STARTS})",
                (KEEP_AUTO_SNAPSHOTS,))
        return _rowid(cur)

    def append_timeline(self, sim_time: int, op: str, body: dict[str, Any], data: bytes, *,
                        account: str | None = None, params: dict[str, str] | None = None,
                        idem: tuple[str, str, int, bytes] | None = None) -> tuple[int, int]:
        """Journal a command that starts a timeline (rewind, reset) together with the snapshot of the world it
        leaves, in one transaction: the entry never exists without the snapshot its body names."""
        self.db.execute("BEGIN")
        try:
            seq = self.append(sim_time, op, account, params or {}, body, None, idem)
            sid = self._insert_snapshot(data, seq, sim_time, None, False)
            self.set_body(seq, {**body, "snapshot": sid})
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return seq, sid

    def set_body(self, seq: int, body: dict[str, Any]) -> None:
        self.db.execute("UPDATE journal SET body = ? WHERE seq = ?", (json.dumps(body, ensure_ascii=False), seq))

    def _info(self, row: tuple) -> SnapshotInfo:
        return SnapshotInfo(row[0], row[1], row[2], row[3], row[4], row[5], row[6])

    _COLS = "id, name, journal_seq, sim_time, created, kind, size"

    def snapshot_info(self, name: str) -> SnapshotInfo | None:
        row = self.db.execute(f"SELECT {self._COLS} FROM snapshots WHERE name = ?", (name,)).fetchone()
        return None if row is None else self._info(row)

    def snapshots(self, *, named_only: bool = False) -> list[SnapshotInfo]:
        where = "WHERE kind != 'auto'" if named_only else ""
        return [self._info(r) for r in self.db.execute(f"SELECT {self._COLS} FROM snapshots {where} ORDER BY id")]

    def snapshot_by_id(self, snapshot_id: int) -> SnapshotInfo:
        row = self.db.execute(f"SELECT {self._COLS} FROM snapshots WHERE id = ?", (snapshot_id,)).fetchone()
        if row is None:
            raise StoreError(f"snapshot #{snapshot_id} is missing from {self.path}.")
        return self._info(row)

    def snapshot_data(self, snapshot_id: int) -> bytes:
        row = self.db.execute("SELECT data FROM snapshots WHERE id = ?", (snapshot_id,)).fetchone()
        if row is None:
            raise StoreError(f"snapshot #{snapshot_id} is missing from {self.path}.")
        return bytes(row[0])

    def latest_snapshot(self, upto_seq: int | None = None, *, before_time: int | None = None,
                        after_seq: int = -1) -> SnapshotInfo | None:
        """The snapshot with the highest journal position (≤ ``upto_seq``, taken at or before ``before_time``,
        after ``after_seq``)."""
        sql = f"SELECT {self._COLS} FROM snapshots WHERE kind != 'imported' AND journal_seq > ?"
        args: list[Any] = [after_seq]
        if upto_seq is not None:
            sql += " AND journal_seq <= ?"
            args.append(upto_seq)
        if before_time is not None:
            sql += " AND sim_time <= ?"
            args.append(before_time)
        row = self.db.execute(sql + " ORDER BY journal_seq DESC, id DESC LIMIT 1", args).fetchone()
        return None if row is None else self._info(row)
