"""Reports as one CSV file, by default in the dialect Dutch Excel opens as it is; ``csv-international`` on request.

Two dialects (RFC 4180 quoting, lines ending in CRLF, UTF-8):

* ``nl`` (Dutch Excel): ``;`` between cells, a decimal comma, a byte order
  mark (so Excel reads the file as UTF-8);
* ``international``: ``,`` between cells, a decimal point, no byte order mark.

The media format ``csv`` is written in the configured ``dialect`` (Dutch by
default; ``delimiter``, ``decimal_separator`` and ``bom`` override a part of
it), ``csv-international`` always in the international one.

Layout (every line is a CSV record, so a CSV reader parses the whole file)::

    <report title>
    <report subtitle>                 (only when the report has one)
                                      (blank line)
    <section 1 title>
    <column 1>;<column 2>;...         (the section's header)
    <value>;<value>;...               (one line per row)
    <note>                            (one line of one cell per note)
                                      (blank line)
    <section 2 title>
    ...

Cells: numbers in plain digits without thousands separators (``1234,5``; an
amount as exact as it is, ``29753,42``); a withheld count as the text ``<5``;
dates as ISO ``2026-11-23``, date-times as ``2026-11-23 14:30``; booleans as
``ja``/``nee`` (in the ``language`` setting); None empty. Text that a
spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab, a carriage return or a NUL, and not a plain number) always gets
a leading ``'`` (:mod:`core.cells`; ASVS 1.2.10). ``escape_formulas`` is
still accepted in a stored configuration, but ``false`` no longer turns
that off.
"""
import csv
import io

from marshmallow import ValidationError, fields, validate, validates_schema

from core.plugin_toolkit import N_, neutralise
from plugins._report import ReportFormat, is_finite, is_number, plain_number, text

DIALECTS = {
    "nl": {"delimiter": ";", "decimal_separator": ",", "bom": True},
    "international": {"delimiter": ",", "decimal_separator": ".", "bom": False},
}


class CsvReport(ReportFormat):
    name = "report.csv"
    version = "1.2.0"
    media_format = "csv"
    media_formats = ("csv", "csv-international")
    media_type = "text/csv; charset=utf-8"
    extension = "csv"
    title = {"nl": "Rapport als CSV", "en": "Report as CSV"}
    description = {
        "nl": "Eén CSV-bestand met per onderdeel een titelregel, kolomkoppen, rijen en toelichting; standaard zoals "
              "Nederlandse Excel het opent (puntkomma's, decimale komma, UTF-8 met BOM), internationaal op verzoek "
              "(komma's, decimale punt).",
        "en": "One CSV file with a title line, column headers, rows and notes per section; by default as Dutch Excel "
              "opens it (semicolons, decimal comma, UTF-8 with a BOM), the international dialect on request "
              "(commas, decimal point).",
    }

    class Config(ReportFormat.Config):
        dialect = fields.String(load_default="nl", validate=validate.OneOf(list(DIALECTS)),
                                metadata={"description": "nl (Dutch Excel) or international; the format csv"})
        delimiter = fields.String(load_default=None, allow_none=True, validate=[
            validate.Length(equal=1),
            validate.NoneOf(['"', "'", "\r", "\n"], error=N_("cannot be a quote or line break"))],
            metadata={"description": "the character between cells; null: the dialect's"})
        decimal_separator = fields.String(load_default=None, allow_none=True, validate=validate.OneOf([",", "."]),
                                          metadata={"description": "the decimal separator; null: the dialect's"})
        bom = fields.Boolean(load_default=None, allow_none=True,
                             metadata={"description": "start with a UTF-8 byte order mark; null: the dialect's"})
        escape_formulas = fields.Boolean(load_default=True, metadata={
            "description": "kept for stored configurations: text that looks like a formula is always made literal"})

        @validates_schema
        def separators_differ(self, data, **kwargs):
            dialect = DIALECTS.get(data.get("dialect"), DIALECTS["nl"])
            delimiter = data.get("delimiter") or dialect["delimiter"]
            if delimiter == (data.get("decimal_separator") or dialect["decimal_separator"]):
                raise ValidationError(N_("must differ from the delimiter"), field_name="decimal_separator")

    def settings(self, media_format: str) -> dict:
        """The delimiter, decimal separator and byte order mark for *media_format*."""
        if media_format == "csv-international":
            return DIALECTS["international"]
        chosen = {key: self.config[key] for key in ("delimiter", "decimal_separator", "bom")
                  if self.config[key] is not None}
        return {**DIALECTS[self.config["dialect"]], **chosen}

    def render(self, report, media_format):
        settings = self.settings(media_format)
        decimal_separator = settings["decimal_separator"]
        yes, no = self.words(self.message("yes")), self.words(self.message("no"))

        def cell(value) -> str:
            if isinstance(value, bool):
                return yes if value else no
            if is_number(value):
                return plain_number(value).replace(".", decimal_separator) if is_finite(value) else ""
            return neutralise(text(value))

        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=settings["delimiter"], lineterminator="\r\n")
        writer.writerow([cell(report.title)])
        if report.subtitle:
            writer.writerow([cell(report.subtitle)])
        for section in report.sections:
            writer.writerow([])
            writer.writerow([cell(section.title)])
            writer.writerow([cell(column) for column in section.columns])
            writer.writerows([cell(value) for value in row] for row in section.rows)
            writer.writerows([cell(note)] for note in section.notes)
        return buffer.getvalue().encode("utf-8-sig" if settings["bom"] else "utf-8")
