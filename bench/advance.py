"""Benchmark: build a mixed fleet and advance it N months; the last line printed is one JSON object.

    python bench/advance.py --cards 100000 --months 12

The fleet spans every carrier and plan; some cards run past their quota (QUOTA-1/5), some have auto-renewal off or
too little balance and expire into retention (EXP-1, RET-1..2), some sit in pools. With ``--traffic SHARE`` (default
0.3) that share of the cards reports a month's usage before each month's advance, so cards stay alive past CAN-5
and run out of quota again every month; without traffic the clock moves in one ``advance``. ``seconds`` times the
advance calls alone; ``traffic_seconds`` the usage reports; ``build_seconds`` the fleet generation. Bar (issue #2): advance of 100,000
cards over 12 months ≤ 10 s and peak RSS ≤ 1024 MB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import resource
import sys
import time

from carriersim.simulator import Simulation
from carriersim.simulator.fleet import FleetSpec, generate


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
    t0 = time.perf_counter()
    fleet = generate(sim, FleetSpec(accounts=accounts, cards=args.cards, seed=args.seed),
                     progress=lambda done, total: print(f"built {done}/{total} cards", file=sys.stderr))
    build = time.perf_counter() - t0
    events_before = len(sim.events)
    rng = random.Random(args.seed)
    seconds = traffic_seconds = 0.0
    reports = 0
    if args.traffic <= 0:
        print(f"advancing {args.months} months…", file=sys.stderr)
        t1 = time.perf_counter()
        sim.advance(by=f"{args.months} months")
        seconds = time.perf_counter() - t1
    for month in range(args.months if args.traffic > 0 else 0):
        t1 = time.perf_counter()
        for iccid in rng.sample(fleet.cards, int(len(fleet.cards) * args.traffic)):
            card = sim.by_iccid[iccid]
            if card.plan is not None:
                share = rng.uniform(1.0, 1.3) if rng.random() < 0.1 else rng.uniform(0.0, 0.8)
                sim.report_usage(iccid, kb=int(card.plan.quota_kb * share / card.plan.term_months))
                reports += 1
        t2 = time.perf_counter()
        sim.advance(by="1 month")
        t3 = time.perf_counter()
        traffic_seconds += t2 - t1
        seconds += t3 - t2
        print(f"month {month + 1}/{args.months}: advance {t3 - t2:.2f}s", file=sys.stderr)
    states = collections.Counter(sim.cards[i].state.label for i in range(len(sim.cards)))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "bench": "advance", "cards": len(fleet.cards), "accounts": accounts, "months": args.months,
        "build_seconds": round(build, 3), "seconds": round(seconds, 3), "traffic_share": args.traffic,
        "usage_reports": reports, "traffic_seconds": round(traffic_seconds, 3),
        "events": len(sim.events) - events_before, "events_total": len(sim.events),
        "cards_per_second": round(len(fleet.cards) * args.months / seconds) if seconds else None,
        "peak_rss_mb": round(peak_kb / 1024, 1), "states": dict(sorted(states.items())),
        "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
