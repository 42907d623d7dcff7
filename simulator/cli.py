"""The ``carriersim`` command.

``carriersim demo`` is the main job on the embedded default: it builds a fleet in memory, runs it through months of
simulated time in seconds and prints what happened — no server, no account. Other subcommands inspect the shipped
carrier profiles and rule catalogue, validate a user's profile, and write batch templates.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Any, Callable, Iterable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .batch_files import OPERATIONS, BatchFileError, write_template
from .catalogue import rules
from .errors import ProfileError, SimError
from .events import Kind
from .fleet import FleetSpec, generate
from .model import State
from .money import to_cny
from .profile import builtin_profiles, carrier_exists_message, load_profile
from .simulation import Simulation


def _console(stderr: bool = False) -> Console:
    """A console that keeps whole tables when output goes to a file or a CI log (no terminal width there), unless
    COLUMNS says how wide the reader's screen is."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS", "").isdigit() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def cards_by_state(sim: Simulation) -> Table:
    """The demo's count of cards per state and carrier: one row a state, one column a carrier, so that it fits an
    80-column terminal whatever the state names (seven states side by side did not, and rich then squeezed the
    carrier column away)."""
    table = Table(title=f"Cards by state on {sim.iso(sim.now)}")
    table.add_column("state", no_wrap=True)
    carriers = sim.carrier_ids()
    for carrier in carriers:
        table.add_column(carrier, justify="right", no_wrap=True, min_width=len(carrier))
    table.add_column("all", justify="right", no_wrap=True)
    counts = sim.count_cards()
    for state in (State.TESTING, State.READY, State.ACTIVE, State.SUSPENDED, State.RETAINED, State.PENDING_CANCEL,
                  State.CANCELLED):
        row = [counts.get((carrier, state), 0) for carrier in carriers]
        table.add_row(state.label, *map(str, row), str(sum(row)))
    return table


def cmd_demo(args: argparse.Namespace) -> int:
    out = _console()
    profiles = builtin_profiles() + [load_profile(p) for p in args.profile]
    sim = Simulation(seed=args.seed, profiles=profiles, start=args.start)
    spec = FleetSpec(accounts=args.accounts or max(1, args.cards // 50), cards=args.cards, seed=args.seed)
    rng = random.Random(args.seed)
    out.print(f"[bold]carriersim demo[/]: {spec.cards} cards of {', '.join(sim.carrier_ids())} for {spec.accounts} "
              f"accounts, {args.months} months from {sim.iso(sim.now)} (seed {args.seed})")
    plans = {(c, p.code): p for c in sim.carrier_ids() for p in sim.plans(c)}
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=_console(stderr=True), transient=True,
                  disable=args.quiet) as progress:
        task = progress.add_task("building fleet", total=spec.cards)
        fleet = generate(sim, spec, progress=lambda done, _: progress.update(task, completed=done))
        progress.update(task, completed=spec.cards)
        carrier_of = sim.carrier_ids()
        months = progress.add_task("simulating months", total=args.months)
        for _ in range(args.months):
            reports = []
            for n in rng.sample(range(len(fleet.cards)), int(len(fleet.cards) * 0.5)):
                plan = plans[(carrier_of[n % len(carrier_of)], fleet.plans[n])]
                share = rng.uniform(1.0, 1.3) if rng.random() < 0.1 else rng.uniform(0.0, 0.8)
                reports.append((fleet.cards[n], int(plan.quota_kb * share / plan.term_months)))
            sim.report_usage_many(reports)
            sim.advance(by="1 month")
            progress.advance(months)
    elapsed = time.perf_counter() - t0

    out.print(cards_by_state(sim))

    kinds, money = sim.event_totals()
    out.print(f"{sum(kinds.values())} events: " + ", ".join(f"{k.label} {n}" for k, n in kinds.most_common(8)))
    out.print(f"paid in {to_cny(money[Kind.PAYMENT])} CNY, charged {to_cny(-money[Kind.CHARGE])} CNY")
    sample = next((c for c in sim.cards() if c.cancellation is not None
                   and c.cancellation.cause == "retention_expired"), None)
    if sample is not None and not args.quiet:
        out.print(f"\n[bold]One card's life[/] ({sample.iccid}, {sample.carrier}, {sample.plan}):")
        for ev in sim.history(sample.iccid):
            if ev.kind in (Kind.STATE_CHANGED, Kind.EXPIRED, Kind.RENEWED, Kind.CHARGE):
                what = f"{ev.kind.label} {to_cny(ev.amount) if ev.amount is not None else ''}"
                if ev.kind == Kind.STATE_CHANGED:
                    what = f"{ev.old_state} → {ev.new_state}"
                    if ev.reasons:
                        what += f" ({ev.change} {', '.join(ev.reasons.names())})"
                out.print(f"  {ev.time.isoformat()[:19]}  {what}  [dim]{ev.cause.label}[/]")
    out.print(f"\n[green]done[/] in {elapsed:.1f}s of real time for {args.months} simulated months")
    return 0


def cmd_profiles(args: argparse.Namespace) -> int:
    out = _console()
    if args.validate:
        return _validate_profiles(args.validate, out, _console(stderr=True))
    table = Table(title="Carrier profiles")
    for col in ("id", "name", "cycle day", "retention", "fee/month", "arrears resume", "real-name grace",
                "restricted", "plans"):
        table.add_column(col)
    for p in builtin_profiles():
        table.add_row(p.id, p.name, str(p.billing_cycle_day), f"{p.retention_months} months",
                      to_cny(p.retention_fee), "automatic" if p.arrears_auto_resume else "on request",
                      f"{p.kyc_grace_days} days", " ".join(sorted(p.restricted_regions)), str(len(p.plans)))
    out.print(table)
    return 0


def _print_profile_error(err: Console, exc: ProfileError) -> None:
    for field, problem in exc.problems:
        err.print(f"carriersim: error: profile {exc.source}: field {field}: {problem}")


def _validate_profiles(paths: list[str], out: Console, err: Console) -> int:
    """Check the files as ``serve --profile``/``demo --profile`` would load them: beside the shipped carriers and
    each other, so an id they would refuse is reported here too. Every problem of every file; 1 if any."""
    loaded = {p.id: p.source for p in builtin_profiles()}
    bad = 0
    for path in paths:
        try:
            p = load_profile(path)
        except ProfileError as exc:
            _print_profile_error(err, exc)
            bad += 1
            continue
        if p.id in loaded:
            err.print(f"carriersim: error: profile {path}: field id: {carrier_exists_message(p.id, loaded[p.id])}")
            bad += 1
            continue
        loaded[p.id] = path
        out.print(f"[green]ok[/] {path}: carrier {p.id} ({p.name}), {len(p.plans)} plans, "
                  f"{len(p.addons)} add-ons")
    if bad:
        err.print(f"{bad} of {len(paths)} profile file{'s' * (len(paths) > 1)} cannot be used")
    return 1 if bad else 0


def cmd_rules(args: argparse.Namespace) -> int:
    out = _console()
    table = Table(title="Rule catalogue")
    for col in ("id", "level", "origin", "title"):
        table.add_column(col)
    for r in rules():
        if args.area in (None, r.area):
            table.add_row(r.id, r.level, r.origin, r.title)
    out.print(table)
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    data = write_template(args.operation, args.format)
    target = Path(args.output or f"{args.operation}.{args.format}")
    target.write_bytes(data)
    _console().print(f"wrote {target} ({len(data)} bytes): fill in one ICCID a row")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .http.server import serve  # aiohttp is imported only by the commands that serve

    if args.rate <= 0:
        _console(stderr=True).print("carriersim: error: --rate must be positive (simulated seconds per second)")
        return 2
    return serve(args)


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Snapshots of a --db file while no server uses it (a running server refuses a second user of its file)."""
    from .durable.store import StoreError
    from .http.app import STATE, create_app
    from .durable.journal import snapshot_view

    out = _console()
    if args.action != "import" and not Path(args.db).exists():
        _console(stderr=True).print(f"carriersim: error: {args.db} does not exist; start `carriersim serve --db "
                                    f"{args.db}` once to create it.")
        return 1
    try:
        state = create_app(db=args.db)[STATE]
    except StoreError as exc:
        _console(stderr=True).print(f"carriersim: error: {exc}")
        return 1
    d = state.durability
    assert d is not None
    try:
        if args.action == "list":
            table = Table(title=f"Snapshots in {args.db}")
            for col in ("id", "name", "kind", "simulated time", "journal entry", "size"):
                table.add_column(col)
            for info in d.store.snapshots():
                v = snapshot_view(info, state.sim.tz)
                table.add_row(str(v["id"]), v["name"] or "", v["kind"], v["sim_time"], str(v["journal_seq"]),
                              f"{v['size'] // 1024} KiB")
            out.print(table)
        elif args.action == "save":
            info = d.snapshot(args.name)
            out.print(f"saved snapshot {args.name!r} at {state.sim.iso(info.sim_time)}")
        elif args.action == "restore":
            d.restore(args.name)
            d.snapshot()
            out.print(f"restored {args.name!r}: the world is at {state.sim.iso(state.sim.now)}")
        elif args.action == "export":
            data = d.export(args.name)
            try:
                Path(args.file).write_bytes(data)
            except OSError as exc:
                _console(stderr=True).print(f"carriersim: error: cannot write {args.file}: {exc.strerror or exc}")
                return 1
            out.print(f"wrote {args.file}")
        elif args.action == "import":
            try:
                data = Path(args.file).read_bytes()
            except OSError as exc:
                _console(stderr=True).print(f"carriersim: error: cannot read {args.file}: {exc.strerror or exc}")
                return 1
            info = d.import_(data, args.name)
            out.print(f"imported {args.file} as {args.name!r} ({state.sim.iso(info.sim_time)}); "
                      f"`carriersim snapshot restore {args.name} --db {args.db}` to continue from it")
    finally:
        d.store.close()
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be 0 (never) or a number of seconds")
    return value


def build_parser(extensions: Iterable[Callable[[Any], None]] = ()) -> argparse.ArgumentParser:
    """The command line; ``extensions`` add the commands of the layers above (``run``, ``conformance``): the
    simulator knows nothing of scenarios, the console script (``conformance.cli``) brings them together."""
    ap = argparse.ArgumentParser(prog="carriersim", description="A fake multi-carrier IoT connectivity platform "
                                 "with a clock you can move.", epilog="Run 'carriersim COMMAND --help' for a "
                                 "command's options; 'carriersim completion bash' prints shell completion.")
    ap.add_argument("--version", action="version", version=f"carriersim {_version()}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="build a fleet and run it through simulated months (the main job)")
    demo.add_argument("--cards", type=int, default=3000, help="cards in the fleet (default 3000)")
    demo.add_argument("--accounts", type=int, default=None, help="accounts (default: one per 50 cards)")
    demo.add_argument("--months", type=int, default=12, help="simulated months (default 12)")
    demo.add_argument("--seed", type=int, default=1, help="seed: the same seed gives the same run")
    demo.add_argument("--start", default="2027-01-01T00:00:00+08:00", help="simulated start time (ISO-8601)")
    demo.add_argument("--profile", action="append", default=[], metavar="FILE",
                      help="also load this carrier profile (YAML); may repeat")
    demo.add_argument("--quiet", action="store_true", help="no progress bars, no sample history")
    demo.set_defaults(func=cmd_demo)

    srv = sub.add_parser("serve", help="run the HTTP API (native /v1, test control /_sim, webhooks)")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    srv.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    srv.add_argument("--seed", type=int, default=1, help="seed of the world and of generated fleets")
    srv.add_argument("--fleet", type=int, default=0, metavar="N", help="generate N cards at start")
    srv.add_argument("--start", default="2027-01-01T00:00:00+08:00", help="simulated start time (ISO-8601)")
    srv.add_argument("--clock", choices=("frozen", "accelerated"), default="frozen",
                     help="frozen (moves only when told) or accelerated (moves at --rate)")
    srv.add_argument("--rate", type=float, default=86400.0,
                     help="simulated seconds per real second when accelerated (default 86400: a day a second)")
    srv.add_argument("--admin-token", help="token for /_sim (default: $CARRIERSIM_ADMIN_TOKEN, else generated)")
    srv.add_argument("--no-test-control", action="store_true", help="serve no /_sim routes at all")
    srv.add_argument("--profile", action="append", default=[], metavar="FILE",
                     help="also load this carrier profile (YAML); may repeat")
    srv.add_argument("--dialect", action="append", default=[], metavar="NAME[=CARRIERS]",
                     help="also serve a carrier's own API beside the native one (repeatable): twilio = Super SIM "
                          "at /twilio/v1 (with the supersim profile), jasper = Control Center at /rws/api/v1 "
                          "(cucc); =CARRIERS names the carriers it serves instead (twilio=cmcc,cucc)")
    srv.add_argument("--jasper-tps", type=float, default=None, metavar="R",
                     help="Control Center's per-account request rate (token bucket; default: no limit)")
    srv.add_argument("--access-log", action="store_true", help="log every request")
    srv.add_argument("--db", metavar="PATH", default=os.environ.get("CARRIERSIM_DB") or None,
                     help="keep state in this SQLite file (journal + snapshots; default: $CARRIERSIM_DB); without "
                          "it, state lives in memory")
    srv.add_argument("--db-sync", choices=("normal", "full"), default="normal",
                     help="normal: every answered write survives the process being killed; full: also a power cut "
                          "(slower)")
    srv.add_argument("--max-worlds", type=_positive_int, default=100, metavar="N",
                     help="worlds POST /_sim/worlds may create besides the default one (default 100); one more is "
                          "refused with world_limit_reached")
    srv.add_argument("--world-ttl", type=_non_negative, default=3600.0, metavar="SECONDS",
                     help="a created world unused this long (real time) is deleted (default 3600; 0: never); "
                          "POST /_sim/worlds {\"ttl\": …} sets a world's own")
    srv.add_argument("--record", metavar="DIR", default=None,
                     help="record the session (every request, world action and clock move, with the answers) "
                          "into DIR; carriersim record export ID turns it into a scenario")
    srv.set_defaults(func=cmd_serve)

    snap = sub.add_parser("snapshot", help="save, restore, list, export or import snapshots of a --db file")
    snap_sub = snap.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("save", "save the world under NAME"), ("restore", "go back to snapshot NAME"),
                         ("list", "list the snapshots"), ("export", "write snapshot NAME to FILE"),
                         ("import", "add FILE (an export) as snapshot NAME")):
        one = snap_sub.add_parser(action, help=text)
        if action == "import":
            one.add_argument("file", metavar="FILE")
            one.add_argument("--name", required=True, help="name for the imported snapshot")
        elif action != "list":
            one.add_argument("name", metavar="NAME")
            if action == "export":
                one.add_argument("file", metavar="FILE")
        one.add_argument("--db", required=True, metavar="PATH", help="the carriersim database")
    snap.set_defaults(func=cmd_snapshot)

    prof = sub.add_parser("profiles", help="list the shipped carrier profiles, or validate profile files")
    prof.add_argument("--validate", nargs="+", metavar="FILE",
                      help="check these profile files as serve/demo --profile would load them (every problem of "
                           "every file, an id clash included) and exit: 0 all usable, 1 any problem")
    prof.set_defaults(func=cmd_profiles)

    rl = sub.add_parser("rules", help="list the rule catalogue")
    rl.add_argument("--area", help="only this area (billing, quota, retention, …)")
    rl.set_defaults(func=cmd_rules)

    tpl = sub.add_parser("template", help="write an empty batch template (CSV or Excel)")
    tpl.add_argument("operation", choices=sorted(OPERATIONS))
    tpl.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    tpl.add_argument("-o", "--output", help="file to write (default OPERATION.FORMAT)")
    tpl.set_defaults(func=cmd_template)
    for extend in extensions:
        extend(sub)
    comp = sub.add_parser("completion", help="print a shell completion script (bash, zsh or tcsh)",
                          description="Print a completion script for carriersim's commands and options, e.g. "
                                      "'carriersim completion bash > ~/.local/share/bash-completion/completions/"
                                      "carriersim', or 'eval \"$(carriersim completion bash)\"' in ~/.bashrc.")
    comp.add_argument("shell", choices=("bash", "zsh", "tcsh"))
    comp.set_defaults(func=lambda args: _completion(ap, args.shell))
    return ap


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("carriersim")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+unknown"


def _completion(parser: argparse.ArgumentParser, shell: str) -> int:
    import shtab

    sys.stdout.write(shtab.complete(parser, shell=shell))
    return 0


def main(argv: list[str] | None = None, extensions: Iterable[Callable[[Any], None]] = ()) -> int:
    parser = build_parser(extensions)
    args = parser.parse_args(argv)
    if args.command is None:  # bare `carriersim`: say what there is, and that is not an error
        parser.print_help()
        return 0
    err = _console(stderr=True)
    if getattr(args, "cards", 1) is not None and getattr(args, "cards", 1) < 1:
        err.print("carriersim: error: --cards must be at least 1")
        return 2
    if getattr(args, "months", 1) < 0:
        err.print("carriersim: error: --months cannot be negative; the clock only moves forward")
        return 2
    try:
        return args.func(args)
    except ProfileError as exc:
        _print_profile_error(err, exc)
        return 1
    except (SimError, BatchFileError) as exc:
        err.print(f"carriersim: error: {getattr(exc, 'message', exc)}")
        return 1
    except KeyboardInterrupt:
        err.print("carriersim: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
