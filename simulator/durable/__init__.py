"""Durable state: a SQLite journal of accepted commands and snapshots of the world (stdlib ``sqlite3``, WAL).

State is the latest snapshot plus the commands journaled after it; ``store`` keeps the file, ``codec`` turns a
world into bytes and back.
"""
