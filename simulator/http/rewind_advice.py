"""What a server says when asked to move its clock back (``clock_backwards``): the way back that fits its mode.

The engine keeps no old states, so its own refusal says to start a new world. A server without ``--db`` refuses
snapshots and rewinds (``durability_disabled``), so telling its user to restore one would send them into a second
refusal: it points at ``POST /_sim/reset`` instead. A server with ``--db`` can restore a snapshot or rewind the
journal's timeline, and says so.
"""

from __future__ import annotations

from ..engine import clock_backwards_message
from ..errors import SimError
from ..simulation import Simulation

MEMORY = ('To work at an earlier time, POST /_sim/reset {"start": "..."} for a new world; this server keeps no '
          "snapshots (start it with --db FILE to restore snapshots or rewind).")
DURABLE = ('To go back, restore a snapshot (POST /_sim/snapshots/{name}/restore) or rewind the timeline '
           '(POST /_sim/rewind {"to": "..."}).')


def clock_backwards(sim: Simulation, target: int, *, durable: bool) -> SimError:
    """The 409 refusal of a clock target before now, with the advice of a server with (``durable``) or without
    a database."""
    try:
        when = sim.iso(target)
    except (ValueError, OverflowError, OSError):  # e.g. 0001-01-01 is in year 0 in UTC: not a datetime
        when = "the target"
    return SimError("clock_backwards", clock_backwards_message(sim.iso(sim.now), when, DURABLE if durable else MEMORY),
                    status=409)
