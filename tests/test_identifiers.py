"""Tests for rule ID-1: identifier formats (ICCID, IMSI, MSISDN, IMEI) plus
the resident identity number and unified social credit code checks."""

from __future__ import annotations

import random

import pytest


from carriersim.simulator.identifiers import (  # noqa: E402
    CARRIER_MCC_MNC,
    county_codes,
    credit_code_problem,
    iccid_problem,
    imei_problem,
    imsi_problem,
    is_valid_iccid,
    is_valid_imei,
    luhn_check_digit,
    luhn_valid,
    make_credit_code,
    make_iccid,
    make_imei,
    make_imsi,
    make_msisdn,
    make_resident_id,
    msisdn_problem,
    resident_id_problem,
)


# ------------------------------------------------------------------ Luhn


def test_id1_luhn_known_numbers():
    assert luhn_valid("79927398713")
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_valid("490154203237518")
    assert luhn_check_digit("49015420323751") == "8"
    assert not luhn_valid("79927398710")
    assert not luhn_valid("abc")
    assert not luhn_valid("")


def test_id1_known_imei_valid():
    assert is_valid_imei("490154203237518")
    assert imei_problem("490154203237518") is None


# ----------------------------------------------------------------- ICCID


def test_id1_make_iccid_round_trip():
    for length in (19, 20):
        for serial in (0, 1, 123456, 10**8):
            iccid = make_iccid("898600", serial, length=length)
            assert len(iccid) == length
            assert iccid.startswith("898600")
            assert luhn_valid(iccid)
            assert iccid_problem(iccid) is None
            assert is_valid_iccid(iccid)


def test_id1_make_iccid_refuses_what_cannot_fit():
    with pytest.raises(ValueError):
        make_iccid("898600", 10**13)  # 14 digits, only 13 free
    with pytest.raises(ValueError):
        make_iccid("898600", 1, length=21)
    with pytest.raises(ValueError):
        make_iccid("123456", 1)
    with pytest.raises(ValueError):
        make_iccid("898600", -1)


def test_id1_iccid_check_digit_flip_detected_at_every_position():
    iccid = make_iccid("898600", 4242424242)
    for pos in range(len(iccid)):
        for d in "0123456789":
            if d == iccid[pos]:
                continue
            changed = iccid[:pos] + d + iccid[pos + 1 :]
            # Changing the leading "89" is reported as a prefix error;
            # anything else must fail the Luhn check.
            assert not is_valid_iccid(changed), (pos, d)


@pytest.mark.parametrize(
    "value, words",
    [
        (12345, ["string"]),
        ("8986001", ["length 7"]),
        ("89860012345678901234567", ["length 23"]),
        ("8986001234567890ABCD", ["digits"]),
        ("1234567890123456789" + "0", ["89"]),
    ],
)
def test_id1_iccid_problems(value, words):
    msg = iccid_problem(value)
    assert msg is not None
    for w in words:
        assert w in msg
    assert not is_valid_iccid(value)


def test_id1_iccid_wrong_check_digit_names_expected_digit():
    good = make_iccid("898600", 777)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    msg = iccid_problem(bad)
    assert msg is not None
    assert "check digit" in msg
    assert f"expected {good[-1]}" in msg


# ------------------------------------------------------------------ IMSI


def test_id1_imsi_round_trip_all_carriers():
    for prefixes in CARRIER_MCC_MNC.values():
        for p in prefixes:
            imsi = make_imsi(p, 12345)
            assert len(imsi) == 15 and imsi.startswith(p)
            assert imsi_problem(imsi) is None
            assert imsi_problem(imsi, prefixes) is None


def test_id1_imsi_problems():
    assert "length 5" in imsi_problem("46000")
    assert "digits" in imsi_problem("46000123456789X")
    assert "string" in imsi_problem(None)
    msg = imsi_problem("310150123456789")
    assert msg is not None and "MCC+MNC" in msg
    # Valid China Mobile IMSI refused when only China Telecom is allowed.
    msg = imsi_problem(make_imsi("46000", 1), CARRIER_MCC_MNC["ctcc"])
    assert msg is not None and "MCC+MNC" in msg
    with pytest.raises(ValueError):
        make_imsi("46000", 10**10)


# ---------------------------------------------------------------- MSISDN


def test_id1_msisdn_round_trip_and_problems():
    for prefix in ("1064", "1440"):
        m = make_msisdn(prefix, 987654321)
        assert len(m) == 13 and m.startswith(prefix)
        assert msisdn_problem(m) is None
    assert "length 11" in msisdn_problem("13800138000")
    assert "digits" in msisdn_problem("10640000000A1")
    assert "start with 1" in msisdn_problem("2064000000001")
    assert "string" in msisdn_problem(1064000000001)
    with pytest.raises(ValueError):
        make_msisdn("1064", 10**9)


# ------------------------------------------------------------------ IMEI


def test_id1_imei_round_trip_and_problems():
    for serial in (0, 1, 999999999999):
        imei = make_imei(serial)
        assert len(imei) == 15 and imei.startswith("86")
        assert is_valid_imei(imei)
    assert "length 14" in imei_problem("49015420323751")
    assert "digits" in imei_problem("49015420323751X")
    msg = imei_problem("490154203237519")
    assert msg is not None and "expected 8" in msg
    with pytest.raises(ValueError):
        make_imei(10**13)


# ----------------------------------------------------- Resident identity


def test_id1_resident_id_known_valid():
    assert resident_id_problem("11010519491231002X") is None
    # Constructed by hand: 110101 19900307 123, checksum computed independently.
    body = "11010119900307123"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
    assert resident_id_problem(body + check) is None


def test_id1_resident_id_problems():
    assert "length 17" in resident_id_problem("11010519491231002")
    assert "non-digits" in resident_id_problem("1101051949123100AX")
    assert "string" in resident_id_problem(None)
    msg = resident_id_problem("110105194912310021")
    assert msg is not None and "expected X" in msg


def test_id1_resident_id_bad_birth_date_refused():
    for bad_date in ("19490230", "19491301", "20230229"):
        body = "110105" + bad_date + "002"
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
        msg = resident_id_problem(body + check)
        assert msg is not None and "birth date" in msg


def test_id1_resident_id_generated_valid():
    rng = random.Random(1)
    for _ in range(200):
        rid = make_resident_id(rng)
        assert resident_id_problem(rid) is None, rid


# -------------------------------------------------- Unified social credit code


def test_id1_credit_code_known_valid():
    assert credit_code_problem("91350100M000100Y43") is None


def test_id1_credit_code_problems():
    assert "length 17" in credit_code_problem("91350100M000100Y4")
    assert "alphabet" in credit_code_problem("91350100M000100I43")  # I not allowed
    assert "string" in credit_code_problem(None)
    msg = credit_code_problem("91350100M000100Y44")
    assert msg is not None and "expected 3" in msg


def test_id1_credit_code_generated_valid():
    rng = random.Random(2)
    for _ in range(200):
        code = make_credit_code(rng)
        assert len(code) == 18
        assert credit_code_problem(code) is None, code


# ------------------------------------------- real validators as the oracle (python-stdnum)


def test_id1_generated_resident_ids_pass_stdnum_ric():
    """A platform that validates identities (region code, birth date at that region, check digit) with a real
    library accepts every generated resident id: python-stdnum's ``cn.ric`` is the oracle."""
    from stdnum.cn import ric

    rng = random.Random(2027)
    ids = [make_resident_id(rng) for _ in range(5000)]
    refused = [r for r in ids if not ric.is_valid(r)]
    assert refused == []
    assert len({r[:6] for r in ids}) > 1000  # real variety of counties, not one code repeated
    assert all(resident_id_problem(r) is None for r in ids)  # and our own server check still agrees


def test_id1_generated_credit_codes_pass_stdnum_uscc_and_carry_a_valid_organisation_code():
    from stdnum.cn import uscc

    rng = random.Random(2027)
    codes = [make_credit_code(rng) for _ in range(5000)]
    assert [c for c in codes if not uscc.is_valid(c)] == []
    assert all(credit_code_problem(c) is None for c in codes)
    counties = {code for code, _, _ in county_codes()}
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    for c in codes:
        assert c[2:8] in counties, c
        org = c[8:17]  # GB 11714: 8 characters and a mod-11 check character
        check = 11 - sum(int(ch, 36) * w for ch, w in zip(org[:8], weights)) % 11
        assert org[8] == {10: "X", 11: "0"}.get(check, str(check)), c


def test_id1_generated_identities_are_deterministic_for_a_seed():
    one, two = random.Random(5), random.Random(5)
    assert [make_resident_id(one) for _ in range(50)] == [make_resident_id(two) for _ in range(50)]
    assert [make_credit_code(one) for _ in range(50)] == [make_credit_code(two) for _ in range(50)]


def test_id1_county_codes_come_from_the_data_file_and_are_real_counties():
    from stdnum.cn import ric

    codes = county_codes()
    assert len(codes) > 4000 and codes == tuple(sorted(codes))
    for code, first, last in codes:
        assert len(code) == 6 and code[:2] in {str(n) for n in range(11, 66)} and 1950 <= first <= last <= 2005
        # a person born in the middle of the code's years, with the right check digit, is a valid id
        body = f"{code}{(first + last) // 2}0101001"
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8,
                                                                      4, 2))) % 11]
        assert ric.is_valid(body + check), code
