"""Snapshots as bytes: a compressed pickle read back through an allow-list.

Pickle keeps a million-card world's objects and arrays fast to write and read; but a snapshot file can come from
a colleague's machine (export/import), and unpickling runs whatever a file names. So loading goes through an
unpickler that only builds classes from carriersim itself and a handful of standard types, and refuses the rest.
"""

from __future__ import annotations

import io
import pickle
import zlib
from typing import Any

MAGIC = b"CSIMSNAP1\n"
_ALLOWED_MODULES = ("simulator.",)
_ALLOWED = {
    ("builtins", name) for name in ("set", "frozenset", "dict", "list", "tuple", "bytearray", "complex", "slice",
                                    "range", "int", "float", "str", "bytes", "bool", "object", "getattr")
} | {
    ("array", "array"), ("array", "_array_reconstructor"), ("zoneinfo", "ZoneInfo"),
    ("zoneinfo._zoneinfo", "ZoneInfo"), ("datetime", "date"), ("datetime", "datetime"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("collections", "OrderedDict"), ("collections", "Counter"),
    ("collections", "defaultdict"), ("copyreg", "_reconstructor"), ("random", "Random"), ("decimal", "Decimal"),
    ("_codecs", "encode"), ("functools", "partial"),
}


class SnapshotFormatError(ValueError):
    """Bytes that are not a carriersim snapshot, or one that names something it may not build."""


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or module.startswith(_ALLOWED_MODULES):
            return super().find_class(module, name)
        raise SnapshotFormatError(f"the snapshot names {module}.{name}, which a carriersim snapshot never contains")


def dumps(world: Any) -> bytes:
    return MAGIC + zlib.compress(pickle.dumps(world, protocol=5), 1)


def loads(data: bytes) -> Any:
    if not data.startswith(MAGIC):
        raise SnapshotFormatError("not a carriersim snapshot (wrong header)")
    try:
        raw = zlib.decompress(data[len(MAGIC):])
    except zlib.error as exc:
        raise SnapshotFormatError(f"the snapshot is damaged ({exc})") from None
    try:
        return _SafeUnpickler(io.BytesIO(raw)).load()
    except SnapshotFormatError:
        raise
    except Exception as exc:  # truncated or corrupted pickle stream
        raise SnapshotFormatError(f"the snapshot is damaged ({type(exc).__name__}: {exc})") from None
