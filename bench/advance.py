"""Benchmark: build a mixed fleet and advance it N months; the last line printed is one JSON object.

    python bench/advance.py --cards 1000000 --months 12

The fleet spans every carrier and plan; some cards run past their quota (QUOTA-1/5), some have auto-renewal off or
too little balance and expire into retention (EXP-1, RET-1..2), some sit in pools. With ``--traffic SHARE`` (default
0.3) that share of the cards reports a month's usage before each month's advance, so cards stay alive past CAN-5
and run out of quota again every month; without traffic the clock moves in one ``advance``.

Every figure is CPU time of this process (``time.process_time``: the machine is shared, wall time is noisy), each
measured separately: ``build_seconds`` the fleet generation, ``advance_seconds`` the ``advance`` calls alone,
``usage_seconds`` the usage reports (``report_usage_many``, one batch a month), and ``peak_rss_mb`` the peak
resident memory of the whole run. Bars (issue #14), at 1,000,000 cards × 12 months on a 2-core machine: build
≤ 10 s, advance ≤ 5 s, usage ≤ 10 s, peak ≤ 1.5 GB; at 100,000 cards each figure ≤ 1/8 of the 1M one.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time

from carriersim.simulator import Simulation
from carriersim.simulator.fleet import FleetSpec, generate


def traffic(rng: random.Random, fleet, quota: dict[str, tuple[int, int]], share: float) -> list[tuple[str, int]]:
    """The month's usage reports: ``share`` of the cards, most within their quota, a tenth past it."""
    out = []
    for n in rng.sample(range(len(fleet.cards)), int(len(fleet.cards) * share)):
        quota_kb, term_months = quota[fleet.plans[n]]
        pct = rng.uniform(1.0, 1.3) if rng.random() < 0.1 else rng.uniform(0.0, 0.8)
        out.append((fleet.cards[n], int(quota_kb * pct / term_months)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--accounts", type=int, default=None, help="default: one per 100 cards")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--traffic", type=float, default=0.3, help="share of cards reporting usage each month (0: none)")
    args = ap.parse_args()
    accounts = args.accounts or max(1, args.cards // 100)

    sim = Simulation(seed=args.seed)
    t0 = time.process_time()
    fleet = generate(sim, FleetSpec(accounts=accounts, cards=args.cards, seed=args.seed),
                     progress=lambda done, total: print(f"built {done}/{total} cards", file=sys.stderr))
    build = time.process_time() - t0
    quota = {(p.code): (p.quota_kb, p.term_months) for c in sim.carrier_ids() for p in sim.plans(c)}
    events_before = sim.event_count()
    rng = random.Random(args.seed)
    advance_s = usage_s = 0.0
    reports = 0
    if args.traffic <= 0:
        print(f"advancing {args.months} months…", file=sys.stderr)
        t1 = time.process_time()
        sim.advance(by=f"{args.months} months")
        advance_s = time.process_time() - t1
    for month in range(args.months if args.traffic > 0 else 0):
        batch = traffic(rng, fleet, quota, args.traffic)  # the load generator's work: not timed
        t1 = time.process_time()
        sim.report_usage_many(batch)
        t2 = time.process_time()
        sim.advance(by="1 month")
        t3 = time.process_time()
        reports += len(batch)
        usage_s += t2 - t1
        advance_s += t3 - t2
        print(f"month {month + 1}/{args.months}: usage {t2 - t1:.2f}s advance {t3 - t2:.2f}s", file=sys.stderr)
    states = {f"{carrier}/{state.label}": n for (carrier, state), n in sorted(sim.count_cards().items())}
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "bench": "advance", "cards": len(fleet.cards), "accounts": accounts, "months": args.months,
        "build_seconds": round(build, 3), "advance_seconds": round(advance_s, 3), "usage_seconds": round(usage_s, 3),
        "traffic_share": args.traffic, "usage_reports": reports,
        "events": sim.event_count() - events_before, "events_total": sim.event_count(),
        "peak_rss_mb": round(peak_kb / 1024, 1), "states": states, "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
