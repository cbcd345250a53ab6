"""Reports as one CSV file, ready for Dutch Excel: UTF-8 with a byte order mark and ``;`` between cells.

Layout (every line is a CSV record, so a CSV reader parses the whole file)::

    <report title>
    <report subtitle>                 (only when the report has one)
                                      (blank line)
    <section 1 title>
    <column 1>;<column 2>;...         (the section's header)
    <value>;<value>;...               (one line per row)
                                      (blank line)
    <section 2 title>
    ...

Cells: numbers without thousands separators and with ``decimal_separator``
(``,`` by default, as Dutch Excel reads them); dates as ISO ``2026-11-23``,
date-times as ``2026-11-23 14:30``; booleans ``true``/``false``; None empty.
Text that a spreadsheet would take for a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) gets a leading ``'`` unless
``escape_formulas`` is off. Lines end with CRLF (RFC 4180).
"""
import csv
import io
import math
from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates_schema

from plugins._report import ReportFormat, defuse_formula, is_number, text


class CsvReport(ReportFormat):
    name = "report.csv"
    version = "1.0.0"
    media_format = "csv"
    media_type = "text/csv; charset=utf-8"
    extension = "csv"
    title = {"nl": "Rapport als CSV", "en": "Report as CSV"}
    description = {
        "nl": "Eén CSV-bestand met per onderdeel een titelregel, kolomkoppen en rijen; UTF-8 met BOM en "
              "puntkomma's, zodat Nederlandse Excel het direct goed opent.",
        "en": "One CSV file with a title line, column headers and rows per section; UTF-8 with a BOM and "
              "semicolons, so Dutch Excel opens it as it is.",
    }

    class Config(ReportFormat.Config):
        delimiter = fields.String(load_default=";", validate=[
            validate.Length(equal=1), validate.NoneOf(['"', "'", "\r", "\n"], error="cannot be a quote or line break")],
            metadata={"description": "the character between cells"})
        decimal_separator = fields.String(load_default=",", validate=validate.OneOf([",", "."]),
                                          metadata={"description": "the decimal separator of numbers"})
        bom = fields.Boolean(load_default=True, metadata={"description": "start with a UTF-8 byte order mark (Excel)"})
        escape_formulas = fields.Boolean(load_default=True,
                                         metadata={"description": "make text that looks like a formula literal"})

        @validates_schema
        def separators_differ(self, data, **kwargs):
            if data.get("delimiter") == data.get("decimal_separator"):
                raise ValidationError("must differ from the delimiter", field_name="decimal_separator")

    def cell(self, value) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if is_number(value):
            if isinstance(value, float) and not math.isfinite(value):
                return ""
            plain = f"{value:f}" if isinstance(value, Decimal) else repr(value) if isinstance(value, float) else str(value)
            return plain.replace(".", self.config["decimal_separator"])
        value = text(value)
        return defuse_formula(value) if self.config["escape_formulas"] else value

    def render(self, report):
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=self.config["delimiter"], lineterminator="\r\n")
        writer.writerow([self.cell(report.title)])
        if report.subtitle:
            writer.writerow([self.cell(report.subtitle)])
        for section in report.sections:
            writer.writerow([])
            writer.writerow([self.cell(section.title)])
            writer.writerow([self.cell(column) for column in section.columns])
            writer.writerows([self.cell(value) for value in row] for row in section.rows)
        return buffer.getvalue().encode("utf-8-sig" if self.config["bom"] else "utf-8")
