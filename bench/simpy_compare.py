"""Benchmark: carriersim against the same workload written in SimPy, in one run; the last line is one JSON object.

    pip install -e '.[bench]'          # simpy
    python bench/simpy_compare.py --cards 100000 --months 12

The workload: a fleet built by carriersim's generator (no pools, every account verified: the SimPy model below
leaves those rules out), then ``--months`` months in which 30% of the cards report a month's traffic at each
month's start (the same reports for both) and the clock moves on a month. The SimPy model is written as a
competent SimPy user would: one billing process per carrier that wakes at each cycle start and works through the
carrier's cards (CAN-5 unused cards and RET-2 retention limits first, as carriersim orders same-instant jobs, then
RET-1 retention fees, EXP-1 renewals or expiry and QUOTA-2 lifts), and one traffic process that applies each
month's usage reports (QUOTA-1/5, ALERT-1, BILL-4). Both start from the state carriersim's fleet build left.

The run checks that both produced the same number of events of each kind and the same final state of every card,
and reports the CPU seconds (``time.process_time``) of the months with traffic for each: ``ratio`` is SimPy's time
over carriersim's (the bar: ≥ 5).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time

import simpy

from carriersim.simulator import Simulation
from carriersim.simulator.fleet import FleetSpec, generate
from carriersim.simulator.model import Reason
from carriersim.simulator.timeutil import add_cycles, months_after

ACTIVE, RETAINED, SUSPENDED, CANCELLED = "active", "retained", "suspended", "cancelled"
QUOTA, ARREARS, EXPIRED = int(Reason.QUOTA), int(Reason.ARREARS), int(Reason.EXPIRED)


def traffic(rng: random.Random, cards: list[str], quota: dict[str, tuple[int, int]], plans: list[str],
            share: float) -> list[tuple[str, int]]:
    out = []
    for n in rng.sample(range(len(cards)), int(len(cards) * share)):
        quota_kb, term_months = quota[plans[n]]
        pct = rng.uniform(1.0, 1.3) if rng.random() < 0.1 else rng.uniform(0.0, 0.8)
        out.append((cards[n], int(quota_kb * pct / term_months)))
    return out


# ---------------------------------------------------------------------------------------------- the SimPy model


class Card:
    __slots__ = ("iccid", "carrier", "plan", "in_service", "cancelled", "reasons", "balance", "auto_renew",
                 "auto_suspend", "term_start", "term_end", "used_kb", "alerts", "overage_mb", "last_used",
                 "activated", "opened", "retention_deadline", "unused_at")


class Model:
    """Carriers' billing as a SimPy model: one process per carrier, one for the traffic."""

    def __init__(self, sim: Simulation, start: int, months: int, batches: list[list[tuple[str, int]]]) -> None:
        self.env = simpy.Environment(initial_time=start)
        self.events: collections.Counter[str] = collections.Counter()
        self.profiles = {c: sim.profile(c) for c in sim.carrier_ids()}
        self.plans = {p.code: p for c in sim.carrier_ids() for p in sim.plans(c)}
        self.cards: dict[str, Card] = {}
        self.by_carrier: dict[str, list[Card]] = collections.defaultdict(list)
        for r in sim.cards():
            c = Card()
            c.iccid, c.carrier, c.plan = r.iccid, r.carrier, self.plans[r.plan]
            c.in_service = r.state.label in (ACTIVE, SUSPENDED, RETAINED)
            c.cancelled = r.state.label == CANCELLED
            c.reasons, c.balance = r.reasons.mask, r.balance
            c.auto_renew, c.auto_suspend = r.auto_renew, r.auto_suspend
            c.term_start = int(r.term_start.timestamp()) if r.term_start else None
            c.term_end = int(r.term_end.timestamp()) if r.term_end else None
            c.used_kb = r.usage.quota_used_kb
            quota = c.plan.quota_kb + r.usage.addon_kb
            c.alerts = sum(1 for pct in self.profiles[c.carrier].alert_thresholds if c.used_kb * 100 >= quota * pct)
            c.overage_mb = 0 if c.auto_suspend else -(-max(c.used_kb - c.plan.quota_kb, 0) // 1024)
            c.last_used = int(r.last_used_at.timestamp()) if r.last_used_at else None
            c.activated = int(r.activated_at.timestamp()) if r.activated_at else None
            c.opened = int(r.opened_at.timestamp())
            c.retention_deadline = None
            months_unused = self.profiles[c.carrier].cancellation.unused_cancel_months
            c.unused_at = months_after(c.opened, months_unused, self.profiles[c.carrier].tz) if months_unused else None
            self.cards[c.iccid] = c
            self.by_carrier[c.carrier].append(c)
        self.start, self.months, self.batches = start, months, batches

    # the primitives
    def state(self, c: Card) -> str:
        if c.cancelled:
            return CANCELLED
        if not c.in_service:
            return "ready"
        if not c.reasons:
            return ACTIVE
        return RETAINED if c.reasons & EXPIRED and self.profiles[c.carrier].retention_months else SUSPENDED

    def add_reason(self, c: Card, reason: int) -> None:
        c.reasons |= reason
        self.events["state_changed"] += 1

    def charge(self, c: Card, amount: int) -> None:
        c.balance -= amount
        self.events["charge"] += 1
        if c.balance < 0 and not c.reasons & ARREARS and not c.cancelled:
            self.add_reason(c, ARREARS)  # BILL-4

    def cancel(self, c: Card) -> None:
        c.cancelled, c.in_service, c.reasons = True, False, c.reasons
        self.events["state_changed"] += 1
        self.events["data_wiped"] += 1

    # the processes
    def billing(self, carrier: str):
        p = self.profiles[carrier]
        cards = self.by_carrier[carrier]
        cycle = self.env.now
        while True:
            cycle = add_cycles(cycle, 1, p.tz, p.billing_cycle_day)
            yield self.env.timeout(cycle - self.env.now)
            now = self.env.now
            for c in cards:  # RET-2 and CAN-5 run before the cycle's work
                if c.cancelled:
                    continue
                if c.retention_deadline == now and c.reasons & EXPIRED:
                    self.cancel(c)
                elif c.unused_at == now:  # every sold card, activated or not
                    limit = months_after(c.last_used or c.activated or c.opened, p.cancellation.unused_cancel_months,
                                         p.tz)
                    if limit > now:
                        c.unused_at = limit
                    else:
                        self.cancel(c)
            for c in cards:
                if c.cancelled or not c.in_service:
                    continue
                plan = c.plan
                if c.reasons & EXPIRED:  # RET-1
                    if p.retention_fee:
                        self.charge(c, p.retention_fee)
                elif c.term_end == now:  # EXP-1
                    if c.auto_renew and c.balance >= plan.price:
                        self.charge(c, plan.price)
                        c.term_start, c.term_end = now, add_cycles(now, plan.term_months, p.tz, p.billing_cycle_day)
                        self.events["renewed"] += 1
                    else:
                        c.retention_deadline = months_after(now, p.retention_months, p.tz)
                        self.events["expired"] += 1
                        self.add_reason(c, EXPIRED)
                        if p.retention_fee:
                            self.charge(c, p.retention_fee)
                if plan.quota_scope == "month" or c.term_start == now:  # a new quota period
                    c.used_kb, c.alerts, c.overage_mb = 0, 0, 0
                    if c.reasons & QUOTA:  # QUOTA-2
                        c.reasons &= ~QUOTA
                        self.events["state_changed"] += 1

    def traffic(self):
        for batch in self.batches:
            for iccid, kb in batch:
                self.use(self.cards[iccid], kb)
            yield self.env.timeout(add_cycles(self.env.now, 1, self.profiles["cmcc"].tz, 1) - self.env.now)

    def use(self, c: Card, kb: int) -> None:
        if not c.in_service or c.reasons or not kb:
            return
        plan, p = c.plan, self.profiles[c.carrier]
        quota = plan.quota_kb
        accepted = min(kb, max(quota - c.used_kb, 0)) if c.auto_suspend else kb
        c.used_kb += accepted
        for i, pct in enumerate(p.alert_thresholds):  # ALERT-1
            if i >= c.alerts and c.used_kb * 100 >= quota * pct:
                c.alerts = i + 1
                self.events["alert"] += 1
        if c.auto_suspend:
            if c.used_kb >= quota:
                self.add_reason(c, QUOTA)  # QUOTA-1
        elif c.used_kb > quota:  # QUOTA-5
            started = -(-(c.used_kb - quota) // 1024)
            if started > c.overage_mb:
                self.charge(c, (started - c.overage_mb) * plan.overage_per_mb)
                c.overage_mb = started
        if accepted:
            c.last_used = self.env.now

    def run(self) -> None:
        for carrier in self.profiles:
            self.env.process(self.billing(carrier))
        self.env.process(self.traffic())
        end = self.start
        for _ in range(self.months):
            end = add_cycles(end, 1, self.profiles["cmcc"].tz, 1)
        self.env.run(until=end + 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cards", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    sim = Simulation(seed=args.seed)
    fleet = generate(sim, FleetSpec(accounts=max(1, args.cards // 100), cards=args.cards, seed=args.seed,
                                    pooled_share=0.0, verified_share=1.0))
    quota = {p.code: (p.quota_kb, p.term_months) for c in sim.carrier_ids() for p in sim.plans(c)}
    rng = random.Random(args.seed)
    batches = [traffic(rng, fleet.cards, quota, fleet.plans, 0.3) for _ in range(args.months)]
    start = sim.now
    model = Model(sim, start, args.months, batches)  # the SimPy model starts from the state the build left

    kinds_before = sim.event_totals()[0]
    t0 = time.process_time()
    for batch in batches:
        sim.report_usage_many(batch)
        sim.advance(by="1 month")
    carriersim_s = time.process_time() - t0
    t1 = time.process_time()
    model.run()
    simpy_s = time.process_time() - t1

    kinds = sim.event_totals()[0] - kinds_before
    ours = {k.label: n for k, n in sorted(kinds.items(), key=lambda kv: kv[0].label)}
    theirs = dict(sorted(model.events.items()))
    states = collections.Counter(c.state.label for c in sim.cards())
    their_states = collections.Counter(model.state(c) for c in model.cards.values())
    same_cards = all(model.state(model.cards[c.iccid]) == c.state.label and model.cards[c.iccid].balance == c.balance
                     for c in sim.cards())
    same = ours == theirs and same_cards
    if not same:
        print(f"events: carriersim {ours}\n        simpy      {theirs}\nstates: {dict(states)} vs "
              f"{dict(their_states)}; every card the same: {same_cards}", file=sys.stderr)
    print(json.dumps({
        "bench": "simpy_compare", "cards": args.cards, "months": args.months,
        "usage_reports": sum(len(b) for b in batches), "events": sum(ours.values()),
        "carriersim_seconds": round(carriersim_s, 3), "simpy_seconds": round(simpy_s, 3),
        "same_events_and_states": same, "events_by_kind": ours, "states": dict(sorted(states.items())),
        "ratio": round(simpy_s / carriersim_s, 2), "bar": 5.0, "simpy": simpy.__version__,
    }))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
