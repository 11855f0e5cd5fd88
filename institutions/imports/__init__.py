"""Spreadsheet import and export of institutions (docs/IMPORT.md).

An upload is checked as a file first (type, size, zip bomb, encoding, row
count, headers) and refused without a trace when it fails. Otherwise it becomes
an :class:`ImportJob`: its rows are validated (inline for small files, as a
background task with progress for large ones) into a per-row report, and
nothing is written until the user confirms. Writing re-checks every row and
inserts the valid new ones in one transaction with one audit event.

Validation never queries per row: branches, MEs, existing NPWPs and existing
names are loaded for the whole file in a few queries.

The modules, each depending only on those above it:

* ``files``: the columns, reading cell values, the checks on the file itself
  (:func:`inspect_upload`) and reading its rows (:func:`read_rows`);
* ``similar``: the similar-name search over the live institutions of the
  file's kabupaten/kota and the file's earlier rows (warnings);
* ``rows``: validating the rows into an :class:`Outcome` (:func:`check_file`);
* ``jobs``: the job services and tasks (upload, validate, confirm, write,
  cancel) and what the pages show of a job;
* ``template``: the import template (.xlsx and .csv);
* ``export``: the export of the filtered list (:func:`institutions_export`).

Other code imports from this package (``from institutions import imports``);
the names below are re-exported for it.
"""

from institutions.imports.export import institutions_export
from institutions.imports.files import (
    COLUMNS,
    EXAMPLE_PREFIX,
    EXPORT_EXTRA,
    HEADER,
    Column,
    ImportRefused,
    Inspected,
    inspect_upload,
    read_rows,
    template_header,
)
from institutions.imports.jobs import (
    REPORT_SHOWN,
    errors_of,
    import_cancel,
    import_confirm,
    import_upload,
    import_validate,
    import_write,
    progress_of,
    report_csv,
    written_institutions,
)
from institutions.imports.rows import (
    PROGRESS_EVERY,
    QUERY_CHUNK,
    REPORT_MAX_ENTRIES,
    Outcome,
    check_file,
    own_branch,
)
from institutions.imports.template import EXAMPLE, template_csv, template_xlsx

__all__ = [
    "COLUMNS",
    "EXAMPLE",
    "EXAMPLE_PREFIX",
    "EXPORT_EXTRA",
    "HEADER",
    "PROGRESS_EVERY",
    "QUERY_CHUNK",
    "REPORT_MAX_ENTRIES",
    "REPORT_SHOWN",
    "Column",
    "ImportRefused",
    "Inspected",
    "Outcome",
    "check_file",
    "errors_of",
    "import_cancel",
    "import_confirm",
    "import_upload",
    "import_validate",
    "import_write",
    "inspect_upload",
    "institutions_export",
    "own_branch",
    "progress_of",
    "read_rows",
    "report_csv",
    "template_csv",
    "template_header",
    "template_xlsx",
    "written_institutions",
]
