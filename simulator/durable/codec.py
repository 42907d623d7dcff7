"""Snapshots as bytes: a compressed pickle read back through an allow-list.

Pickle keeps a million-card world's objects and arrays fast to write and read; but a snapshot file can come from
a colleague's machine (export/import), and unpickling runs whatever a file names. So loading goes through an
unpickler that only builds classes from carriersim itself and a handful of standard types, and refuses the rest.
"""

from __future__ import annotations

import enum
import importlib
import io
import pickle
import re
import types
import zlib
import zoneinfo
from typing import Any

from ..gcpause import paused_gc

MAGIC = b"CSIMSNAP3\n"  # 3: the lean event log (packed columns, details by shape, no per-card event lists)
OLD_MAGIC = {b"CSIMSNAP1\n": "carriersim 0.1", b"CSIMSNAP2\n": "carriersim 0.2"}
# What a snapshot may name, and nothing else. A name is looked up as one attribute of its module (never a dotted
# path), and what it resolves to must be what the entry says: a class, or one of the engine's job handlers. Modules
# are not objects a snapshot may hold (``simulator.http.server`` imports ``os``: naming ``os`` there must not hand
# out the os module), and ``getattr`` only reaches ``ZoneInfo._unpickle`` and enum members.
_ALLOWED = {
    ("builtins", name) for name in ("set", "frozenset", "dict", "list", "tuple", "bytearray", "complex", "slice",
                                    "range", "int", "float", "str", "bytes", "bool", "object")
} | {
    ("array", "array"), ("array", "_array_reconstructor"), ("zoneinfo", "ZoneInfo"),
    ("zoneinfo._zoneinfo", "ZoneInfo"), ("datetime", "date"), ("datetime", "datetime"), ("datetime", "timedelta"),
    ("datetime", "timezone"), ("collections", "OrderedDict"), ("collections", "Counter"),
    ("collections", "defaultdict"), ("copyreg", "_reconstructor"), ("random", "Random"), ("decimal", "Decimal"),
    ("_codecs", "encode"), ("functools", "partial"),
}
# carriersim's own classes are allowed from the engine's modules; from the server's only what a World holds (a
# snapshot never holds a Store, a server or a CLI command, whose constructors touch files and sockets)
_SERVER_CLASSES = {("carriersim.simulator.durable.journal", "World"),
                   ("carriersim.simulator.http.tenancy", "KeyRing"), ("carriersim.simulator.http.faults", "Fault"),
                   ("carriersim.simulator.http.faults", "FaultInjector")}
_NOT_IN_SNAPSHOTS = ("carriersim.simulator.http", "carriersim.simulator.durable", "carriersim.simulator.cli",
                     "carriersim.__main__")
_JOB_HANDLERS = re.compile(r"carriersim\.simulator\.rules\.[a-z_]+")  # module functions named on_* (Simulation.on)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SnapshotFormatError(ValueError):
    """Bytes that are not a carriersim snapshot, or one that names something it may not build."""


def _refuse(module: str, name: str) -> SnapshotFormatError:
    return SnapshotFormatError(f"the snapshot names {module}.{name}, which a carriersim snapshot never contains")


def _carriersim_object(module: str, name: str) -> Any:
    if not _IDENTIFIER.fullmatch(name):
        raise _refuse(module, name)
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise _refuse(module, name) from None
    defined_here = getattr(obj, "__module__", None) == module
    if isinstance(obj, type) and defined_here:
        if (module, name) in _SERVER_CLASSES or not module.startswith(_NOT_IN_SNAPSHOTS):
            return obj
    elif isinstance(obj, types.FunctionType) and defined_here and _JOB_HANDLERS.fullmatch(module) \
            and name.startswith("on_"):
        return obj
    raise _refuse(module, name)


def _safe_getattr(obj: Any, name: Any, *default: Any) -> Any:
    """``getattr`` as pickles of allowed types use it: ``ZoneInfo._unpickle`` and enum members by name."""
    if isinstance(name, str) and not default:
        if obj is zoneinfo.ZoneInfo and name == "_unpickle":
            return obj._unpickle  # type: ignore[attr-defined]  # ZoneInfo's pickle support, no public name
        if isinstance(obj, type) and issubclass(obj, enum.Enum) and name in obj.__members__ \
                and obj.__module__.startswith("carriersim.simulator."):
            return obj.__members__[name]
    raise SnapshotFormatError(f"the snapshot looks up {name!r} on {type(obj).__name__}, which a carriersim snapshot "
                              "never does")


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("builtins", "getattr"):
            return _safe_getattr
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module.startswith("carriersim.simulator."):
            return _carriersim_object(module, name)
        raise _refuse(module, name)


def dumps(world: Any) -> bytes:
    with paused_gc():
        return MAGIC + zlib.compress(pickle.dumps(world, protocol=5), 1)


def loads(data: bytes) -> Any:
    if not data.startswith(MAGIC):
        for magic, version in OLD_MAGIC.items():
            if data.startswith(magic):
                raise SnapshotFormatError(f"a snapshot written by {version}, whose format this carriersim cannot "
                                          "read; rebuild the world with this version (replay your scenario or "
                                          "fleet) and snapshot it again")
        raise SnapshotFormatError("not a carriersim snapshot (wrong header)")
    try:
        raw = zlib.decompress(data[len(MAGIC):])
    except zlib.error as exc:
        raise SnapshotFormatError(f"the snapshot is damaged ({exc})") from None
    try:
        with paused_gc():
            return _SafeUnpickler(io.BytesIO(raw)).load()
    except SnapshotFormatError:
        raise
    except Exception as exc:  # truncated or corrupted pickle stream
        raise SnapshotFormatError(f"the snapshot is damaged ({type(exc).__name__}: {exc})") from None
