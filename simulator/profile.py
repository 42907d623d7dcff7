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

from .calendars import cn_year
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


def _validate(data: Any, source: str) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return
    where = _field_path(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        raise ProfileError(source, f"{where}.{missing}" if error.absolute_path else missing,
                           "is missing; every profile must set it (see profile.schema.json)")
    if error.validator == "additionalProperties":
        raise ProfileError(source, where, f"{error.message} (misspelt? see profile.schema.json for the fields)")
    expected = error.schema.get("description") or error.schema.get("pattern") or error.schema.get("enum") \
        or error.schema.get("type")
    raise ProfileError(source, where, f"{error.message} (expected {expected})")


def _dates(values: list[Any], source: str, where: str) -> list[date]:
    out = []
    for i, v in enumerate(values):
        try:
            out.append(v if isinstance(v, date) else date.fromisoformat(str(v)))
        except ValueError:
            raise ProfileError(source, f"{where}[{i}]", f"{v!r} is not a date like 2027-10-01") from None
    return out


def parse_profile(data: Any, source: str = "<profile>") -> CarrierProfile:
    """Validate a profile already loaded from YAML and build the typed profile."""
    # YAML turns unquoted dates into date objects; the schema wants strings.
    if isinstance(data, dict) and isinstance(data.get("calendar"), dict):
        cal = data["calendar"]
        for key in ("holidays", "working_weekends"):
            if isinstance(cal.get(key), list):
                cal[key] = [v.isoformat() if isinstance(v, date) else v for v in cal[key]]
    _validate(data, source)
    carrier = data["id"]
    try:
        tz = ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ProfileError(source, "timezone", f"{data['timezone']!r} is not an IANA time zone such as Asia/Shanghai") \
            from None
    known = region_codes()
    for i, code in enumerate(data["restricted_regions"]):
        if code not in known:
            raise ProfileError(source, f"restricted_regions[{i}]", f"{code!r} is not a known region code "
                               f"(ISO 3166-2:CN, e.g. CN-XJ)")
    plans: dict[str, Plan] = {}
    for i, p in enumerate(data["plans"]):
        if p["code"] in plans:
            raise ProfileError(source, f"plans[{i}].code", f"{p['code']!r} is used twice; plan codes are unique")
        plans[p["code"]] = Plan(p["code"], p["name"], carrier, p["term"], TERM_MONTHS[p["term"]],
                                p["quota_mb"] * KB_PER_MB, p["quota_scope"], to_fen(p["price"]),
                                to_fen(p["overage_per_mb"]))
    addons: dict[str, AddOn] = {}
    for i, a in enumerate(data["addons"]):
        if a["code"] in addons or a["code"] in plans:
            raise ProfileError(source, f"addons[{i}].code", f"{a['code']!r} is used twice; codes are unique")
        addons[a["code"]] = AddOn(a["code"], a["name"], carrier, a["quota_mb"] * KB_PER_MB, to_fen(a["price"]))
    cal = data["calendar"]
    # 'cn': the Chinese public-holiday calendar, read a year at a time (shipped years, then the holidays package)
    by_year = cn_year if cal.get("holidays") == "cn" else None
    holidays = () if by_year else tuple(_dates(cal.get("holidays", []), source, "calendar.holidays"))
    working = tuple(_dates(cal.get("working_weekends", []), source, "calendar.working_weekends"))
    c = data["cancellation"]
    return CarrierProfile(
        id=carrier, name=data["name"], timezone=data["timezone"], tz=tz,
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
        calendar=WorkCalendar.from_names(cal["weekend"], list(holidays), list(working), by_year),
        plans=plans, addons=addons, source=source, raw=data,
    )


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
