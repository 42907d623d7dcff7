"""``carriersim serve``: run the HTTP API until Ctrl-C (or SIGTERM), then stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys
from typing import Any

from aiohttp import web

from ..durable.store import StoreError
from ..profile import builtin_profiles, load_profile
from ..simulation import Simulation
from .app import OPENED, STATE, WORLDS, create_app, execute
from .recorder import RecorderError

SHUTDOWN_GRACE = 2.0  # seconds


async def run(args: Any) -> int:
    from .dialects import dialect_apis, dialect_profiles

    try:
        dialects = dialect_apis(dict.fromkeys(getattr(args, "dialect", None) or []))
    except ValueError as exc:
        print(f"carriersim: error: --dialect: {exc}", file=sys.stderr)
        return 2
    tps = getattr(args, "jasper_tps", None)
    if tps:
        from .ratelimit import RateLimit
        for api in dialects:
            if api.name == "jasper":
                api.rate_limit = RateLimit(rate=tps, burst=max(1, int(tps)))
    sim = Simulation(seed=args.seed, start=args.start, profiles=builtin_profiles() + dialect_profiles(dialects)
                     + [load_profile(p) for p in args.profile])
    token = args.admin_token or os.environ.get("CARRIERSIM_ADMIN_TOKEN") or None  # empty: none given
    generated = token is None and not args.no_test_control
    if generated:
        token = secrets.token_urlsafe(18)
    try:
        app = create_app(sim, admin_token=token, test_control=not args.no_test_control, clock=args.clock,
                         rate=args.rate, db=args.db, db_sync=args.db_sync, dialects=dialects,
                         max_worlds=getattr(args, "max_worlds", 100), world_ttl=getattr(args, "world_ttl", 3600.0),
                         record=getattr(args, "record", None))
    except (StoreError, RecorderError) as exc:
        print(f"carriersim: error: {exc}", file=sys.stderr)
        return 1
    state = app[STATE]
    fleet_note = ""
    opened = app.get(OPENED)
    if opened is not None and opened["snapshot"] is not None:
        fleet_note = (f"; world restored from {args.db}: snapshot #{opened['snapshot']} and {opened['replayed']} "
                      f"journal entries in {opened['seconds']} s")
        others = len(app[WORLDS].created())
        if others:
            fleet_note += f"; {others} more world{'s' * (others > 1)} from {args.db}.worlds/"
    elif args.fleet:
        built = execute(state, "generate_fleet", {"cards": args.fleet, "accounts": max(1, args.fleet // 50),
                                                  "seed": args.seed})
        first = built["accounts"][0]
        fleet_note = (f"; fleet of {built['cards']} cards in {len(built['accounts'])} accounts "
                      f"(key for {first['account']}: {first['api_key']})")
    sim = state.sim
    # on Ctrl-C, requests in flight get SHUTDOWN_GRACE seconds to finish: aiohttp's default (60 s) would keep the
    # process alive for a minute whenever a client has sent half a request and stalled
    runner = web.AppRunner(app, access_log=logging.getLogger("carriersim.access") if args.access_log else None,
                           shutdown_timeout=SHUTDOWN_GRACE)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    try:
        await site.start()
    except OSError as exc:
        print(f"carriersim: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        await runner.cleanup()
        return 1
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # started: the real port of --port 0
    control = "test control disabled" if args.no_test_control else (
        f"admin token {token}" if generated else "admin token from the command line/environment")
    if state.recording is not None:
        control += f"; recording {state.recording.id} into {state.recording.path}"
    host = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 address is bracketed in a URL
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before "ready": a stop sent on seeing it must be a clean stop
        loop.add_signal_handler(sig, stop.set)
    print(f"carriersim ready at http://{host}:{port} (clock {args.clock} at {sim.iso(sim.now)}; {control}"
          f"{fleet_note})", flush=True)
    await stop.wait()
    print("carriersim: stopping", file=sys.stderr, flush=True)
    await runner.cleanup()
    return 0


def serve(args: Any) -> int:
    return asyncio.run(run(args))
