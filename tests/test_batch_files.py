"""Tests for rule BATCH-1, file side: batch templates are read row by row and a
bad row gets its own problem without spoiling the good rows."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from conftest import wrong_check_digit, xlsx_from_template

from carriersim.simulator.batch_files import (  # noqa: E402
    MAX_ROWS,
    OPERATIONS,
    BatchFileError,
    BatchRow,
    read_batch,
    write_template,
)
from carriersim.simulator.identifiers import make_iccid  # noqa: E402

A, B, C = (make_iccid("898600", n) for n in (1, 2, 3))


def luhn_digit(payload: str) -> str:
    """Independent Luhn check digit, so the tests do not only trust the module under test."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def test_luhn_helper_agrees_with_make_iccid() -> None:
    assert A[-1] == luhn_digit(A[:-1])
    assert len(A) == 20 and A.startswith("898600")


# ------------------------------------------------------------------ templates


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_csv_template_has_header_only(operation: str) -> None:
    data = write_template(operation)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM so Excel opens it as UTF-8
    lines = data.decode("utf-8-sig").splitlines()
    assert lines == [",".join(["iccid"] + [c.name for c in OPERATIONS[operation]])]


def test_csv_round_trip_from_template() -> None:
    data = write_template("top_up") + csv_bytes(f"{A},10\n{B},0.5\n")
    rows = read_batch(data, "batch.csv", "top_up")
    assert rows == [
        BatchRow(2, A, {"amount": Decimal("10.00")}, None),
        BatchRow(3, B, {"amount": Decimal("0.50")}, None),
    ]


def test_xlsx_template_styles() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(write_template("change_plan", "xlsx")))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == ["iccid", "plan"]
    assert ws["A1"].font.b
    assert ws.column_dimensions["A"].number_format == "@"
    assert ws.column_dimensions["A"].width and ws.column_dimensions["A"].width >= 20
    assert ws.max_row == 1


def test_xlsx_round_trip_from_template() -> None:
    data = xlsx_from_template("change_plan", [[A, "P100"], [B, " 001 "]])
    rows = read_batch(data, "Batch.XLSX", "change_plan")
    assert [(r.row, r.iccid, r.args, r.problem) for r in rows] == [
        (2, A, {"plan": "P100"}, None),
        (3, B, {"plan": "001"}, None),
    ]


def test_unknown_template_format() -> None:
    with pytest.raises(BatchFileError, match="xlsx"):
        write_template("suspend", "ods")


# -------------------------------------------------------------- encodings


def test_utf8_bom_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + csv_bytes(f"ICCID\n{A}\n")
    assert [r.iccid for r in read_batch(data, "x.csv", "suspend")] == [A]


def test_gbk_with_chinese_headers() -> None:
    data = csv_bytes(f"卡号,套餐,备注\n{A},基础包,第一张\n", "gbk")
    rows = read_batch(data, "x.csv", "change_plan")
    assert rows == [BatchRow(2, A, {"plan": "基础包"}, None)]


@pytest.mark.parametrize(
    ("header", "operation", "arg", "value", "expected"),
    [
        ("ICCID,金额", "top_up", "amount", "12.30", Decimal("12.30")),
        ("卡号,IMEI", "activate", "imei", "860000000000001", "860000000000001"),
        (" Iccid , PLAN ", "change_plan", "plan", "P1", "P1"),
    ],
)
def test_header_aliases_and_case(
    header: str, operation: str, arg: str, value: str, expected: object
) -> None:
    rows = read_batch(csv_bytes(f"{header}\n{A},{value}\n"), "x.csv", operation)
    assert rows[0].args == {arg: expected} and rows[0].problem is None


def test_semicolon_csv() -> None:
    rows = read_batch(csv_bytes(f"iccid;amount\n{A};5\n"), "x.csv", "top_up")
    assert rows[0].args == {"amount": Decimal("5.00")}


# ---------------------------------------------------------------- per row


def test_bad_check_digit_row_does_not_spoil_good_rows() -> None:
    bad = wrong_check_digit(B)
    data = csv_bytes(f"iccid\n{A}\n{bad}\n{C}\n")
    rows = read_batch(data, "x.csv", "suspend")
    assert [r.row for r in rows] == [2, 3, 4]
    assert rows[0].problem is None and rows[2].problem is None
    assert rows[1].iccid == bad
    assert rows[1].problem and "iccid" in rows[1].problem and "check digit" in rows[1].problem


def test_other_iccid_format_problems() -> None:
    data = csv_bytes("iccid\n12345\n99" + A[2:] + "\nABC\n")
    problems = [r.problem for r in read_batch(data, "x.csv", "cancel")]
    assert all(p and p.startswith("Column iccid:") for p in problems)


def test_duplicate_iccid_later_row_flagged() -> None:
    data = csv_bytes(f"iccid\n{A}\n{B}\n{A}\n")
    rows = read_batch(data, "x.csv", "resume")
    assert rows[0].problem is None and rows[1].problem is None
    assert rows[2].problem is not None and "duplicate of row 2" in rows[2].problem


def test_blank_rows_skipped_but_row_numbers_kept() -> None:
    data = csv_bytes(f"iccid,plan\n{A},P1\n,\n\n{B},P2\n")
    rows = read_batch(data, "x.csv", "change_plan")
    assert [r.row for r in rows] == [2, 5]


def test_extra_columns_ignored_and_optional_column_may_be_absent() -> None:
    rows = read_batch(csv_bytes(f"note,iccid\nhello,{A}\n"), "x.csv", "activate")
    assert rows == [BatchRow(2, A, {}, None)]


def test_required_value_missing_in_a_row() -> None:
    rows = read_batch(csv_bytes(f"iccid,plan\n{A},\n{B},P2\n"), "x.csv", "change_plan")
    assert rows[0].problem and "plan" in rows[0].problem
    assert rows[1].problem is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True), ("FALSE", False), ("Yes", True), ("no", False),
        ("1", True), ("0", False), ("是", True), ("否", False),
    ],
)
def test_bool_parsing(text: str, expected: bool) -> None:
    rows = read_batch(csv_bytes(f"iccid,enabled\n{A},{text}\n"), "x.csv", "set_auto_renew")
    assert rows[0].args == {"enabled": expected} and rows[0].problem is None


def test_bad_bool_value() -> None:
    rows = read_batch(csv_bytes(f"iccid,enabled\n{A},maybe\n"), "x.csv", "set_auto_renew")
    assert rows[0].problem and "enabled" in rows[0].problem


def test_xlsx_bool_cells() -> None:
    rows = read_batch(
        xlsx_from_template("set_auto_renew", [[A, True], [B, False]]), "x.xlsx", "set_auto_renew"
    )
    assert [r.args["enabled"] for r in rows] == [True, False]


@pytest.mark.parametrize("amount", ["1.234", "0", "-5", "abc", "NaN", "Infinity"])
def test_bad_amounts_refused(amount: str) -> None:
    rows = read_batch(csv_bytes(f"iccid,amount\n{A},{amount}\n{B},1.23\n"), "x.csv", "top_up")
    assert rows[0].problem and "amount" in rows[0].problem
    assert rows[1].problem is None and rows[1].args == {"amount": Decimal("1.23")}


def test_amount_three_decimals_message() -> None:
    rows = read_batch(csv_bytes(f"iccid,amount\n{A},1.234\n"), "x.csv", "top_up")
    assert rows[0].problem and "2 decimals" in rows[0].problem


def test_several_problems_in_one_row_are_all_reported() -> None:
    rows = read_batch(csv_bytes("iccid,amount\n123,x\n"), "x.csv", "top_up")
    assert rows[0].problem and "iccid" in rows[0].problem and "amount" in rows[0].problem


# ---------------------------------------------------- numbers from Excel


def with_exact_number_cell(data: bytes, approx: float, exact: str) -> bytes:
    """Rewrite a numeric cell to hold every digit, as some spreadsheet tools
    store it (openpyxl itself writes numbers with only 16 significant digits)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                old = f"<v>{approx:.16g}</v>".encode()
                assert old in body
                body = body.replace(old, f"<v>{exact}</v>".encode())
            dst.writestr(item, body)
    return out.getvalue()


def test_xlsx_numeric_iccid_cell_recovered() -> None:
    data = with_exact_number_cell(xlsx_from_template("suspend", [[float(A)], [B]]), float(A), A)
    rows = read_batch(data, "x.xlsx", "suspend")
    assert rows == [BatchRow(2, A, {}, None), BatchRow(3, B, {}, None)]


def test_xlsx_float_iccid_cell_lost_precision() -> None:
    rows = read_batch(
        xlsx_from_template("suspend", [[float(A)], [B]]), "x.xlsx", "suspend"
    )
    assert rows[0].problem and "text" in rows[0].problem
    assert rows[1].problem is None


def test_csv_iccid_with_trailing_zero_decimal_recovered() -> None:
    rows = read_batch(csv_bytes(f"iccid\n{A}.0\n"), "x.csv", "suspend")
    assert rows == [BatchRow(2, A, {}, None)]


def test_csv_scientific_notation_iccid_refused() -> None:
    rows = read_batch(csv_bytes("iccid\n8.98601E+19\n"), "x.csv", "suspend")
    assert rows[0].problem and "text" in rows[0].problem


# ------------------------------------------------------- whole-file errors


def test_unknown_operation_lists_valid_ones() -> None:
    with pytest.raises(BatchFileError) as err:
        read_batch(csv_bytes(f"iccid\n{A}\n"), "x.csv", "explode")
    assert "explode" in str(err.value) and "top_up" in str(err.value)


def test_missing_required_column() -> None:
    with pytest.raises(BatchFileError, match="amount"):
        read_batch(csv_bytes(f"iccid\n{A}\n"), "x.csv", "top_up")
    with pytest.raises(BatchFileError, match="iccid"):
        read_batch(csv_bytes("plan\nP1\n"), "x.csv", "change_plan")


def test_unsupported_extension() -> None:
    with pytest.raises(BatchFileError, match=r"\.csv.*\.xlsx"):
        read_batch(csv_bytes(f"iccid\n{A}\n"), "x.txt", "suspend")


def test_non_xlsx_bytes_with_xlsx_name_refused() -> None:
    with pytest.raises(BatchFileError, match="not a valid .xlsx"):
        read_batch(csv_bytes(f"iccid\n{A}\n"), "x.xlsx", "suspend")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n"])
def test_empty_file_refused(data: bytes) -> None:
    with pytest.raises(BatchFileError, match="empty"):
        read_batch(data, "x.csv", "suspend")


def test_header_without_rows_refused() -> None:
    with pytest.raises(BatchFileError, match="no rows"):
        read_batch(write_template("suspend"), "x.csv", "suspend")
    with pytest.raises(BatchFileError, match="no rows"):
        read_batch(write_template("suspend", "xlsx"), "x.xlsx", "suspend")


def test_undecodable_csv_refused() -> None:
    with pytest.raises(BatchFileError, match="UTF-8"):
        read_batch(b"iccid\r\n\xff\xff\xff\r\n", "x.csv", "suspend")


def test_row_cap() -> None:
    body = "\n".join(make_iccid("898600", n) for n in range(MAX_ROWS + 1))
    with pytest.raises(BatchFileError, match="100,000"):
        read_batch(f"iccid\n{body}\n".encode(), "x.csv", "suspend")
