"""Shared fixtures: a fresh simulation at 2027-01-01 00:00 Asia/Shanghai and helpers to get cards into service."""

from __future__ import annotations

import itertools

import pytest

from simulator import Simulation
from simulator.identifiers import make_imei

_imeis = itertools.count(1000)


def new_imei() -> str:
    return make_imei(next(_imeis))


@pytest.fixture
def sim() -> Simulation:
    return Simulation(seed=1)


@pytest.fixture
def acct(sim: Simulation) -> str:
    """A real-name verified enterprise account (its cards start verified)."""
    return sim.create_account("杭州测试科技有限公司", kind="enterprise", verified=True, id_number="91350100M000100Y43")


@pytest.fixture
def other(sim: Simulation) -> str:
    return sim.create_account("Other Co", kind="enterprise", verified=True)


def open_active(sim: Simulation, account: str, carrier: str = "cmcc", plan: str = "CMCC-M100", *,
                payment: object = "100", imei: str | None = None, **options: object) -> str:
    """Open, pay and activate a card bound to a fresh device; returns its ICCID."""
    iccid = sim.open_card(account, carrier, plan, payment=payment, **options)
    sim.activate(account, iccid, imei or new_imei())
    return iccid
