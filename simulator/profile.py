"""Carrier profiles: a carrier is data, not code (RULES.md CAR-1, CAR-2).

Profiles are YAML files validated against ``profiles/profile.schema.json`` and then checked for what a schema cannot
say (a real time zone, unique plan codes, known region codes). A bad profile is refused with the file, the field and
what was expected, so a user writing their own carrier finds the mistake without reading our code. The three national
carriers ship with the package (CAR-1); any other carrier is one more file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema
import yaml

from .errors import ProfileError
from .money import to_fen
from .timeutil import WorkCalendar

BUILTIN_CARRIERS = ("cmcc", "cucc", "ctcc")
TERM_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
KB_PER_MB = 1024


@dataclass(frozen=True, slots=True)
class Plan:
    """A package of the catalogue (BILL-3): monthly, quarterly or annual, quota per month or per whole term."""

    code: str
    name: str
    carrier: str
    term: str
    term_months: int
    quota_kb: int
    quota_scope: str  # "month" | "term"
    price: int  # fen per term
    overage_per_mb: int  # fen (QUOTA-5)

    @property
    def quota_mb(self) -> int:
        return self.quota_kb // KB_PER_MB


@dataclass(frozen=True, slots=True)
class AddOn:
    """An add-on pack (加油包, QUOTA-3): extra quota for the current cycle."""

    code: str
    name: str
    carrier: str
    quota_kb: int
    price: int


@dataclass(frozen=True, slots=True)
class CancellationTerms:
    """CAN-2, CAN-3, CAN-4, CAN-5 parameters."""

    review_working_days: int
    batch_threshold: int
    batch_review_working_days: int
    manual_review_working_days: int
    high_risk_device_changes: int
    reject_device_changes: int
    refund_window_days: int
    unused_cancel_months: int | None


@dataclass(frozen=True)
class CarrierProfile:
    id: str
    name: str
    timezone: str
    tz: ZoneInfo
    billing_cycle_day: int
    iccid_prefixes: tuple[str, ...]
    imsi_prefixes: tuple[str, ...]
    msisdn_prefixes: tuple[str, ...]
    retention_months: int
    retention_fee: int
    arrears_auto_resume: bool
    kyc_grace_days: int
    restricted_regions: frozenset[str]
    device_binding: bool
    test_quota_kb: int
    alert_thresholds: tuple[int, ...]
    cancellation: CancellationTerms
    refund_unused_months: bool
    refund_wrong_topup: bool
    calendar: WorkCalendar
    plans: dict[str, Plan]
    addons: dict[str, AddOn]
    source: str
    raw: dict[str, Any] = field(repr=False)
    maintenance_refuse_reads: bool = True  # MAINT-1: reads answer 503 too during a window (profile maintenance)

    def plan(self, code: str) -> Plan | None:
        return self.plans.get(code)


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("carriersim.simulator.profiles").joinpath("profile.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def region_codes() -> dict[str, dict[str, str]]:
    """Known provincial-level region codes (ISO 3166-2:CN) → {name, zh}."""
    text = resources.files("carriersim.simulator.data").joinpath("regions.yaml").read_text("utf-8")
    return {r["code"]: r for r in yaml.safe_load(text)["regions"]}


def _field_path(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(field, problem) of one schema error, in words a profile author understands."""
    error = jsonschema.exceptions.best_match([error])  # the most telling alternative of a oneOf
    where = _field_path(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return (f"{where}.{missing}" if error.absolute_path else missing,
                "is missing; every profile must set it (see profile.schema.json)")
    if error.validator == "additionalProperties":
        return where, f"{error.message} (misspelt? see profile.schema.json for the fields)"
    expected = error.schema.get("description") or error.schema.get("pattern") or error.schema.get("enum") \
        or error.schema.get("type")
    return where, f"{error.message} (expected {expected})"


def _schema_problems(data: Any) -> list[tuple[str, str]]:
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(e) for e in errors]


def _date_problems(values: Any, where: str) -> list[tuple[str, str]]:
    out = []
    for i, v in enumerate(values if isinstance(values, list) else []):
        try:
            v if isinstance(v, date) else date.fromisoformat(str(v))
        except ValueError:
            out.append((f"{where}[{i}]", f"{v!r} is not a date like 2027-10-01"))
    return out


def _dates(values: list[Any]) -> list[date]:
    return [v if isinstance(v, date) else date.fromisoformat(str(v)) for v in values]


# What a schema cannot say. Each check reads fields the schema has already checked the shape of; a check whose
# input is malformed is skipped (the schema's message for that field says what is wrong).

def _check_timezone(d: dict) -> list[tuple[str, str]]:
    try:
        ZoneInfo(d["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        return [("timezone", f"{d['timezone']!r} is not an IANA time zone such as Asia/Shanghai")]
    return []


def _check_regions(d: dict) -> list[tuple[str, str]]:
    known = region_codes()
    return [(f"restricted_regions[{i}]", f"{code!r} is not a known region code (ISO 3166-2:CN, e.g. CN-XJ)")
            for i, code in enumerate(d["restricted_regions"]) if code not in known]


def _check_codes(d: dict) -> list[tuple[str, str]]:
    out, plans, addons = [], set(), set()
    for i, plan in enumerate(d["plans"]):
        if plan["code"] in plans:
            out.append((f"plans[{i}].code", f"{plan['code']!r} is used twice; plan codes are unique"))
        plans.add(plan["code"])
    for i, addon in enumerate(d["addons"]):
        if addon["code"] in addons or addon["code"] in plans:
            out.append((f"addons[{i}].code", f"{addon['code']!r} is used twice; codes are unique"))
        addons.add(addon["code"])
    return out


def _check_identifiers(d: dict) -> list[tuple[str, str]]:
    # ID-1: an IoT MSISDN starts with 1; a range that does not would make numbers our own API refuses
    return [(f"identifiers.msisdn_prefixes[{i}]", f"{prefix!r} must start with 1 (IoT numbers are 1064…, 1440…)")
            for i, prefix in enumerate(d["identifiers"]["msisdn_prefixes"]) if not prefix.startswith("1")]


def _check_cancellation(d: dict) -> list[tuple[str, str]]:
    c, out = d["cancellation"], []
    if c["reject_device_changes"] < c["high_risk_device_changes"]:
        # CAN-3: only a high-risk card reaches the manual review that may reject it
        out.append(("cancellation.reject_device_changes",
                    f"{c['reject_device_changes']} is below high_risk_device_changes "
                    f"({c['high_risk_device_changes']}): only a card sent to manual review can be rejected, so the "
                    "reject threshold must be at least the high-risk threshold"))
    if c["manual_review_working_days"] < c["review_working_days"]:
        out.append(("cancellation.manual_review_working_days",
                    f"{c['manual_review_working_days']} is shorter than review_working_days "
                    f"({c['review_working_days']}): the manual review of a high-risk card takes longer (CAN-3)"))
    if c["batch_review_working_days"] > c["review_working_days"]:
        out.append(("cancellation.batch_review_working_days",
                    f"{c['batch_review_working_days']} is longer than review_working_days "
                    f"({c['review_working_days']}): a large batch completes sooner, not later (CAN-2)"))
    return out


def _check_calendar(d: dict) -> list[tuple[str, str]]:
    cal, out = d["calendar"], []
    weekend = {_WEEKDAY_NUMBERS[w] for w in cal["weekend"]}
    if len(weekend) == 7:
        out.append(("calendar.weekend", "lists all seven days: no day would ever be a working day, so no "
                    "cancellation review could end"))
    out += _date_problems(cal.get("working_weekends", []), "calendar.working_weekends")
    if cal.get("holidays") != "cn":
        out += _date_problems(cal.get("holidays", []), "calendar.holidays")
    if out:
        return out
    holidays = set(_dates(cal["holidays"])) if isinstance(cal.get("holidays"), list) else set()
    for i, day in enumerate(_dates(cal.get("working_weekends", []))):
        if day.weekday() not in weekend:
            out.append((f"calendar.working_weekends[{i}]", f"{day} is a {day:%A}, not a weekend day: a make-up "
                        "working day is a weekend day declared working"))
        elif day in holidays:
            out.append((f"calendar.working_weekends[{i}]", f"{day} is also listed in calendar.holidays"))
    return out


_WEEKDAY_NUMBERS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_CHECKS = (_check_timezone, _check_regions, _check_codes, _check_identifiers, _check_cancellation, _check_calendar)


def profile_problems(data: Any) -> list[tuple[str, str]]:
    """Every problem of a profile loaded from YAML, as (field, what is wrong and what was expected): the schema's,
    then the checks a schema cannot express (a real time zone, known regions, unique codes, thresholds that agree
    with each other). All of them at once, so an author fixes a file in one go."""
    _dates_to_text(data)
    problems = _schema_problems(data)
    if not isinstance(data, dict):
        return problems
    for check in _CHECKS:
        try:
            problems += check(data)
        except (KeyError, TypeError, AttributeError, ValueError):
            continue  # malformed input: the schema has said so
    return problems


def _dates_to_text(data: Any) -> None:
    """YAML turns unquoted dates into date objects; the schema wants strings."""
    if isinstance(data, dict) and isinstance(data.get("calendar"), dict):
        cal = data["calendar"]
        for key in ("holidays", "working_weekends"):
            if isinstance(cal.get(key), list):
                cal[key] = [v.isoformat() if isinstance(v, date) else v for v in cal[key]]


def parse_profile(data: Any, source: str = "<profile>") -> CarrierProfile:
    """Validate a profile already loaded from YAML and build the typed profile; a bad profile raises one
    ProfileError carrying every problem."""
    problems = profile_problems(data)
    if problems:
        raise ProfileError(source, *problems[0], problems=problems)
    carrier = data["id"]
    plans = {p["code"]: Plan(p["code"], p["name"], carrier, p["term"], TERM_MONTHS[p["term"]],
                             p["quota_mb"] * KB_PER_MB, p["quota_scope"], to_fen(p["price"]),
                             to_fen(p["overage_per_mb"])) for p in data["plans"]}
    addons = {a["code"]: AddOn(a["code"], a["name"], carrier, a["quota_mb"] * KB_PER_MB, to_fen(a["price"]))
              for a in data["addons"]}
    cal = data["calendar"]
    # 'cn': the Chinese public-holiday calendar, read a year at a time (shipped years, then the holidays package)
    published = "cn" if cal.get("holidays") == "cn" else None
    holidays = () if published else tuple(_dates(cal.get("holidays", [])))
    working = tuple(_dates(cal.get("working_weekends", [])))
    c = data["cancellation"]
    return CarrierProfile(
        id=carrier, name=data["name"], timezone=data["timezone"], tz=ZoneInfo(data["timezone"]),
        billing_cycle_day=data["billing_cycle_day"],
        iccid_prefixes=tuple(data["identifiers"]["iccid_prefixes"]),
        imsi_prefixes=tuple(data["identifiers"]["imsi_prefixes"]),
        msisdn_prefixes=tuple(data["identifiers"]["msisdn_prefixes"]),
        retention_months=data["retention"]["months"], retention_fee=to_fen(data["retention"]["monthly_fee"]),
        arrears_auto_resume=data["arrears"]["auto_resume"], kyc_grace_days=data["real_name"]["grace_days"],
        restricted_regions=frozenset(data["restricted_regions"]), device_binding=data["device_binding"],
        test_quota_kb=data.get("testing", {}).get("quota_mb", 10) * KB_PER_MB,
        alert_thresholds=tuple(sorted(data["alerts"]["thresholds"])),
        cancellation=CancellationTerms(**c),
        refund_unused_months=data["refunds"]["unused_months"], refund_wrong_topup=data["refunds"]["wrong_topup"],
        calendar=WorkCalendar.from_names(cal["weekend"], list(holidays), list(working), published),
        plans=plans, addons=addons, source=source, raw=data,
        maintenance_refuse_reads=data.get("maintenance", {}).get("refuse_reads", True),
    )


def carrier_exists_message(carrier: str, loaded_from: str) -> str:
    """The refusal of a second carrier with an id already loaded — the same words from ``Simulation`` (``serve``,
    ``demo``) and from ``carriersim profiles --validate``."""
    if carrier in BUILTIN_CARRIERS:
        why = f"{carrier!r} is the id of a shipped carrier ({loaded_from})"
    else:
        why = f"a carrier with this id is already loaded from {loaded_from}"
    return f"Carrier {carrier!r} is already loaded: {why}; give the profile another id."


def load_profile(path: str | Path) -> CarrierProfile:
    """Load a user's profile file (YAML), refusing it with file, field and expectation when it is wrong."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ProfileError(str(path), "(file)", f"cannot be read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise ProfileError(str(path), where, f"is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ProfileError(str(path), "(top level)", "must be a mapping of profile fields")
    return parse_profile(data, str(path))


@lru_cache(maxsize=None)
def builtin_profile(carrier: str) -> CarrierProfile:
    """One of the shipped profiles (``cmcc``, ``cucc``, ``ctcc``)."""
    if carrier not in BUILTIN_CARRIERS:
        raise KeyError(carrier)
    ref = resources.files("carriersim.simulator.profiles").joinpath(f"{carrier}.yaml")
    data = yaml.safe_load(ref.read_text("utf-8"))
    return parse_profile(data, f"simulator/profiles/{carrier}.yaml")


def builtin_profiles() -> list[CarrierProfile]:
    return [builtin_profile(c) for c in BUILTIN_CARRIERS]
