"""Fleet generator: N accounts and M cards across carriers and plans, from a seed.

Names and companies come from faker's zh_CN locale; every identifier is valid per ID-1 (Luhn check digits, real
MCC/MNC prefixes, valid resident ids and credit codes). The same seed gives the same fleet, because every random
choice comes from one seeded ``random.Random`` and faker is seeded from it (faker runs once per account, not per
card). The cards are opened and activated through ``Simulation.open_cards``, one batch with the outcome of the
public operations called card by card.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from faker import Faker

from .identifiers import luhn_check_digits, make_credit_code, make_resident_id
from .simulation import Simulation

CHUNK = 1 << 16  # cards opened in one batch


@dataclass
class FleetSpec:
    """What to build. Fractions are of the cards."""

    accounts: int = 10
    cards: int = 100
    carriers: tuple[str, ...] | None = None  # default: every loaded carrier
    seed: int = 0
    personal_share: float = 0.2  # accounts that are personal
    verified_share: float = 0.9  # accounts real-name verified up front
    activated_share: float = 0.95
    auto_suspend_share: float = 0.8
    auto_renew_share: float = 0.85  # the rest expire into retention at their term end
    pooled_share: float = 0.1  # monthly-quota cards put in their account's pool
    over_quota_share: float = 0.1  # cards whose first-cycle usage runs past their quota
    months_prepaid: tuple[int, int] = (0, 14)  # months of plan price paid on top of the first term


@dataclass
class Fleet:
    accounts: list[str] = field(default_factory=list)
    cards: list[str] = field(default_factory=list)
    plans: list[str] = field(default_factory=list)  # the plan code of each card, in the order of ``cards``
    pools: list[str] = field(default_factory=list)


def generate(sim: Simulation, spec: FleetSpec, progress: Callable[[int, int], None] | None = None) -> Fleet:
    """Build the fleet into ``sim`` at its current time: accounts through ``create_account``, cards in one batch
    (``open_cards``), pools and first traffic through the public operations, card by card."""
    if spec.accounts < 1 or spec.cards < 0:
        raise ValueError("a fleet needs at least one account and a non-negative number of cards")
    rng = random.Random(spec.seed)
    fake = Faker("zh_CN")
    fake.seed_instance(rng.randrange(2**32))
    loaded = sim.carrier_ids()
    carriers = list(spec.carriers or loaded)
    unknown = [c for c in carriers if c not in loaded]
    if unknown:
        raise ValueError(f"unknown carrier(s) {', '.join(unknown)}; loaded: {', '.join(loaded)}")
    fleet = Fleet()
    for _ in range(spec.accounts):
        if rng.random() < spec.personal_share:
            fleet.accounts.append(sim.create_account(fake.name(), kind="personal", channel=_channel(rng),
                                                     verified=rng.random() < spec.verified_share,
                                                     id_number=make_resident_id(rng)))
        else:
            fleet.accounts.append(sim.create_account(fake.company(), kind="enterprise", channel=_channel(rng),
                                                     verified=rng.random() < spec.verified_share,
                                                     id_number=make_credit_code(rng)))
    pools: dict[tuple[str, str], str] = {}
    imei_serial = rng.randrange(10**6, 10**7)
    plans = {c: sim.plans(c) for c in carriers}
    # Every random choice is drawn in the order the cards were once built in one by one, so a seed gives the same
    # fleet; the cards are then opened and activated in batches (``Simulation.open_cards``; batches bound the
    # memory the rows take), and the steps that depend on the cards before (pools, first traffic) run card by card
    # after each card's own.
    for first in range(0, spec.cards, CHUNK):
        rows: list[tuple[Any, ...]] = []  # (account, carrier, plan, payment, …, IMEI serial, then the IMEI)
        after: list[tuple[bool, int]] = []
        for n in range(first, min(first + CHUNK, spec.cards)):
            account = fleet.accounts[n % len(fleet.accounts)] if n < len(fleet.accounts) else \
                rng.choice(fleet.accounts)
            carrier = carriers[n % len(carriers)]
            plan = rng.choice(plans[carrier])
            extra = plan.price * rng.randint(*spec.months_prepaid) // plan.term_months
            auto_suspend = rng.random() < spec.auto_suspend_share
            auto_renew = rng.random() < spec.auto_renew_share
            imei, pooled, kb = None, False, 0
            activated = rng.random() < spec.activated_share
            if activated:
                imei_serial += 1
                imei = imei_serial
                pooled = plan.quota_scope == "month" and rng.random() < spec.pooled_share
                share = rng.uniform(1.0, 1.5) if rng.random() < spec.over_quota_share else rng.uniform(0.0, 0.7)
                kb = int(plan.quota_kb * share * (1 if plan.quota_scope == "month" else 1 / plan.term_months))
            rows.append((account, carrier, plan.code, plan.price + extra, auto_suspend, auto_renew, activated, imei))
            after.append((pooled, kb))
            fleet.plans.append(plan.code)
        serials = [r[7] for r in rows if r[7] is not None]
        imeis = iter(f"86{s:012d}{c}" for s, c in zip(serials, luhn_check_digits("86", serials, 12)))
        rows = [r if r[7] is None else (*r[:7], next(imeis)) for r in rows]  # serial → IMEI
        fleet.cards.extend(sim.open_cards(rows, partial(_then, sim, fleet, pools, rows, after, first, spec.cards,
                                                       progress)))
    return fleet


def _then(sim: Simulation, fleet: Fleet, pools: dict[tuple[str, str], str], rows: list, after: list, first: int,
          total: int, progress: Callable[[int, int], None] | None, pos: int, iccid: str) -> None:
    """A card's steps after its own (``open_cards``' callback): its pool, its first traffic."""
    pooled, kb = after[pos]
    account, carrier = rows[pos][0], rows[pos][1]
    if pooled:
        key = (account, carrier)
        if key not in pools:
            pools[key] = sim.create_pool(account, carrier, f"{carrier} pool")
            fleet.pools.append(pools[key])
        sim.add_to_pool(account, pools[key], iccid)
    if kb:
        sim.report_usage(iccid, kb=kb)
    if progress is not None and (first + pos + 1) % 10000 == 0:
        progress(first + pos + 1, total)


def _channel(rng: random.Random) -> str:
    return rng.choice(("direct", "agent-hangzhou", "agent-shenzhen", "onelink-partner", "iot-mall"))
