"""Shared fixtures: a fresh simulation at 2027-01-01 00:00 Asia/Shanghai and helpers to get cards into service,
plus the small helpers several test files use (import them with ``from conftest import ...``)."""

from __future__ import annotations

import io
import itertools
from typing import Any, Callable

import openpyxl
import pytest

pytest_plugins = ["pytester"]

from types import SimpleNamespace

from carriersim.simulator import SimError, Simulation
from carriersim.simulator.batch_files import write_template
from carriersim.simulator.http import views as native
from carriersim.simulator.identifiers import make_imei
from carriersim.simulator.money import to_cny

DOC = "91350100M000100Y43"  # the `acct` fixture's credit code (business licence)

_imeis = itertools.count(1000)


def new_imei() -> str:
    """A fresh valid IMEI, different on every call."""
    return make_imei(next(_imeis))


@pytest.fixture
def sim() -> Simulation:
    return Simulation(seed=1)


@pytest.fixture
def acct(sim: Simulation) -> str:
    """A real-name verified enterprise account (its cards start verified)."""
    return sim.create_account("杭州测试科技有限公司", kind="enterprise", verified=True, id_number=DOC)


@pytest.fixture
def other(sim: Simulation) -> str:
    return sim.create_account("Other Co", kind="enterprise", verified=True)


def open_active(sim: Simulation, account: str, carrier: str = "cmcc", plan: str = "CMCC-M100", *,
                payment: object = "100", imei: str | None = None, **options: object) -> str:
    """Open, pay and activate a card bound to a fresh device; returns its ICCID."""
    iccid = sim.open_card(account, carrier, plan, payment=payment, **options)
    sim.activate(account, iccid, imei or new_imei())
    return iccid


def cancellable(sim: Simulation, account: str, carrier: str = "cmcc", plan: str | None = None, **kw: object) -> str:
    """An active card with CAN-1's preconditions met (auto-renew off, device unbound, no arrears)."""
    plan = plan or {"cmcc": "CMCC-M100", "cucc": "CUCC-M50", "ctcc": "CTCC-M20"}[carrier]
    iccid = open_active(sim, account, carrier, plan, **kw)
    sim.set_auto_renew(account, iccid, False)
    sim.unbind_device(account, iccid)
    return iccid


def refused(sim: Simulation, code: str, fn: Callable[..., Any], *args: Any, unchanged: bool = True,
            **kwargs: Any) -> SimError:
    """Call ``fn(*args, **kwargs)``: it must raise SimError ``code`` and, unless ``unchanged=False``, change nothing."""
    before = sim.digest()
    with pytest.raises(SimError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, (info.value.code, info.value.message)
    if unchanged:
        assert sim.digest() == before
    return info.value


def t(day: str, time: str = "00:00:00") -> str:
    """The instant ``day`` at ``time`` in Asia/Shanghai, as the simulation writes it."""
    return f"{day}T{time}+08:00"


# The engine's reads return typed records (money in fen, datetimes, enums); the rule tests below read them in the
# native API's JSON shape ("5.00", ISO text, labels), the form the rules' boundaries were written down in.

def view(sim: Simulation, iccid: str, account: str | None = None) -> dict:
    """The card as the platform shows it (native shape)."""
    return native.card(sim.card(iccid, account))


def history_of(sim: Simulation, iccid: str, account: str | None = None) -> list[dict]:
    return [native.event(e) for e in sim.history(iccid, account)]


def ledger_of(sim: Simulation, iccid: str, account: str | None = None) -> list[dict]:
    return [native.ledger_entry(e) for e in sim.ledger(iccid, account)]


def certificate_of(sim: Simulation, account: str, iccid: str) -> dict:
    return native.certificate(sim.certificate(account, iccid))


def cancel_request(sim: Simulation, account: str, iccid: str, document: str) -> dict:
    return native.review(sim.request_cancellation(account, iccid, document))


def refund(sim: Simulation, account: str, iccid: str, kind: str, **kw: Any) -> str:
    """A refund's amount as CNY text."""
    return to_cny(sim.request_refund(account, iccid, kind, **kw))


def plan_change(sim: Simulation, account: str, iccid: str, plan: str) -> str:
    """When a plan change takes effect, as ISO text."""
    return sim.change_plan(account, iccid, plan).isoformat()


def use(sim: Simulation, iccid: str, **kw: Any) -> SimpleNamespace:
    """A usage report's result in the native shape (state and reasons as words)."""
    return SimpleNamespace(**native.usage_result(sim.report_usage(iccid, **kw)))


def batch_of(sim: Simulation, account: str, operation: str, data: bytes, filename: str, **kw: Any) -> dict:
    return native.batch(sim.batch(account, operation, data, filename, **kw))


def events_of(sim: Simulation, cursor: int = 0) -> list[dict]:
    return [native.event(e) for e in sim.events_since(cursor, 10**9)[0]]


def balance_of(sim: Simulation, account: str) -> str:
    return to_cny(sim.account(account).balance)


def state(sim: Simulation, iccid: str) -> tuple[str, list[str]]:
    """The card's (state, reasons)."""
    card = view(sim, iccid)
    return card["state"], card["reasons"]


def kinds(sim: Simulation, iccid: str, *wanted: str) -> list[dict]:
    """The card's history events whose kind is one of ``wanted``."""
    return [e for e in history_of(sim, iccid) if e["kind"] in wanted]


def state_events(sim: Simulation, iccid: str) -> list[dict]:
    """The card's state_changed events."""
    return kinds(sim, iccid, "state_changed")


def changes(sim: Simulation, iccid: str, since: int = 0) -> list[tuple]:
    """(old, new, reasons, change, cause, time) of each state change from history index ``since`` on."""
    return [(e["old_state"], e["new_state"], e["reasons"], e["change"], e["cause"], e["time"])
            for e in history_of(sim, iccid)[since:] if e["kind"] == "state_changed"]


def wrong_check_digit(iccid: str) -> str:
    """The ICCID with its check digit changed, so that only the check digit is wrong."""
    return iccid[:-1] + str((int(iccid[-1]) + 1) % 10)


def xlsx_from_template(operation: str, rows: list[list[object]]) -> bytes:
    """The operation's xlsx template with ``rows`` appended below its header."""
    wb = openpyxl.load_workbook(io.BytesIO(write_template(operation, "xlsx")))
    ws = wb.worksheets[0]
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
