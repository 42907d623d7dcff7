"""Batch templates: reading and writing the CSV/Excel files of ICCIDs (rule BATCH-1).

Rule BATCH-1 says: batch operations take a template (CSV or Excel) of ICCIDs;
every row is checked (format, ICCID check digit, ownership, state) and gets its
own result; a bad row never spoils the good ones.

Why it matters: operators manage fleets of thousands of SIMs by filling in a
spreadsheet, and real carrier portals answer row by row.  If one typo
rejected the whole file, or worse, a half-applied file gave no clue which rows
ran, a client tested against us would break on the first real upload.  So this
module never raises for a bad *row*: it returns one :class:`BatchRow` per data
row, with ``problem`` set to a sentence naming the column and what was wrong.
It raises :class:`BatchFileError` only when the *file* as a whole cannot be
used (wrong extension, not a workbook, missing column, no rows, too many rows).

This module does the file side only: the format checks of each row.
Ownership and card state are checked later by the engine.

Spreadsheet realities handled here:

* Excel writes UTF-8 CSV with a BOM, and "ANSI" CSV on Chinese Windows is GBK
  (decoded here as GB18030, a superset of GBK).
* Excel turns long digit strings into numbers.  An integer cell keeps every
  digit and is recovered; ``"...0"`` text is recovered; but a float cell (or
  ``8.98601E+19`` text) has lost the last digits, and the row is told to
  format the column as text.  Templates written here pre-format text columns
  as text (``number_format '@'``) so this does not happen in the first place.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Literal

from carriersim.simulator.identifiers import iccid_problem

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "MAX_ROWS",
    "OPERATIONS",
    "BatchFileError",
    "BatchRow",
    "Column",
    "read_batch",
    "write_template",
]

#: More data rows than this and the whole file is refused.
MAX_ROWS = 100_000
ACCEPTED_EXTENSIONS = (".csv", ".xlsx")

ColumnKind = Literal["str", "decimal", "bool"]


@dataclass(frozen=True)
class Column:
    """One column of a batch template beyond ``iccid``."""

    name: str
    kind: ColumnKind
    required: bool
    help: str


OPERATIONS: dict[str, tuple[Column, ...]] = {
    "suspend": (),
    "resume": (),
    "activate": (Column("imei", "str", False, "IMEI of the device to bind (optional)."),),
    "change_plan": (Column("plan", "str", True, "Code of the plan to change to."),),
    "withdraw_plan_change": (),
    "top_up": (
        Column("amount", "decimal", True, "Amount in CNY, greater than 0, at most 2 decimals."),
    ),
    "set_auto_renew": (
        Column("enabled", "bool", True, "true/false, yes/no, 1/0 or 是/否."),
    ),
    "cancel": (),
}

#: Header text (trimmed, case-folded) -> canonical column name.
_ALIASES: dict[str, str] = {
    "iccid": "iccid",
    "卡号": "iccid",
    "plan": "plan",
    "套餐": "plan",
    "amount": "amount",
    "金额": "amount",
    "imei": "imei",
    "enabled": "enabled",
}

_TRUE = {"true", "yes", "1", "是"}
_FALSE = {"false", "no", "0", "否"}
_FLOAT_EXACT_LIMIT = 2**53  # floats above this cannot be trusted to hold every digit
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:\.\d*)?[eE][+-]?\d+$")
_TRAILING_ZERO_DECIMALS = re.compile(r"^(\d+)\.0+$")
_CENT = Decimal("0.01")


class BatchFileError(ValueError):
    """The batch file as a whole cannot be used; the message says why, for a person."""


@dataclass(frozen=True)
class BatchRow:
    """One data row of a batch file, format-checked.

    ``row`` is the row number a person sees in the file (header is row 1).
    ``args`` holds the parsed values of the operation's columns (Decimal,
    bool or str); optional columns left empty are absent.  ``problem`` is
    None when the row's format is fine, else sentences naming each bad column.
    """

    row: int
    iccid: str
    args: dict[str, object] = field(default_factory=dict)
    problem: str | None = None


# ------------------------------------------------------------------ reading


def read_batch(data: bytes, filename: str, operation: str) -> list[BatchRow]:
    """Parse a batch file for ``operation`` into one :class:`BatchRow` per data row.

    The format is chosen by ``filename``'s extension (.csv or .xlsx).  Raises
    :class:`BatchFileError` when the file cannot be used at all; problems of
    single rows are reported in their ``problem`` and never stop other rows.
    """
    columns = _columns_for(operation)
    ext = _extension(filename)
    rows = _csv_rows(data) if ext == ".csv" else _xlsx_rows(data)
    with closing(rows):  # close the workbook even when a whole-file error stops reading
        return _parse(rows, columns, operation)


def _columns_for(operation: str) -> tuple[Column, ...]:
    try:
        return OPERATIONS[operation]
    except KeyError:
        raise BatchFileError(
            f"Unknown batch operation {operation!r}; valid operations are: "
            f"{', '.join(OPERATIONS)}."
        ) from None


def _extension(filename: str) -> str:
    ext = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if ext not in ACCEPTED_EXTENSIONS:
        hint = " (save old .xls workbooks as .xlsx)" if ext == ".xls" else ""
        raise BatchFileError(
            f"File {filename!r} has an unsupported type; accepted extensions are "
            f"{' and '.join(ACCEPTED_EXTENSIONS)}{hint}."
        )
    return ext


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise BatchFileError(
            "The CSV file is neither UTF-8 nor GBK text; save it as 'CSV UTF-8' from Excel."
        ) from None


def _csv_rows(data: bytes) -> Generator[Sequence[object], None, None]:
    text = _decode(data)
    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max((",", ";", "\t"), key=first_line.count)  # ties keep ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise BatchFileError(
            f"The CSV file cannot be read near record {reader.line_num}: {exc}."
        ) from None


def _xlsx_rows(data: bytes) -> Generator[Sequence[object], None, None]:
    from openpyxl import load_workbook  # imported lazily: only .xlsx needs it

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise BatchFileError(
            "The file is not a valid .xlsx workbook; open it in Excel and save it as "
            f"'Excel Workbook (.xlsx)' ({type(exc).__name__})."
        ) from None
    except Exception as exc:  # openpyxl raises many kinds on corrupt files
        raise BatchFileError(
            f"The .xlsx workbook cannot be read ({type(exc).__name__}: {exc})."
        ) from None
    try:
        if not wb.worksheets:
            raise BatchFileError("The .xlsx workbook has no worksheet.")
        rows = wb.worksheets[0].iter_rows(values_only=True)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a damaged sheet inside a valid zip
                raise BatchFileError(
                    f"The .xlsx worksheet cannot be read ({type(exc).__name__}: {exc})."
                ) from None
            yield row
    finally:
        wb.close()


def _is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _header_map(header: Sequence[object], columns: tuple[Column, ...]) -> dict[str, int]:
    """Canonical column name -> cell index; raises if a needed column is missing."""
    wanted = {"iccid"} | {c.name for c in columns}
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        if _is_blank(cell):
            continue
        name = _ALIASES.get(str(cell).strip().lstrip("\ufeff").strip().casefold())
        if name is None or name not in wanted:
            continue  # extra columns are ignored
        if name in found:
            raise BatchFileError(f"The header has the column {name!r} twice.")
        found[name] = index
    needed = ["iccid"] + [c.name for c in columns if c.required]
    for name in needed:
        if name not in found:
            aliases = [a for a, n in _ALIASES.items() if n == name and a != name]
            also = f" (or {' / '.join(aliases)})" if aliases else ""
            raise BatchFileError(f"The header is missing the required column {name!r}{also}.")
    return found


def _parse(
    rows: Iterable[Sequence[object]], columns: tuple[Column, ...], operation: str
) -> list[BatchRow]:
    header: dict[str, int] | None = None
    result: list[BatchRow] = []
    first_seen: dict[str, int] = {}
    for row_number, cells in enumerate(rows, start=1):
        if all(_is_blank(c) for c in cells):
            continue
        if header is None:
            header = _header_map(cells, columns)
            continue
        if len(result) >= MAX_ROWS:
            raise BatchFileError(
                f"The file has more than {MAX_ROWS:,} data rows; split it into smaller files."
            )
        result.append(_parse_row(row_number, cells, header, columns, operation, first_seen))
    if header is None:
        raise BatchFileError("The file is empty; it needs a header row and at least one data row.")
    if not result:
        raise BatchFileError("The file has a header but no rows; add one ICCID per row.")
    return result


def _cell(cells: Sequence[object], index: int | None) -> object:
    if index is None or index >= len(cells):
        return None
    value = cells[index]
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _parse_row(
    row_number: int,
    cells: Sequence[object],
    header: dict[str, int],
    columns: tuple[Column, ...],
    operation: str,
    first_seen: dict[str, int],
) -> BatchRow:
    problems: list[str] = []
    iccid, problem = _iccid_text(_cell(cells, header["iccid"]))
    if problem is None:
        problem = iccid_problem(iccid)
        if problem is None:
            if iccid in first_seen:
                problem = f"duplicate of row {first_seen[iccid]}."
            else:
                first_seen[iccid] = row_number
    if problem:
        problems.append(f"Column iccid: {problem}")
    args: dict[str, object] = {}
    for column in columns:
        value = _cell(cells, header.get(column.name))
        if value is None:
            if column.required:
                problems.append(
                    f"Column {column.name}: is empty, but {operation} needs it ({column.help})"
                )
            continue
        try:
            args[column.name] = _convert(value, column)
        except ValueError as exc:
            problems.append(f"Column {column.name}: {exc}")
    return BatchRow(row_number, iccid, args, " ".join(problems) or None)


def _iccid_text(value: object) -> tuple[str, str | None]:
    """ICCID digits from a cell, undoing Excel's number conversion where exact.

    Returns the text and a problem when the digits cannot be trusted.
    """
    lost = (
        "the ICCID was stored as a number and lost its last digits; format the "
        "column as text and type the ICCIDs again."
    )
    if value is None:
        return "", "is empty."
    if isinstance(value, bool):
        return str(value), "must be digits, not a true/false value."
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= _FLOAT_EXACT_LIMIT:
            return str(int(value)), None
        return repr(value), lost if value.is_integer() else None
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return str(int(value)), None
        return str(value), None
    text = str(value).strip().lstrip("'").strip()
    if _SCIENTIFIC.match(text):
        return text, lost
    match = _TRAILING_ZERO_DECIMALS.match(text)
    if match:
        text = match.group(1)
    return text, None


def _text(value: object) -> str:
    """A cell as text; integral numbers lose Excel's '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _convert(value: object, column: Column) -> object:
    """Parse one cell for ``column``; raises ValueError with a readable reason."""
    if column.kind == "str":
        return _text(value)
    if column.kind == "bool":
        if isinstance(value, bool):
            return value
        text = _text(value).casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{value!r} is not a yes/no value; use true/false, yes/no, 1/0 or 是/否.")
    # decimal: CNY amount
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount of CNY.")
    text = repr(value) if isinstance(value, float) else str(value).strip()
    text = text.lstrip("¥￥").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount of CNY.") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount of CNY.")
    if amount <= 0:
        raise ValueError(f"{value!r} must be greater than 0.")
    try:
        rounded = amount.quantize(_CENT)
    except InvalidOperation:
        raise ValueError(f"{value!r} is too large an amount.") from None
    if rounded != amount:
        raise ValueError(f"{value!r} has more than 2 decimals; CNY amounts are in whole fen.")
    return rounded


# ------------------------------------------------------------------ writing


def write_template(operation: str, fmt: str = "csv") -> bytes:
    """An empty template for ``operation``: the header row only, to be filled in.

    ``fmt`` is ``"csv"`` (UTF-8 with BOM so Excel opens it correctly) or
    ``"xlsx"`` (bold header, text columns formatted as text, widths set,
    each header cell carrying its help as a comment).
    """
    columns: tuple[Column, ...] = (Column("iccid", "str", True, "ICCID, 19-20 digits starting 89."),)
    columns += _columns_for(operation)
    fmt = fmt.lower().lstrip(".")
    if fmt == "csv":
        out = io.StringIO(newline="")
        csv.writer(out).writerow([c.name for c in columns])
        return out.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        return _xlsx_template(columns)
    raise BatchFileError(f"Unknown template format {fmt!r}; use 'csv' or 'xlsx'.")


def _xlsx_template(columns: tuple[Column, ...]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "batch"
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index, value=column.name)
        cell.font = Font(bold=True)
        cell.comment = Comment(column.help, "carriersim")
        letter = get_column_letter(index)
        dimension = ws.column_dimensions[letter]
        dimension.width = 24 if column.name == "iccid" else 16
        if column.kind == "str":
            # Text format keeps every digit (and leading zeros) of what is typed.
            dimension.number_format = "@"
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
