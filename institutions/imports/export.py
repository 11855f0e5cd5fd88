"""Export of the user's filtered institution list as .xlsx, in the template's
columns (so an exported file imports again) plus a few read-only ones."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from control import audit
from core.errors import DomainError
from institutions.imports.files import COLUMNS, EXPORT_EXTRA, Column
from institutions.models import InstitutionStatus, InstitutionType, Sector
from institutions.selectors import InstitutionFilters, institution_list


def institutions_export(*, actor: Any, filters: InstitutionFilters) -> tuple[IO[bytes], int]:
    """The user's filtered list as .xlsx (a temporary file, rewound) and its row
    count. One audit event names the filters and the count."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if not actor.has_perm("institutions.export"):
        raise PermissionDenied
    qs = institution_list(actor, filters)
    count = qs.count()
    if count > settings.EXPORT_MAX_ROWS:
        raise DomainError(
            _("Daftar ini berisi %(n)s lembaga; ekspor paling banyak %(max)s. Persempit filternya.")
            % {"n": f"{count:,}".replace(",", "."), "max": f"{settings.EXPORT_MAX_ROWS:,}".replace(",", ".")}
        )
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="institution.export",
            object_type="institutions.institution",
            after={"filters": asdict(filters), "rows": count},
        )
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Lembaga")
    from openpyxl.utils import get_column_letter

    for i, c in enumerate([*COLUMNS, *EXPORT_EXTRA], start=1):
        ws.column_dimensions[get_column_letter(i)].width = c.width if isinstance(c, Column) else 16
    ws.append([c.header for c in COLUMNS] + list(EXPORT_EXTRA))
    types, sectors, statuses = dict(InstitutionType.choices), dict(Sector.choices), dict(InstitutionStatus.choices)
    tz = timezone.get_current_timezone()

    def text(value: str) -> Any:
        # Always a string, never a formula, whatever it starts with (and within Excel's cell limit).
        cell = WriteOnlyCell(ws, value=value[:32767])
        cell.data_type = "s"
        return cell

    for inst in qs.iterator(chunk_size=2000):
        me = inst.me
        ws.append(
            [
                text(inst.name),
                str(types.get(inst.type, inst.type)),
                str(sectors.get(inst.sector, inst.sector)),
                text(inst.province_code),
                text(inst.regency_code),
                text(inst.address),
                float(inst.latitude) if inst.latitude is not None else None,
                float(inst.longitude) if inst.longitude is not None else None,
                text(inst.npwp or ""),
                inst.member_count,
                int(inst.potential_value),
                text(inst.potential_basis),
                str(statuses.get(inst.status, inst.status)),
                text(inst.notes),
                text(inst.branch.code),
                text(me.username if me else ""),
                inst.score,
                text(inst.branch.name),
                text((me.get_full_name() or me.username) if me else ""),
                inst.updated_at.astimezone(tz).replace(tzinfo=None),
            ]
        )
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    wb.save(out)
    out.seek(0)
    return out, count
