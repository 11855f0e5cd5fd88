"""Spreadsheets of the performance module: the targets export and the import
that reads the same layout back.

One row per target: ``kpi, period, unit_code, unit_name, me_username,
me_name, value``. A unit's target leaves the ME columns blank; an ME's target
names the ME's branch in the unit columns. Names are there for people and are
ignored on import. Written with openpyxl, read with calamine (as the
institution import does), after the same file checks (type, size, zip bomb).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.utils.translation import gettext as _

COLUMNS: tuple[str, ...] = ("kpi", "period", "unit_code", "unit_name", "me_username", "me_name", "value")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FileRefused(Exception):
    """The file itself cannot be read (nothing is written)."""


def table_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "Sheet") -> bytes:
    """A one-sheet workbook: a bold header row, then the rows (numbers stay numbers)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    bold = Font(bold=True)
    from openpyxl.cell import WriteOnlyCell

    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=str(h))
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)
    for row in rows:
        ws.append([_cell_value(ws, v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell_value(ws: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if value is None:
        return ""
    if isinstance(value, str):
        # Always text, never a formula, whatever a unit's or a person's name starts with.
        cell = WriteOnlyCell(ws, value=value[:32767])
        cell.data_type = "s"
        return cell
    return value


def targets_xlsx(targets: Iterable[Any]) -> bytes:
    """The export: ``targets`` are Target rows with ``unit`` and ``me`` loaded."""

    def rows() -> Iterable[list[Any]]:
        for t in targets:
            me = t.me
            yield [
                t.kpi,
                t.period.code,
                t.unit.code,
                t.unit.name,
                me.username if me else "",
                (me.get_full_name() or me.username) if me else "",
                t.value,
            ]

    return table_xlsx(COLUMNS, rows(), title=_("Target"))


@dataclass
class Line:
    """One data row of an uploaded targets file (the header is line 1)."""

    number: int
    kpi: str
    period: str
    unit_code: str
    me_username: str
    value: Any


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):  # a period typed as 2026-11 that the spreadsheet made a date
        return f"{value.year}-{value.month:02d}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_targets(name: str, size: int, chunks: Iterable[bytes], *, limit: int, max_rows: int) -> list[Line]:
    """Every non-blank data row of an uploaded targets .xlsx. Raises
    :class:`FileRefused` for a file that is not a readable .xlsx of that layout,
    too big, or empty."""
    from institutions.imports.files import ImportRefused, _check_zip, _xlsx_rows

    if PurePath(name or "").suffix.lower() != ".xlsx":
        raise FileRefused(_("Hanya berkas .xlsx yang bisa diimpor."))
    too_big = _("Berkas terlalu besar: paling besar %(mb)s MB.") % {"mb": limit // (1024 * 1024)}
    if size > limit:
        raise FileRefused(too_big)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileRefused(too_big)
    if not data:
        raise FileRefused(_("Berkas kosong."))
    try:
        _check_zip(data)
        rows = _xlsx_rows(data)
        header = next(rows, None)
    except ImportRefused as exc:
        raise FileRefused(str(exc)) from None
    names = [_text(h).casefold() for h in (header or ())]
    index = {col: names.index(col) for col in COLUMNS if col in names}
    missing = [c for c in ("kpi", "period", "unit_code", "me_username", "value") if c not in index]
    if missing:
        raise FileRefused(
            _("Baris pertama harus berisi judul kolom: %(cols)s. Kolom yang tidak ada: %(missing)s.")
            % {"cols": ", ".join(COLUMNS), "missing": ", ".join(missing)}
        )
    lines: list[Line] = []
    try:
        for number, row in enumerate(rows, start=2):
            if all(v is None or _text(v) == "" for v in row):
                continue

            def get(col: str, row: tuple[Any, ...] = row) -> Any:
                i = index[col]
                return row[i] if i < len(row) else None

            lines.append(
                Line(
                    number=number,
                    kpi=_text(get("kpi")),
                    period=_text(get("period")),
                    unit_code=_text(get("unit_code")),
                    me_username=_text(get("me_username")),
                    value=get("value"),
                )
            )
            if len(lines) > max_rows:
                raise FileRefused(
                    _("Berkas berisi lebih dari %(max)s baris data; bagi menjadi beberapa berkas.")
                    % {"max": f"{max_rows:,}".replace(",", ".")}
                )
    except ImportRefused as exc:
        raise FileRefused(str(exc)) from None
    if not lines:
        raise FileRefused(_("Berkas tidak berisi baris data di bawah baris judul."))
    return lines
