"""Reports as an Excel workbook (openpyxl): one sheet per section.

Each sheet holds its section as a table from cell A1: a bold, filled header
row that stays in view (frozen) with an autofilter, then the rows; columns are
as wide as their content (within limits). The section's notes follow in
column A after one blank row, as text.

Every number is a number cell with a number format, which Excel shows in the
reader's locale (``1.234,50`` in Dutch Excel): a count (int) ``#,##0``, an
amount (Decimal, always euros) ``"€" #,##0.00``, a share or average (float)
``#,##0.0#``. A withheld count (``Suppressed``) is the text ``<5``,
right-aligned like the numbers, never a number. Dates are dates
(``yyyy-mm-dd``), date-times ``yyyy-mm-dd hh:mm`` (an aware one in Dutch time,
since Excel has no time zones). A section with a chart gets a native Excel bar
or line chart next to its table. The report's title and subtitle are the
workbook's title and subject (File > Properties).

Sheet names follow Excel's rules: at most 31 characters, none of ``[]:*?/\\``,
no apostrophe at either end, not empty, not the reserved ``History``, and
unique without regard to case (a second "Matches" becomes "Matches (2)").

Text is always a string cell, never a formula; text that a spreadsheet would
run (starting with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a
NUL, and not a plain number: :func:`core.cells.is_formula`) also gets Excel's
quote prefix, so that editing the cell keeps it text (ASVS 1.2.10). The
workbook is reproducible: the same report gives the same bytes (fixed file
dates inside the package, fixed created and modified properties), so an
export can be traced by its hash.
"""
import io
import re
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from marshmallow import fields, validate

from core.plugin_toolkit import N_, Suppressed, is_formula
from plugins._report import ReportFormat, is_finite, is_number, text

MAX_SHEET_NAME = 31
INVALID_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in the XML of a workbook
RESERVED_SHEET_NAMES = {"history"}
FIXED_TIME = datetime(2000, 1, 1)
MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # an aware date-time is shown in Dutch time
MIN_WIDTH, MAX_WIDTH = 8, 60
COUNT, AMOUNT, SHARE = "#,##0", '"€" #,##0.00;"€" -#,##0.00', "#,##0.0#"  # int, Decimal (euros), float
DATE, DATE_TIME = "yyyy-mm-dd", "yyyy-mm-dd hh:mm"


def sheet_names(titles, untitled=lambda number: f"Sheet {number}") -> list[str]:
    """Valid and unique (case-insensitive) Excel sheet names for *titles*, in order.

    *untitled* names the sheet of a section without a usable title, by its number.
    """
    names, taken = [], set(RESERVED_SHEET_NAMES)
    for number, title in enumerate(titles, start=1):
        base = INVALID_SHEET_CHARACTERS.sub(" ", CONTROL_CHARACTERS.sub("", title or ""))
        base = re.sub(r"\s+", " ", base).strip().strip("'").strip()[:MAX_SHEET_NAME].rstrip("'").strip()
        base = base or untitled(number)
        name, copy = base, 1
        while name.lower() in taken:
            copy += 1
            suffix = f" ({copy})"
            name = base[:MAX_SHEET_NAME - len(suffix)].rstrip().rstrip("'") + suffix
        taken.add(name.lower())
        names.append(name)
    return names


def _reproducible(content: bytes) -> bytes:
    """The same package with fixed file dates and a fixed "modified" property (openpyxl writes the
    time of saving), so the same workbook gives the same bytes."""
    source, target = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type, entry.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = MODIFIED.sub(rb"\g<1>" + FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", data)
            archive.writestr(entry, data)
    return target.getvalue()


class XlsxReport(ReportFormat):
    name = "report.xlsx"
    version = "1.2.0"
    media_format = "xlsx"
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    extension = "xlsx"
    title = {"nl": "Rapport als Excel-werkmap", "en": "Report as Excel workbook"}
    description = {
        "nl": "Een Excel-werkmap met één tabblad per onderdeel: vetgedrukte, gekleurde en vastgezette kopregel, "
              "getallen als getallen met een getalnotatie, toelichting onder de tabel en een grafiek waar het "
              "onderdeel er een heeft.",
        "en": "An Excel workbook with one sheet per section: a bold, filled and frozen header row, numbers as "
              "numbers with a number format, notes under the table, and a chart where the section has one.",
    }

    class Config(ReportFormat.Config):
        header_fill = fields.String(load_default="D9E1F2", validate=validate.Regexp(
            r"^[0-9A-Fa-f]{6}$", error=N_("give a colour as six hexadecimal digits, e.g. D9E1F2")),
            metadata={"description": "background colour of the header row (RGB hex)"})
        charts = fields.Boolean(load_default=True, metadata={"description": "add each section's chart"})

    def render(self, report, media_format):
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, PatternFill
        from openpyxl.utils import get_column_letter

        workbook = Workbook()
        workbook.remove(workbook.active)
        workbook.properties.title = report.title
        workbook.properties.subject = report.subtitle
        workbook.properties.creator = "Koppel"
        workbook.properties.created = workbook.properties.modified = FIXED_TIME
        bold = Font(bold=True)
        fill = PatternFill(fill_type="solid", start_color=self.config["header_fill"], end_color=self.config["header_fill"])
        header_alignment = Alignment(vertical="center", wrap_text=False)
        right = Alignment(horizontal="right")  # a withheld count, aligned with the numbers
        sections = report.sections or ()
        for section, sheet_name in zip(sections, sheet_names([s.title for s in sections], self._untitled)):
            sheet = workbook.create_sheet(sheet_name)
            widths = [len(str(column)) for column in section.columns]
            for index, column in enumerate(section.columns, start=1):
                cell = self._string(sheet.cell(row=1, column=index), str(column))
                cell.font, cell.fill, cell.alignment = bold, fill, header_alignment
            for row_number, row in enumerate(section.rows, start=2):
                for index, value in enumerate(row, start=1):
                    self._write(sheet.cell(row=row_number, column=index), value, right)
                    widths[index - 1] = max(widths[index - 1], len(self._shown(value)))
            for number, note in enumerate(section.notes, start=len(section.rows) + 3):  # after one blank row
                self._string(sheet.cell(row=number, column=1), str(note))
            for index, width in enumerate(widths, start=1):
                sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
            if section.columns:
                sheet.freeze_panes = "A2"
                last = get_column_letter(len(section.columns))
                sheet.auto_filter.ref = f"A1:{last}{max(len(section.rows) + 1, 1)}"
            if self.config["charts"] and section.chart is not None and section.rows:
                self._chart(sheet, section)
        if not workbook.worksheets:  # a workbook needs a sheet
            workbook.create_sheet(sheet_names([report.title], self._untitled)[0])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return _reproducible(buffer.getvalue())

    def _untitled(self, number: int) -> str:
        return self.words(self.message("Sheet %(n)s", n=number))

    @staticmethod
    def _text(value: str) -> str:
        return CONTROL_CHARACTERS.sub("", value)

    @classmethod
    def _string(cls, cell, value: str):
        """Write *value* into *cell* as a string cell, never a formula; with the quote prefix when a
        spreadsheet would run it (:func:`core.cells.is_formula`, checked before control characters go)."""
        cell.value = cls._text(value)
        cell.data_type = "s"
        if is_formula(value) or is_formula(cell.value):
            cell.quotePrefix = True
        return cell

    @staticmethod
    def _shown(value) -> str:
        """About what Excel shows of *value*, for the column's width."""
        if isinstance(value, bool):
            return "ONWAAR"
        if isinstance(value, Decimal):
            return f"€ {value:,.2f}" if value.is_finite() else ""
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            return f"{value:,.2f}"
        if isinstance(value, datetime):
            return "2026-11-23 14:30"
        return text(value)

    def _write(self, cell, value, right):
        if isinstance(value, datetime):
            cell.value = value if value.tzinfo is None else value.astimezone(AMSTERDAM).replace(tzinfo=None)
            cell.number_format = DATE_TIME
        elif isinstance(value, date):
            cell.value = value
            cell.number_format = DATE
        elif isinstance(value, time):
            cell.value = value.replace(tzinfo=None)
        elif isinstance(value, bool) or value is None:
            cell.value = value
        elif is_number(value):
            if is_finite(value):  # NaN or infinity: an empty cell
                cell.value = value
                cell.number_format = AMOUNT if isinstance(value, Decimal) else SHARE if isinstance(
                    value, float) else COUNT
        elif isinstance(value, Suppressed):
            cell.value = str(value)
            cell.data_type = "s"  # the text "<5", never a number
            cell.alignment = right
        else:
            self._string(cell, str(value))

    def _chart(self, sheet, section):
        from openpyxl.chart import BarChart, LineChart, Reference
        from openpyxl.utils import get_column_letter

        chart = BarChart() if section.chart.kind == "bar" else LineChart()
        chart.title = section.title
        chart.width, chart.height = 18, 9
        rows = len(section.rows) + 1
        for column in section.chart.y_columns:
            index = section.columns.index(column) + 1
            chart.add_data(Reference(sheet, min_col=index, min_row=1, max_row=rows), titles_from_data=True)
        x = section.columns.index(section.chart.x_column) + 1
        chart.set_categories(Reference(sheet, min_col=x, min_row=2, max_row=rows))
        sheet.add_chart(chart, f"{get_column_letter(len(section.columns) + 2)}2")
