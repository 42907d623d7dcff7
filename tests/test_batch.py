"""Behaviour tests for batch operations through ``Simulation.batch``.

Rules: BATCH-1 (a CSV or Excel template of ICCIDs; every row is checked — format, ICCID check digit, ownership,
state — and gets its own result; a bad row never spoils the good ones) and the batch side of CAN-2 (a batch
cancellation of 50 or more *accepted* cards is reviewed within 1 working day, a smaller one takes the carrier's
normal review time; CAN-3 high-risk cards still go to manual review).
"""

from __future__ import annotations

import random

import pytest
from conftest import (batch_of, DOC, cancel_request, cancellable, certificate_of, history_of, ledger_of, new_imei, open_active, refused, use,
    view, wrong_check_digit, xlsx_from_template)

from carriersim.simulator import SimError, Simulation
from carriersim.simulator.batch_files import write_template
from carriersim.simulator.identifiers import make_credit_code, make_iccid

FAST = "2027-01-04T00:00:00+08:00"  # 1 working day after Fri 2027-01-01 (New Year holiday) + weekend
NORMAL = "2027-01-06T00:00:00+08:00"  # cmcc's 3 working days


def batch_file(fmt: str, operation: str, rows: list[list[object]]) -> tuple[bytes, str]:
    """A filled-in template (the header comes from ``write_template``) and its file name."""
    if fmt == "csv":
        body = "".join(",".join("" if c is None else str(c) for c in row) + "\r\n" for row in rows)
        return write_template(operation, "csv") + body.encode("utf-8"), "batch.csv"
    return xlsx_from_template(operation, rows), "batch.xlsx"


def run(sim: Simulation, account: str, operation: str, rows: list[list[object]], fmt: str = "csv", **kw):
    data, name = batch_file(fmt, operation, rows)
    return batch_of(sim, account, operation, data, name, **kw)


def codes(result: dict) -> list[tuple[int, bool, str | None]]:
    return [(r["row"], r["ok"], r.get("code")) for r in result["rows"]]


# ---------------------------------------------------------------------------------------------------- cancellation


def bad_cancel_rows(sim: Simulation, acct: str, other: str) -> tuple[list[str], dict[str, str]]:
    """Three bad rows: a bad check digit, another account's card, a card with auto-renewal still on."""
    mistyped = cancellable(sim, acct)
    foreign = cancellable(sim, other)
    renewing = open_active(sim, acct)
    sim.unbind_device(acct, renewing)  # only auto-renewal is left to refuse it
    rows = [wrong_check_digit(mistyped), foreign, renewing]
    return rows, {"mistyped": mistyped, "foreign": foreign, "renewing": renewing}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_batch1_can2_fifty_accepted_cards_reviewed_in_one_working_day(sim, acct, other, fmt):
    good = [cancellable(sim, acct) for _ in range(50)]
    bad, cards = bad_cancel_rows(sim, acct, other)
    # 53 rows: the bad ones first, in the middle and last
    iccids = [bad[0]] + good[:25] + [bad[1]] + good[25:] + [bad[2]]
    result = run(sim, acct, "cancel", [[i] for i in iccids], fmt, document=DOC)
    assert (result["operation"], result["succeeded"], result["failed"]) == ("cancel", 50, 3)
    assert [r["row"] for r in result["rows"]] == list(range(2, 55))
    assert [r["iccid"] for r in result["rows"]] == iccids
    by_row = {r["row"]: r for r in result["rows"]}
    assert by_row[2]["code"] == "invalid_row" and "check digit" in by_row[2]["message"].lower()
    assert by_row[28]["code"] == "card_not_found"
    assert by_row[54]["code"] == "cancellation_not_allowed" and "auto-renewal" in by_row[54]["message"]
    assert all(not by_row[n]["ok"] for n in (2, 28, 54))
    goods = [r for r in result["rows"] if r["ok"]]
    assert [r["iccid"] for r in goods] == good
    assert all((r["review"], r["due"], r.get("code")) == ("standard", FAST, None) for r in goods)
    assert all(view(sim, i)["state"] == "pending_cancel" for i in good)
    requested = [e for e in history_of(sim, good[0]) if e["kind"] == "cancellation_requested"][0]
    assert requested["detail"]["batch_size"] == 50 and requested["detail"]["working_days"] == 1
    # the bad rows changed nothing
    assert all(view(sim, c)["state"] == "active" for c in cards.values())
    assert view(sim, cards["foreign"])["cancellation"] is None
    sim.advance(to="2027-01-03T23:59:59")
    assert all(view(sim, i)["state"] == "pending_cancel" for i in good)
    sim.advance(to=FAST)
    assert all(view(sim, i)["state"] == "cancelled" for i in good)
    assert all(certificate_of(sim, acct, i)["cancelled_at"] == FAST for i in good)
    assert all(view(sim, c)["state"] == "active" for c in cards.values())


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_batch1_can2_fifty_rows_but_49_accepted_takes_normal_review(sim, acct, other, fmt):
    good = [cancellable(sim, acct) for _ in range(49)]
    bad, _ = bad_cancel_rows(sim, acct, other)
    result = run(sim, acct, "cancel", [[i] for i in good + bad[:1]], fmt, document=DOC)
    assert (result["succeeded"], result["failed"]) == (49, 1)
    assert all((r["review"], r["due"]) == ("standard", NORMAL) for r in result["rows"] if r["ok"])
    requested = [e for e in history_of(sim, good[-1]) if e["kind"] == "cancellation_requested"][0]
    assert requested["detail"]["batch_size"] == 49 and requested["detail"]["working_days"] == 3
    sim.advance(to="2027-01-05T23:59:59")
    assert all(view(sim, i)["state"] == "pending_cancel" for i in good)
    sim.advance(to=NORMAL)
    assert all(view(sim, i)["state"] == "cancelled" for i in good)


def test_batch1_can2_small_batch_with_bad_rows_normal_review(sim, acct, other):
    good = [cancellable(sim, acct) for _ in range(2)]
    bad, _ = bad_cancel_rows(sim, acct, other)
    result = run(sim, acct, "cancel", [[good[0]], [bad[0]], [bad[1]], [good[1]], [bad[2]]], "xlsx", document=DOC)
    assert codes(result) == [(2, True, None), (3, False, "invalid_row"), (4, False, "card_not_found"),
                             (5, True, None), (6, False, "cancellation_not_allowed")]
    assert [r["due"] for r in result["rows"] if r["ok"]] == [NORMAL, NORMAL]


def test_batch1_can3_high_risk_card_in_large_batch_still_manual(sim, acct):
    good = [cancellable(sim, acct) for _ in range(50)]
    risky = open_active(sim, acct)
    for _ in range(3):
        sim.rebind_device(acct, risky, new_imei())
    sim.set_auto_renew(acct, risky, False)
    sim.unbind_device(acct, risky)
    result = run(sim, acct, "cancel", [[i] for i in good + [risky]], document=DOC)
    assert result["succeeded"] == 51
    last = result["rows"][-1]
    assert (last["iccid"], last["review"], last["due"]) == (risky, "manual", "2027-01-15T00:00:00+08:00")
    assert all(r["due"] == FAST for r in result["rows"][:-1])


def test_batch1_cancel_without_document_is_refused_whole_and_changes_nothing(sim, acct):
    cards = [cancellable(sim, acct) for _ in range(2)]
    before = sim.digest()
    with pytest.raises(SimError) as err:
        run(sim, acct, "cancel", [[i] for i in cards])
    assert err.value.code == "invalid_input" and "document" in err.value.message
    assert sim.digest() == before


def test_batch1_cancel_with_wrong_document_refuses_each_row(sim, acct):
    cards = [cancellable(sim, acct) for _ in range(2)]
    before = sim.digest()
    result = run(sim, acct, "cancel", [[i] for i in cards], document=make_credit_code(random.Random(9)))
    assert [r["code"] for r in result["rows"]] == ["document_mismatch", "document_mismatch"]
    assert sim.digest() == before


def test_batch1_cancel_rows_refused_by_state(sim, acct):
    pending = cancellable(sim, acct)
    cancel_request(sim, acct, pending, DOC)
    [stock] = sim.add_inventory("cmcc", 1)
    good = cancellable(sim, acct)
    result = run(sim, acct, "cancel", [[pending], [stock], [good]], document=DOC)
    assert codes(result) == [(2, False, "cancellation_pending"), (3, False, "card_not_found"), (4, True, None)]


# ---------------------------------------------------------------------------------------------------- other operations


def test_batch1_suspend_every_row_checked(sim, acct, other):
    a, b = open_active(sim, acct), open_active(sim, acct)
    manual = open_active(sim, acct)
    sim.suspend(acct, manual)
    over = open_active(sim, acct, imei=(imei := new_imei()))
    use(sim, over, mb=100, imei=imei)  # quota-stopped: MAN-1 refuses
    foreign = open_active(sim, other)
    gone = open_active(sim, acct)
    sim.swap(acct, gone)
    ghost = make_iccid("898600", 555555)
    rows = [[a], [manual], [over], [foreign], [ghost], ["12345"], [a], [gone], [b]]
    result = run(sim, acct, "suspend", rows)
    assert codes(result) == [
        (2, True, None), (3, False, "already_suspended"), (4, False, "manual_suspend_not_allowed"),
        (5, False, "card_not_found"), (6, False, "card_not_found"), (7, False, "invalid_row"),
        (8, False, "invalid_row"), (9, False, "card_cancelled"), (10, True, None)]
    assert "duplicate of row 2" in result["rows"][6]["message"]
    assert (result["succeeded"], result["failed"]) == (2, 7)
    assert view(sim, a)["reasons"] == ["manual"] and view(sim, b)["reasons"] == ["manual"]
    assert view(sim, over)["reasons"] == ["quota"] and view(sim, foreign)["reasons"] == []


def test_batch1_another_accounts_row_looks_like_a_missing_card(sim, acct, other):
    foreign = open_active(sim, other)
    ghost = make_iccid("898600", 555555)
    result = run(sim, acct, "suspend", [[foreign], [ghost]])
    a, b = result["rows"]
    assert a["code"] == b["code"] == "card_not_found"
    assert a["message"].replace(foreign, "X") == b["message"].replace(ghost, "X")


def test_batch1_resume_from_xlsx(sim, acct):
    a, b = open_active(sim, acct), open_active(sim, acct)
    sim.suspend(acct, a)
    result = run(sim, acct, "resume", [[a], [b]], "xlsx")
    assert codes(result) == [(2, True, None), (3, False, "not_manually_suspended")]
    assert view(sim, a)["state"] == "active"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_batch1_top_up_amounts(sim, acct, fmt):
    cards = [open_active(sim, acct, payment="5") for _ in range(4)]
    rows = [[cards[0], "10"], [cards[1], "0.01"], [cards[2], "-5"], [cards[3], None]]
    result = run(sim, acct, "top_up", rows, fmt)
    assert codes(result) == [(2, True, None), (3, True, None), (4, False, "invalid_row"), (5, False, "invalid_row")]
    assert [view(sim, c)["balance"] for c in cards] == ["10.00", "0.01", "0.00", "0.00"]
    assert ledger_of(sim, cards[0])[-1]["item"] == "top_up"


def test_batch1_xlsx_numeric_amount_cells(sim, acct):
    a = open_active(sim, acct, payment="5")
    result = run(sim, acct, "top_up", [[a, 12.5]], "xlsx")
    assert result["succeeded"] == 1 and view(sim, a)["balance"] == "12.50"


def test_batch1_set_auto_renew(sim, acct):
    a, b = open_active(sim, acct), open_active(sim, acct)
    result = run(sim, acct, "set_auto_renew", [[a, "否"], [b, "maybe"]])
    assert codes(result) == [(2, True, None), (3, False, "invalid_row")]
    assert view(sim, a)["auto_renew"] is False and view(sim, b)["auto_renew"] is True


def test_batch1_change_plan_rows(sim, acct):
    ok, same, poor, unknown = (open_active(sim, acct, payment=p) for p in ("50", "50", "5", "50"))
    rows = [[ok, "CMCC-M1G"], [same, "CMCC-M100"], [poor, "CMCC-M1G"], [unknown, "NOPE"]]
    result = run(sim, acct, "change_plan", rows)
    assert codes(result) == [(2, True, None), (3, False, "plan_change_not_allowed"),
                             (4, False, "insufficient_balance"), (5, False, "plan_not_found")]
    assert view(sim, ok)["pending_change"] == {"plan": "CMCC-M1G", "effective_at": "2027-02-01T00:00:00+08:00"}
    withdrawn = run(sim, acct, "withdraw_plan_change", [[ok], [same]])
    assert codes(withdrawn) == [(2, True, None), (3, False, "no_pending_change")]
    assert view(sim, ok)["pending_change"] is None


def test_batch1_activate_rows(sim, acct):
    ready = [sim.open_card(acct, "cmcc", "CMCC-M100") for _ in range(3)]
    active = open_active(sim, acct)
    imei = new_imei()
    rows = [[ready[0], imei], [ready[1], None], [ready[2], "12345"], [active, None]]
    result = run(sim, acct, "activate", rows, "xlsx")
    assert codes(result) == [(2, True, None), (3, True, None), (4, False, "invalid_imei"),
                             (5, False, "invalid_state")]
    assert view(sim, ready[0])["imei"] == imei and view(sim, ready[0])["state"] == "active"
    assert view(sim, ready[1])["state"] == "active" and view(sim, ready[2])["state"] == "ready"


def test_batch1_rows_of_a_carrier_in_maintenance_fail_alone(sim, acct):
    mobile = open_active(sim, acct)
    telecom = open_active(sim, acct, "ctcc", "CTCC-M20")
    sim.start_maintenance("cmcc", duration="1 hour")
    result = run(sim, acct, "suspend", [[mobile], [telecom]])
    assert codes(result) == [(2, False, "carrier_unavailable"), (3, True, None)]
    assert view(sim, telecom)["reasons"] == ["manual"]


def test_batch1_chinese_header_gbk_csv_and_blank_lines(sim, acct):
    a, b = open_active(sim, acct), open_active(sim, acct)
    data = f"卡号,备注\r\n{a},一号\r\n\r\n{b},二号\r\n".encode("gbk")
    result = batch_of(sim, acct, "suspend", data, "停机.csv")
    assert codes(result) == [(2, True, None), (4, True, None)]


# ------------------------------------------------------------------------------------------ whole-file refusals


@pytest.mark.parametrize(("data", "name"), [
    (b"iccid\r\n89860000000000000043\r\n", "batch.txt"),
    (b"iccid\r\n89860000000000000043\r\n", "batch.xls"),
    (b"not a workbook", "batch.xlsx"),
    (b"", "batch.csv"),
    (b"iccid\r\n", "batch.csv"),
    (b"number\r\n89860000000000000043\r\n", "batch.csv"),
])
def test_batch1_unusable_file_refused_and_changes_nothing(sim, acct, data, name):
    open_active(sim, acct)
    err = refused(sim, "invalid_batch_file", sim.batch, acct, "suspend", data, name)
    assert err.status == 422


def test_batch1_unknown_operation_refused(sim, acct):
    iccid = open_active(sim, acct)
    err = refused(sim, "invalid_batch_file", sim.batch, acct, "delete", f"iccid\r\n{iccid}\r\n".encode(), "b.csv")
    assert "suspend" in err.message  # lists the valid operations


def test_batch1_unknown_account_refused(sim, acct):
    iccid = open_active(sim, acct)
    data, name = batch_file("csv", "suspend", [[iccid]])
    refused(sim, "account_not_found", sim.batch, "acc-9999", "suspend", data, name)
