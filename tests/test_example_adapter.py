"""The example conformance adapter (conformance/examples/tinycmp): the vendor-style service on its own, the adapter's
conversions and shapes, and the scenario library run against it — only passes and not-applicables, except the
known failures of its expectations file, each of which must really fail (so the list stays honest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from carriersim.conformance.examples.tinycmp.adapter import TinyCmpTarget, fen, iso, ts
from carriersim.conformance.examples.tinycmp.service import TinyCmp, add_months, month_start
from carriersim.conformance.expectations import load_expectations
from carriersim.scenarios.parser import load_paths
from carriersim.scenarios.runner import FAILED, NOT_APPLICABLE, PASSED, run
from carriersim.scenarios.target import CAPABILITIES, Refused, Target, TargetError, perform
from carriersim.simulator.http.spec import SCHEMAS

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "scenarios" / "library"
EXPECTATIONS = ROOT / "conformance" / "examples" / "tinycmp" / "expectations.yaml"
JAN_10 = ts("2027-01-10T09:00:00+08:00")
FEB_1 = ts("2027-02-01T00:00:00+08:00")


# ---------------------------------------------------------------------------------------------- the service

@pytest.fixture
def cmp_() -> TinyCmp:
    return TinyCmp(JAN_10)


def ok(svc: TinyCmp, method: str, **params: Any) -> Any:
    answer = svc.call(method, params)
    assert answer["ret"] == 0, answer
    return answer["data"]


def err(svc: TinyCmp, method: str, **params: Any) -> dict[str, Any]:
    answer = svc.call(method, params)
    assert answer["ret"] != 0, answer
    return answer


def plan_of(svc: TinyCmp, op_code: str) -> int:
    operator = op_code.split("-")[0]
    return next(p["plan_id"] for p in ok(svc, "catalog.plans", operator=operator) if p["op_code"] == op_code)


def active_card(svc: TinyCmp, cust: str, op_code: str = "CMCC-M30", **open_params: Any) -> str:
    operator = op_code.split("-")[0]
    msisdn = ok(svc, "card.open", cust_id=cust, operator=operator, plan_id=plan_of(svc, op_code),
                **open_params)["msisdn"]
    ok(svc, "card.activate", cust_id=cust, msisdn=msisdn)
    return msisdn


@pytest.fixture
def cust(cmp_: TinyCmp) -> str:
    return ok(cmp_, "cust.create", name="Acme", type="ENT")["cust_id"]


def info(svc: TinyCmp, cust: str, msisdn: str) -> dict[str, Any]:
    return ok(svc, "card.info", cust_id=cust, msisdn=msisdn)


@pytest.mark.parametrize("method, params, ret", [
    ("no.such", {}, 4000),
    ("card.info", {"cust_id": "C00001"}, 4001),  # msisdn missing
    ("cust.create", {"name": "X", "type": "GOV"}, 4001),
    ("cust.create", {"name": "  ", "type": "ENT"}, 4001),
    ("catalog.plans", {"operator": "VODAFONE"}, 4001),
    ("admin.inject_usage", {"msisdn": "10648999", "kb": 1}, 4004),
])
def test_bad_input_is_a_numbered_error(cmp_: TinyCmp, method: str, params: dict[str, Any], ret: int) -> None:
    answer = err(cmp_, method, **params)
    assert answer["ret"] == ret and answer["msg"]


def test_params_must_be_an_object(cmp_: TinyCmp) -> None:
    assert cmp_.call("admin.time", ["now"])["ret"] == 4001  # type: ignore[arg-type]


@pytest.mark.parametrize("fee", ["500", 5.0, True, 0, -100, 10_000_001])
def test_recharge_takes_whole_fen_within_bounds(cmp_: TinyCmp, cust: str, fee: Any) -> None:
    msisdn = active_card(cmp_, cust)
    assert err(cmp_, "card.recharge", cust_id=cust, msisdn=msisdn, fee=fee)["ret"] == 4001
    assert info(cmp_, cust, msisdn)["balance"] == 0


def test_bill1_underpaid_order_is_refused_and_creates_nothing(cmp_: TinyCmp, cust: str) -> None:
    answer = err(cmp_, "card.open", cust_id=cust, operator="CMCC", plan_id=plan_of(cmp_, "CMCC-M100"), pay=499)
    assert answer["ret"] == 4021
    assert cmp_.cards == {} and cmp_.records == {}


def test_plan3_another_customers_card_does_not_exist(cmp_: TinyCmp, cust: str) -> None:
    msisdn = active_card(cmp_, cust)
    other = ok(cmp_, "cust.create", name="Rival", type="PER")["cust_id"]
    foreign = err(cmp_, "card.stop", cust_id=other, msisdn=msisdn)
    missing = err(cmp_, "card.stop", cust_id=other, msisdn="1064800000099")
    assert foreign["ret"] == missing["ret"] == 4004
    assert info(cmp_, cust, msisdn)["status"] == "NORMAL"


def test_quota1_quota2_flow_stop_and_next_month_resume(cmp_: TinyCmp, cust: str) -> None:
    msisdn = active_card(cmp_, cust, pay=1000)  # 30 MB a month; 7 CNY left for the renewal
    got = ok(cmp_, "admin.inject_usage", msisdn=msisdn, kb=30 * 1024 - 1)
    assert got == {"used": 30 * 1024 - 1, "dropped": 0, "drop_cause": None, "status": "NORMAL", "stop_flags": []}
    got = ok(cmp_, "admin.inject_usage", msisdn=msisdn, kb=5)
    assert (got["used"], got["dropped"], got["drop_cause"], got["status"]) == (1, 4, "NO_FLOW", "STOP")
    ok(cmp_, "admin.set_time", ts=FEB_1 - 1)
    assert info(cmp_, cust, msisdn)["stop_flags"] == ["FLOW"]
    ok(cmp_, "admin.set_time", ts=FEB_1)
    card = info(cmp_, cust, msisdn)
    assert (card["status"], card["period_kb"], card["balance"], card["term_end"]) == \
        ("NORMAL", 0, 400, ts("2027-03-01T00:00:00+08:00"))


def test_life3_flags_stack_and_man1_refuses_a_stop_over_quota(cmp_: TinyCmp, cust: str) -> None:
    msisdn = active_card(cmp_, cust, stop_on_quota=0)  # balance 0: overage drives it into arrears
    ok(cmp_, "admin.inject_usage", msisdn=msisdn, kb=30 * 1024 + 1)  # one started MB past the quota: 0.29 CNY
    card = info(cmp_, cust, msisdn)
    assert (card["balance"], card["stop_flags"], card["status"]) == (-29, ["OWE"], "STOP")
    assert err(cmp_, "card.stop", cust_id=cust, msisdn=msisdn)["data"] == {"flags": ["OWE"]}
    ok(cmp_, "card.recharge", cust_id=cust, msisdn=msisdn, fee=29)
    ok(cmp_, "card.stop", cust_id=cust, msisdn=msisdn)
    ok(cmp_, "admin.set_time", ts=FEB_1)  # no money for the renewal: expires, pays the keep fee into arrears
    assert info(cmp_, cust, msisdn)["stop_flags"] == ["OWE", "EXPIRE", "USER"]
    ok(cmp_, "card.start", cust_id=cust, msisdn=msisdn)
    ok(cmp_, "card.recharge", cust_id=cust, msisdn=msisdn, fee=500)
    card = info(cmp_, cust, msisdn)
    assert (card["stop_flags"], card["status"]) == (["EXPIRE"], "KEEP")
    assert err(cmp_, "card.start", cust_id=cust, msisdn=msisdn)["ret"] == 4043


def test_plan1_plan_change_waits_for_the_next_month(cmp_: TinyCmp, cust: str) -> None:
    msisdn = active_card(cmp_, cust, pay=2000)
    bigger = plan_of(cmp_, "CMCC-M100")
    assert ok(cmp_, "plan.change", cust_id=cust, msisdn=msisdn, plan_id=bigger) == {"effect_time": FEB_1}
    ok(cmp_, "admin.set_time", ts=FEB_1 - 1)
    assert info(cmp_, cust, msisdn)["plan_id"] == plan_of(cmp_, "CMCC-M30")
    ok(cmp_, "admin.set_time", ts=FEB_1 + 3600)
    card = info(cmp_, cust, msisdn)
    assert (card["plan_id"], card["next_plan_id"], card["balance"]) == (bigger, None, 1700 - 500)
    assert err(cmp_, "plan.change", cust_id=cust, msisdn=msisdn, plan_id=bigger)["ret"] == 4031


def test_ret2_kept_number_is_cancelled_at_the_limit(cmp_: TinyCmp, cust: str) -> None:
    msisdn = active_card(cmp_, cust, pay=10000, auto_renew=0)
    ok(cmp_, "admin.set_time", ts=FEB_1)
    limit = info(cmp_, cust, msisdn)["keep_until"]
    assert limit == ts("2027-05-01T00:00:00+08:00")
    ok(cmp_, "admin.set_time", ts=limit - 1)
    assert info(cmp_, cust, msisdn)["status"] == "KEEP"
    ok(cmp_, "admin.set_time", ts=limit)
    card = info(cmp_, cust, msisdn)
    assert (card["status"], card["balance"]) == ("CANCELLED", 9700 - 3 * 500)
    assert err(cmp_, "card.renew", cust_id=cust, msisdn=msisdn)["ret"] == 4060


def test_clock_never_goes_back(cmp_: TinyCmp) -> None:
    assert err(cmp_, "admin.set_time", ts=JAN_10 - 1)["ret"] == 4081
    assert ok(cmp_, "admin.time") == {"now": JAN_10}


def test_beijing_months() -> None:
    assert add_months(ts("2027-01-31T10:00:00+08:00"), 1) == ts("2027-02-28T10:00:00+08:00")
    assert month_start(ts("2027-03-01T07:59:59+08:00")) == ts("2027-03-01T00:00:00+08:00")
    assert month_start(ts("2027-02-28T23:59:59+08:00")) == ts("2027-02-01T00:00:00+08:00")


# ---------------------------------------------------------------------------------------------- the adapter

def test_adapter_is_a_target_with_honest_capabilities() -> None:
    target = TinyCmpTarget()
    assert isinstance(target, Target)
    assert target.capabilities <= set(CAPABILITIES)
    assert target.carriers() == ["cmcc", "cucc", "ctcc"]


def test_registered_as_the_tinycmp_plugin() -> None:
    from carriersim.conformance.targets import plugin_names, resolve

    if "tinycmp" not in plugin_names():
        pytest.skip("the carriersim.targets entry points are not installed (pip install -e .)")
    assert isinstance(resolve("plugin:tinycmp"), TinyCmpTarget)


def test_units() -> None:
    assert fen("5") == fen(5) == 500 and fen("0.29") == 29
    with pytest.raises(Refused) as exc:
        fen("5.001")
    assert exc.value.code == "invalid_input"
    assert iso(ts("2027-02-01T00:00:00")) == "2027-02-01T00:00:00+08:00"  # naive times are carrier-local
    assert ts("2027-01-31T16:00:00+00:00") == FEB_1


def opened(target: TinyCmpTarget) -> tuple[str, str]:
    target.reset(start="2027-01-10T09:00:00+08:00", seed=1)
    account = target.create_account("Acme", kind="enterprise", verified=True, id_number=None)
    iccid = target.open_card(account, "cmcc", "CMCC-M100", payment="20")
    target.activate(account, iccid, "860000000000017")
    return account, iccid


def test_observations_have_the_native_shapes() -> None:
    target = TinyCmpTarget()
    account, iccid = opened(target)
    target.report_usage(iccid, kb=2048)
    target.change_plan(account, iccid, "CMCC-M30")
    card = target.card(account, iccid)
    jsonschema.validate(card, SCHEMAS["Card"])
    assert (card["state"], card["plan"], card["balance"], card["usage"]["cycle_mb"]) == \
        ("active", "CMCC-M100", "15.00", 2.0)
    assert card["pending_change"] == {"plan": "CMCC-M30", "effective_at": "2027-02-01T00:00:00+08:00"}
    for event in target.history(account, iccid):
        jsonschema.validate(event, SCHEMAS["Event"])
    ledger = target.ledger(account, iccid)
    for entry in ledger:
        jsonschema.validate(entry, SCHEMAS["LedgerEntry"])
    assert [(e["kind"], e["item"], e["amount"], e["balance"]) for e in ledger] == \
        [("payment", "payment", "20.00", "20.00"), ("charge", "CMCC-M100", "-5.00", "15.00")]
    for plan in target.plans("cucc"):
        jsonschema.validate(plan, SCHEMAS["Plan"])


def test_refusals_carry_the_stable_codes() -> None:
    target = TinyCmpTarget()
    account, iccid = opened(target)
    other = target.create_account("Rival", kind="personal", verified=True, id_number=None)
    cases = [
        (lambda: target.card(other, iccid), "card_not_found"),
        (lambda: target.card(account, "89860000000000000999"), "card_not_found"),
        (lambda: target.change_plan(account, iccid, "CMCC-A12G"), "insufficient_balance"),
        (lambda: target.change_plan(account, iccid, "CMCC-M100"), "plan_change_not_allowed"),
        (lambda: target.change_plan(account, iccid, "CUCC-M50"), "plan_not_found"),
        (lambda: target.withdraw_plan_change(account, iccid), "no_pending_change"),
        (lambda: target.resume(account, iccid), "not_manually_suspended"),
        (lambda: target.reactivate(account, iccid), "not_in_arrears"),
        (lambda: target.buy_addon(account, iccid, "CMCC-NOPE"), "addon_not_found"),
        (lambda: target.top_up(account, iccid, "-1"), "invalid_input"),
        (lambda: target.advance("2027-01-01T00:00:00+08:00"), "clock_backwards"),
        (lambda: target.certificate(account, iccid), "certificate_not_found"),
    ]
    for call, code in cases:
        with pytest.raises(Refused) as exc:
            call()
        assert exc.value.code == code
    assert target.card(account, iccid)["balance"] == "15.00"


def test_what_tinycmp_lacks_is_a_target_error_not_a_refusal() -> None:
    target = TinyCmpTarget()
    account, iccid = opened(target)
    with pytest.raises(TargetError, match="real_name"):
        perform(target, "verify_identity", account, {"iccid": iccid, "name": "Acme", "id_number": "X"})
    with pytest.raises(TargetError, match="testing_state"):
        target.open_card(account, "cmcc", "CMCC-M30", testing=True)


def test_profile_is_the_carriers_with_tinycmps_own_terms() -> None:
    profile = TinyCmpTarget().profile("ctcc")
    assert profile["retention"] == {"months": 6, "monthly_fee": "5.00"}
    assert profile["arrears"] == {"auto_resume": False}  # the carrier's rule, which TinyCMP does not follow
    assert [p["code"] for p in profile["plans"]][:2] == ["CTCC-M20", "CTCC-M300"]


# ---------------------------------------------------------------------------------------------- the library

@pytest.fixture(scope="module")
def library() -> list[Any]:
    scenarios = load_paths([LIBRARY]) if LIBRARY.is_dir() else []
    if not scenarios:
        pytest.skip("the scenario library is empty")
    return scenarios


@pytest.fixture(scope="module")
def outcomes(library: list[Any]) -> list[Any]:
    target = TinyCmpTarget()
    return [run(sc, carrier, target) for sc in library for carrier in sc.carriers]


def describe(outcome: Any) -> str:
    why = outcome.failure.render() if outcome.failure else outcome.reason
    return f"{outcome.id}: {outcome.status}\n{why}"


def test_library_passes_on_tinycmp_but_for_its_known_failures(outcomes: list[Any]) -> None:
    expectations = load_expectations(EXPECTATIONS)
    assert expectations.target == "tinycmp"
    wrong = [o for o in outcomes if o.status not in (PASSED, NOT_APPLICABLE) and expectations.known(o) is None]
    assert not wrong, "unexpected outcomes on TinyCMP:\n\n" + "\n\n".join(map(describe, wrong))
    assert any(o.status == PASSED for o in outcomes)


def test_every_known_failure_really_fails(outcomes: list[Any]) -> None:
    expectations = load_expectations(EXPECTATIONS)
    problems = []
    for known in expectations.known_failures:
        covered = [o for o in outcomes if known.covers(o)]
        if not covered:
            problems.append(f"{known.scenario} {list(known.carriers) or ''}: matches no scenario run")
        problems.extend(f"listed as a known failure but {describe(o)}" for o in covered if o.status != FAILED)
    assert not problems, "\n".join(problems)


class NothingTarget:
    """A target that has no capability at all, and must never be asked anything for a scenario needing one."""

    name = "nothing"
    capabilities: frozenset[str] = frozenset()

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the runner called {name} on a target lacking what the scenario needs")


def test_a_target_without_capabilities_is_not_applicable_never_failed(library: list[Any]) -> None:
    needy = [sc for sc in library if sc.needs]
    assert needy
    for sc in needy:
        for carrier in sc.carriers:
            outcome = run(sc, carrier, NothingTarget())  # type: ignore[arg-type]
            assert outcome.status == NOT_APPLICABLE, describe(outcome)
            assert outcome.reason.startswith("the target lacks ")
