"""Identifier formats for simulated SIM fleets and customers (rule ID-1).

Rule ID-1 of the rule catalogue says: ICCIDs are 19-20 digits starting ``89``
(``8986`` for China) with a Luhn check digit; IMSIs start with the carrier's
MCC+MNC; IoT MSISDNs are 13 digits (e.g. ``1064...``, ``1440...``); IMEIs are
15 digits with a Luhn check digit.  Generated fleets use these forms.

Why it matters: real carrier portals and billing systems reject identifiers
that fail these structural checks, so a simulator that hands out free-form
strings would let client code pass tests against us and then fail against a
real carrier.  Everything generated here is valid by construction, and the
``*_problem`` functions explain in plain words why a given value is refused,
so the simulated APIs can return the same kind of error a carrier would.

The module also covers the two identifiers used for real-name registration of
customers: the Chinese resident identity number (GB 11643-1999) and the
unified social credit code for organisations (GB 32100-2015).

Standard library only. The region codes generated identifiers carry are real county codes, read from
``data/cn_counties.tsv`` (data, not code), so a platform that checks the birthplace of a resident id accepts them.
"""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CARRIER_MCC_MNC",
    "luhn_check_digit",
    "luhn_check_digits",
    "luhn_valid",
    "make_iccid",
    "iccid_problem",
    "is_valid_iccid",
    "make_imsi",
    "imsi_problem",
    "make_msisdn",
    "msisdn_problem",
    "make_imei",
    "imei_problem",
    "is_valid_imei",
    "make_resident_id",
    "resident_id_problem",
    "make_credit_code",
    "credit_code_problem",
    "county_codes",
]

#: Reference MCC+MNC codes per Chinese carrier (ID-1).  Carrier profiles may
#: carry their own ranges; this is the default reference data.
CARRIER_MCC_MNC: dict[str, tuple[str, ...]] = {
    "cmcc": ("46000", "46002", "46004", "46007", "46008"),
    "cucc": ("46001", "46006", "46009"),
    "ctcc": ("46003", "46005", "46011"),
}

ALL_MCC_MNC: tuple[str, ...] = tuple(p for v in CARRIER_MCC_MNC.values() for p in v)

IMSI_LENGTH = 15
MSISDN_LENGTH = 13
IMEI_LENGTH = 15
ICCID_LENGTHS = (19, 20)


# --------------------------------------------------------------------- Luhn


def _luhn_sum(digits: str, double_first: bool) -> int:
    """Luhn sum of ``digits`` read right to left; ``double_first`` says
    whether the rightmost digit is doubled."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if (i % 2 == 0) == double_first:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total


def luhn_check_digit(payload: str) -> str:
    """Return the Luhn check digit to append to the all-digit ``payload``."""
    if not payload.isdigit() or not payload.isascii():
        raise ValueError(f"Luhn payload must be digits, got {payload!r}")
    return str((10 - _luhn_sum(payload, double_first=True) % 10) % 10)


def luhn_check_digits(prefix: str, serials: Sequence[int] | "np.ndarray", width: int) -> list[str]:
    """``luhn_check_digit(prefix + str(serial).zfill(width))`` for many serials at once (numpy): a fleet's
    ICCIDs and IMEIs."""
    import numpy as np

    if prefix:
        _check_prefix(prefix, "Luhn")
    s = np.asarray(serials, dtype=np.int64)
    total = np.full(len(s), _luhn_sum(prefix + "0" * width, double_first=True), dtype=np.int64)
    for i in range(width):  # position i from the right: doubled when even (the check digit goes to its right)
        d = (s // 10 ** i) % 10
        if i % 2 == 0:
            d = np.where(d * 2 > 9, d * 2 - 9, d * 2)
        total += d
    return [str(c) for c in ((10 - total % 10) % 10).tolist()]


def luhn_valid(number: str) -> bool:
    """True if the all-digit ``number`` ends in a correct Luhn check digit."""
    if not isinstance(number, str) or len(number) < 2:
        return False
    if not (number.isascii() and number.isdigit()):
        return False
    return _luhn_sum(number, double_first=False) % 10 == 0


def _digits_problem(value: object, what: str, lengths: tuple[int, ...]) -> str | None:
    """Common checks: is a string, has an allowed length, is all digits."""
    if not isinstance(value, str):
        return f"{what} must be a string, got {type(value).__name__}."
    if len(value) not in lengths:
        want = " or ".join(str(n) for n in lengths)
        return f"{what} must be {want} digits long, but {value!r} has length {len(value)}."
    if not (value.isascii() and value.isdigit()):
        return f"{what} must contain only digits 0-9, but {value!r} has non-digits."
    return None


def _luhn_problem(value: str, what: str) -> str | None:
    expected = luhn_check_digit(value[:-1])
    if value[-1] != expected:
        return (
            f"{what} {value!r} has a wrong Luhn check digit: "
            f"expected {expected}, found {value[-1]}."
        )
    return None


def _serial_digits(serial: int, width: int, what: str) -> str:
    if serial < 0:
        raise ValueError(f"{what} serial must be non-negative, got {serial}")
    if width < 0 or len(str(serial)) > width:
        raise ValueError(f"{what} serial {serial} does not fit in {max(width, 0)} digits")
    return str(serial).zfill(width)


def _check_prefix(prefix: str, what: str) -> None:
    if not (prefix.isascii() and prefix.isdigit()):
        raise ValueError(f"{what} prefix must be digits, got {prefix!r}")


# -------------------------------------------------------------------- ICCID


def make_iccid(prefix: str, serial: int, length: int = 20) -> str:
    """Build an ICCID: ``prefix`` digits (e.g. ``"898600"``), the zero-padded
    ``serial``, then a Luhn check digit, ``length`` digits in total (19 or 20).

    Raises ValueError if the prefix is not ``89...``, the length is not 19/20,
    or the serial does not fit between prefix and check digit.
    """
    _check_prefix(prefix, "ICCID")
    if length not in ICCID_LENGTHS:
        raise ValueError(f"ICCID length must be 19 or 20, got {length}")
    if not prefix.startswith("89"):
        raise ValueError(f"ICCID prefix must start with 89, got {prefix!r}")
    payload = prefix + _serial_digits(serial, length - 1 - len(prefix), "ICCID")
    return payload + luhn_check_digit(payload)


def iccid_problem(value: object) -> str | None:
    """None if ``value`` is a valid ICCID per ID-1, else a sentence saying why not."""
    problem = _digits_problem(value, "ICCID", ICCID_LENGTHS)
    if problem:
        return problem
    assert isinstance(value, str)
    if not value.startswith("89"):
        return f"ICCID {value!r} must start with 89 (telecom industry identifier)."
    return _luhn_problem(value, "ICCID")


def is_valid_iccid(value: object) -> bool:
    """True if ``value`` is a valid ICCID per ID-1."""
    return iccid_problem(value) is None


# --------------------------------------------------------------------- IMSI


def make_imsi(mcc_mnc: str, serial: int) -> str:
    """Build a 15-digit IMSI: the carrier's MCC+MNC then the zero-padded serial (MSIN)."""
    _check_prefix(mcc_mnc, "IMSI")
    if len(mcc_mnc) not in (5, 6):
        raise ValueError(f"MCC+MNC must be 5 or 6 digits, got {mcc_mnc!r}")
    return mcc_mnc + _serial_digits(serial, IMSI_LENGTH - len(mcc_mnc), "IMSI")


def imsi_problem(value: object, allowed_prefixes: Iterable[str] | None = None) -> str | None:
    """None if ``value`` is a valid 15-digit IMSI starting with one of
    ``allowed_prefixes`` (default: every Chinese carrier's MCC+MNC in
    :data:`CARRIER_MCC_MNC`), else a sentence saying why not."""
    problem = _digits_problem(value, "IMSI", (IMSI_LENGTH,))
    if problem:
        return problem
    assert isinstance(value, str)
    prefixes = tuple(allowed_prefixes) if allowed_prefixes is not None else ALL_MCC_MNC
    if not value.startswith(prefixes):
        return (
            f"IMSI {value!r} does not start with an allowed MCC+MNC "
            f"({', '.join(prefixes) or 'none allowed'})."
        )
    return None


# ------------------------------------------------------------------- MSISDN


def make_msisdn(prefix: str, serial: int) -> str:
    """Build a 13-digit IoT MSISDN: ``prefix`` (e.g. ``"1064"``) then the zero-padded serial."""
    _check_prefix(prefix, "MSISDN")
    return prefix + _serial_digits(serial, MSISDN_LENGTH - len(prefix), "MSISDN")


def msisdn_problem(value: object) -> str | None:
    """None if ``value`` is a 13-digit IoT MSISDN starting with 1, else a sentence saying why not."""
    problem = _digits_problem(value, "IoT MSISDN", (MSISDN_LENGTH,))
    if problem:
        return problem
    assert isinstance(value, str)
    if not value.startswith("1"):
        return f"IoT MSISDN {value!r} must start with 1 (e.g. 1064..., 1440...)."
    return None


# --------------------------------------------------------------------- IMEI


def make_imei(serial: int, tac: str = "86") -> str:
    """Build a 15-digit IMEI: ``tac`` prefix, zero-padded ``serial``, Luhn check digit."""
    _check_prefix(tac, "IMEI")
    payload = tac + _serial_digits(serial, IMEI_LENGTH - 1 - len(tac), "IMEI")
    return payload + luhn_check_digit(payload)


def imei_problem(value: object) -> str | None:
    """None if ``value`` is a valid 15-digit IMEI with Luhn check digit, else why not."""
    problem = _digits_problem(value, "IMEI", (IMEI_LENGTH,))
    if problem:
        return problem
    assert isinstance(value, str)
    return _luhn_problem(value, "IMEI")


def is_valid_imei(value: object) -> bool:
    """True if ``value`` is a valid IMEI per ID-1."""
    return imei_problem(value) is None


# ------------------------------------------- Resident identity (GB 11643-1999)

_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK_MAP = "10X98765432"


def _resident_id_check(body17: str) -> str:
    return _RID_CHECK_MAP[sum(int(c) * w for c, w in zip(body17, _RID_WEIGHTS)) % 11]


def resident_id_problem(value: object) -> str | None:
    """None if ``value`` is a valid 18-character resident identity number
    (GB 11643-1999: 17 digits, a real birth date at positions 7-14, and a
    check character 0-9 or X), else a sentence saying why not."""
    if not isinstance(value, str):
        return f"Resident ID must be a string, got {type(value).__name__}."
    if len(value) != 18:
        return f"Resident ID must be 18 characters long, but {value!r} has length {len(value)}."
    body, check = value[:17], value[17].upper()
    if not (body.isascii() and body.isdigit()) or check not in "0123456789X":
        return (
            f"Resident ID {value!r} must be 17 digits followed by a digit or X "
            "(it has non-digits)."
        )
    birth = body[6:14]
    try:
        _dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        return f"Resident ID {value!r} has an invalid birth date {birth} (not a real date)."
    expected = _resident_id_check(body)
    if check != expected:
        return (
            f"Resident ID {value!r} has a wrong check character: "
            f"expected {expected}, found {value[17]}."
        )
    return None


_BIRTH_FIRST, _BIRTH_LAST = _dt.date(1950, 1, 1), _dt.date(2005, 12, 31)


@lru_cache(maxsize=1)
def county_codes() -> tuple[tuple[str, int, int], ...]:
    """The county codes (GB/T 2260) of ``data/cn_counties.tsv`` as (code, first year, last year) in use, the years
    clipped to the birth years :func:`make_resident_id` draws. Sorted by code, so a seed always picks the same."""
    text = resources.files("carriersim.simulator.data").joinpath("cn_counties.tsv").read_text("utf-8")
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        code, _name, since, until = line.split("\t")
        first = max(int(since) if since else _BIRTH_FIRST.year, _BIRTH_FIRST.year)
        last = min(int(until) if until else _BIRTH_LAST.year, _BIRTH_LAST.year)
        if first <= last:
            out.append((code, first, last))
    return tuple(sorted(out))


def make_resident_id(rng: random.Random) -> str:
    """Generate a valid resident identity number: a real county code (positions 1-6), a birth date between 1950
    and 2005 in a year the county code was in use (validators such as python-stdnum's ``cn.ric`` check both), a
    sequence code and the correct check character."""
    region, first, last = rng.choice(county_codes())
    start = max(_BIRTH_FIRST, _dt.date(first, 1, 1))
    end = min(_BIRTH_LAST, _dt.date(last, 12, 31))
    birth = start + _dt.timedelta(days=rng.randrange((end - start).days + 1))
    body = f"{region}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + _resident_id_check(body)


# ----------------------------------------- Unified social credit code (GB 32100-2015)

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _credit_code_check(body17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(value: object) -> str | None:
    """None if ``value`` is a valid 18-character unified social credit code
    (GB 32100-2015), else a sentence saying why not."""
    if not isinstance(value, str):
        return f"Credit code must be a string, got {type(value).__name__}."
    if len(value) != 18:
        return f"Credit code must be 18 characters long, but {value!r} has length {len(value)}."
    bad = sorted({c for c in value if c not in _USCC_ALPHABET})
    if bad:
        return (
            f"Credit code {value!r} has characters outside the allowed alphabet "
            f"(digits and upper-case letters except I, O, Z, S, V): {''.join(bad)}."
        )
    expected = _credit_code_check(value[:17])
    if value[17] != expected:
        return (
            f"Credit code {value!r} has a wrong check character: "
            f"expected {expected}, found {value[17]}."
        )
    return None


_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_check(body8: str) -> str:
    """GB 11714 check character of an organisation code's 8 body characters (digits and letters A=10 … Z=35)."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_credit_code(rng: random.Random) -> str:
    """Generate a valid unified social credit code: registration authority ``9`` (industry & commerce), type ``1``
    (enterprise), the real county code of the registering office, a 9-character organisation code (8 digits and
    its own GB 11714 check character, which stricter validators check too), and the check character."""
    region = rng.choice(county_codes())[0]
    org = f"{rng.randrange(10**8):08d}"
    body = "91" + region + org + _org_code_check(org)
    return body + _credit_code_check(body)
