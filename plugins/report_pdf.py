"""Reports as PDF (reportlab): the title, then per section a heading, a table, its notes and its chart.

Tables have a bold, filled header row that repeats on every page the table
runs over, light bands between rows, and numbers right-aligned and written by
Babel the Dutch way (counts ``1.234``; shares and averages with one or two
decimals, ``2,5``; amounts in euros ``€ 1.234,50``), or
the English way with ``language: en``; a withheld count is ``<5``, aligned
with the numbers; dates are ISO. Long text wraps within its column; columns
are as wide as their content allows. A section's notes follow its table as
paragraphs; a section with a chart gets a bar or line chart (one series per
y column, with a legend) under them; a section without rows says so. Pages
are A4 (or letter), landscape when a section has more than six columns
(``orientation: auto``), and carry the report's title and "page 1 of 3" in
the footer. The words the format writes itself (yes/no, "no data", the page
numbers) are in its ``language``.

A cell is drawn as a plain string, which is quick, and only text too wide
for its column as a wrapping paragraph: a report of hundreds of rows renders
in a fraction of a second. The standard PDF fonts (Helvetica) cover Dutch and
Western European text and the euro sign. The file is reproducible: the same
report gives the same bytes.
"""
import io
import re
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from xml.sax.saxutils import escape

from marshmallow import fields, validate

from core.plugin_toolkit import Suppressed
from plugins._report import (
    ReportFormat,
    amount,
    chart_series,
    is_finite,
    is_number,
    number,
    numeric_columns,
    share,
    text,
)

HEADER_FILL = "#D9E1F2"
BAND_FILL = "#F3F6FA"
SERIES_COLOURS = ("#2F5597", "#C55A11", "#548235", "#7F6000", "#7030A0", "#1F7F7F")
NBSP = "\u00a0"
BREAKS = re.compile(r"[ \t\r\n]+")  # where a paragraph may break a line (not at a no-break space)
WIDE = 6  # more columns than this make a page landscape (orientation "auto")
FONT, BOLD, NOTE_FONT = "Helvetica", "Helvetica-Bold", "Helvetica-Oblique"
PADDING = 6 + 6 + 1  # a table cell's left and right padding, and a point to spare


@lru_cache(maxsize=65536)
def measure(value: str, font: str, size: float) -> float:
    """The width of *value* in points (the same texts recur: labels, headings, small numbers)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(value, font, size)


def numbered_canvas(footer):
    """A canvas class that draws *footer(canvas, total_pages)* on every page once the number of pages is known."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for page in self._pages:
                self.__dict__.update(page)
                footer(self, len(self._pages))
                super().showPage()
            super().save()

    return NumberedCanvas


def _known(section) -> bool:
    """Whether the section's chart has a value to draw (a trend of months without figures has none)."""
    return any(v is not None for _, values in chart_series(section)[1] for v in values)


class PdfReport(ReportFormat):
    name = "report.pdf"
    version = "1.1.0"
    media_format = "pdf"
    media_type = "application/pdf"
    extension = "pdf"
    title = {"nl": "Rapport als PDF", "en": "Report as PDF"}
    description = {
        "nl": "Een PDF om te lezen en te versturen: per onderdeel een tabel met toelichting en, waar het onderdeel "
              "er een heeft, een staaf- of lijngrafiek; getallen en bedragen op zijn Nederlands.",
        "en": "A PDF to read and send on: per section a table with its notes and, where the section has one, a bar "
              "or line chart; numbers and amounts written the Dutch way by default.",
    }

    class Config(ReportFormat.Config):
        page_size = fields.String(load_default="A4", validate=validate.OneOf(["A4", "letter"]))
        orientation = fields.String(load_default="auto", validate=validate.OneOf(["auto", "portrait", "landscape"]))
        font_size = fields.Integer(load_default=9, validate=validate.Range(min=6, max=14),
                                   metadata={"description": "font size of the tables, in points"})
        charts = fields.Boolean(load_default=True, metadata={"description": "draw each section's chart"})

    # --- cells -------------------------------------------------------------------------------------

    def _cell(self, value, yes_no) -> str:
        if isinstance(value, bool):
            return yes_no[value]
        if is_number(value):
            if not is_finite(value):
                return ""
            if isinstance(value, Decimal):
                return amount(value, self.language)
            return share(value, self.language) if isinstance(value, float) else number(value, self.language)
        if isinstance(value, datetime):
            return text(value).replace(" ", NBSP)  # a date-time stays on one line
        return text(value)

    # --- document ----------------------------------------------------------------------------------

    def _page_size(self, report):
        from reportlab.lib.pagesizes import A4, landscape, letter, portrait

        size = A4 if self.config["page_size"] == "A4" else letter
        orientation = self.config["orientation"]
        if orientation == "auto":
            orientation = "landscape" if any(len(s.columns) > WIDE for s in report.sections) else "portrait"
        return landscape(size) if orientation == "landscape" else portrait(size)

    def _styles(self):
        from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
        from reportlab.lib.units import mm

        styles, size = getSampleStyleSheet(), self.config["font_size"]
        return {
            "title": styles["Title"],
            "subtitle": ParagraphStyle("subtitle", parent=styles["Normal"], fontSize=11, leading=14,
                                       alignment=1, spaceAfter=6 * mm),
            "heading": ParagraphStyle("heading", parent=styles["Heading2"], spaceBefore=4 * mm),
            "cell": ParagraphStyle("cell", parent=styles["Normal"], fontName=FONT, fontSize=size, leading=size * 1.2),
            "header": ParagraphStyle("header", parent=styles["Normal"], fontName=BOLD, fontSize=size,
                                     leading=size * 1.2),
            "number_header": ParagraphStyle("number_header", parent=styles["Normal"], fontName=BOLD,
                                            fontSize=size, leading=size * 1.2, alignment=2),
            "note": ParagraphStyle("note", parent=styles["Normal"], fontName=NOTE_FONT, fontSize=size,
                                   leading=size * 1.3, spaceBefore=1.5 * mm),
        }

    def render(self, report, media_format):
        from reportlab.lib.units import mm
        from reportlab.platypus import CondPageBreak, Paragraph, SimpleDocTemplate, Spacer

        buffer = io.BytesIO()
        page_size = self._page_size(report)
        document = SimpleDocTemplate(
            buffer, pagesize=page_size, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
            bottomMargin=18 * mm, title=report.title, subject=report.subtitle or "", author="Koppel",
            creator="Koppel", invariant=1)
        styles = self._styles()
        yes_no = {True: self.words(self.message("yes")), False: self.words(self.message("no"))}
        no_data = escape(self.words(self.message("No data in this period.")))
        story = [Paragraph(escape(report.title), styles["title"])]
        if report.subtitle:
            story.append(Paragraph(escape(report.subtitle), styles["subtitle"]))
        width = page_size[0] - document.leftMargin - document.rightMargin
        for section in report.sections:
            # A heading never ends a page: start a new one unless a few table rows fit under it.
            story += [CondPageBreak(35 * mm), Paragraph(escape(section.title), styles["heading"])]
            if section.rows:
                story.append(self._table(section, width, styles, yes_no))
            else:
                story.append(Paragraph(no_data, styles["note"]))
            story += [Paragraph(escape(note), styles["note"]) for note in section.notes]
            if self.config["charts"] and section.chart is not None and _known(section):
                story += [Spacer(1, 4 * mm), self._chart(section, min(width, 180 * mm))]

        def footer(canvas, pages):
            canvas.saveState()
            canvas.setFont(FONT, 8)
            canvas.setFillColorRGB(0.35, 0.35, 0.35)
            canvas.drawString(document.leftMargin, 10 * mm, report.title[:120])
            canvas.drawRightString(page_size[0] - document.rightMargin, 10 * mm, self.words(
                self.message("page %(n)s of %(total)s", n=canvas.getPageNumber(), total=pages)))
            canvas.restoreState()

        document.build(story, canvasmaker=numbered_canvas(footer))
        return buffer.getvalue()

    def _table(self, section, width, styles, yes_no):
        from reportlab.lib import colors
        from reportlab.platypus import LongTable, Paragraph, TableStyle

        size = self.config["font_size"]
        numeric = numeric_columns(section)
        columns = [str(column) for column in section.columns]
        texts = [[self._cell(value, yes_no) for value in row] for row in section.rows]
        widths = self._widths(columns, texts, width)
        room = [w - PADDING for w in widths]
        # A plain string where the text fits its column (quick to lay out), a wrapping paragraph where it does not.
        header = [column if measure(column, BOLD, size) <= room[i] else
                  Paragraph(escape(column), styles["number_header" if numeric[i] else "header"])
                  for i, column in enumerate(columns)]
        body = [[cell if measure(cell, FONT, size) <= room[i] else
                 Paragraph(escape(cell), styles["cell"]) for i, cell in enumerate(row)] for row in texts]
        table = LongTable([header] + body, colWidths=widths, repeatRows=1, hAlign="LEFT")
        style = [
            ("FONT", (0, 0), (-1, 0), BOLD, size, size * 1.2),
            ("FONT", (0, 1), (-1, -1), FONT, size, size * 1.2),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(HEADER_FILL)),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#8EA9DB")),
            ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.HexColor("#8EA9DB")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        style += [("ALIGN", (i, 0), (i, -1), "RIGHT") for i, is_numeric in enumerate(numeric) if is_numeric]
        style += [("ALIGN", (i, r), (i, r), "RIGHT") for r, row in enumerate(section.rows, start=1)
                  for i, value in enumerate(row)
                  if not numeric[i] and (is_number(value) or isinstance(value, Suppressed))]  # in a mixed column
        style += [("BACKGROUND", (0, r), (-1, r), colors.HexColor(BAND_FILL)) for r in range(2, len(body) + 1, 2)]
        table.setStyle(TableStyle(style))
        return table

    def _widths(self, columns, texts, available):
        """Column widths: each column as wide as its longest text when that fits on the page; otherwise every
        column keeps room for its longest word (a number never breaks) and the rest is shared out in
        proportion to how much more each column would like."""
        size = self.config["font_size"]
        natural, least = [], []
        for i, column in enumerate(columns):
            cells = {row[i] for row in texts}
            natural.append(PADDING + max([measure(column, BOLD, size)] + [measure(c, FONT, size) for c in cells]))
            words = [measure(w, BOLD, size) for w in BREAKS.split(column)]
            words += [measure(w, FONT, size) for c in cells for w in BREAKS.split(c)]
            least.append(PADDING + min(max(words + [0]), available / 3))
        if sum(natural) <= available:
            return natural
        if sum(least) >= available:
            return [available * w / sum(least) for w in least]
        wants = [n - m for n, m in zip(natural, least)]
        spare = available - sum(least)
        return [m + spare * w / sum(wants) for m, w in zip(least, wants)]

    def _chart(self, section, width):
        from reportlab.graphics.charts.barcharts import VerticalBarChart
        from reportlab.graphics.charts.legends import Legend
        from reportlab.graphics.charts.linecharts import HorizontalLineChart
        from reportlab.graphics.shapes import Drawing
        from reportlab.lib import colors

        labels, series = chart_series(section)
        language = self.language
        height = 180
        drawing = Drawing(width, height + 40)
        # a line needs two points: a series with fewer known values is drawn as bars
        bars = section.chart.kind == "bar" or min(sum(v is not None for v in values) for _, values in series) < 2
        chart = VerticalBarChart() if bars else HorizontalLineChart()
        chart.x, chart.y, chart.width, chart.height = 45, 45, width - 60, height - 30
        chart.data = [tuple(0 if v is None else v for v in values) if bars else tuple(values)
                      for _, values in series]
        chart.categoryAxis.categoryNames = [label[:18] for label in labels]
        chart.categoryAxis.labels.fontSize = 7
        if len(labels) > 8:
            chart.categoryAxis.labels.angle = 45
            chart.categoryAxis.labels.boxAnchor = "ne"
            chart.categoryAxis.labels.dx, chart.categoryAxis.labels.dy = 4, -2
        every = max(1, -(-len(labels) // 24))  # at most about 24 labels under the axis
        if every > 1:
            chart.categoryAxis.categoryNames = [label if i % every == 0 else "" for i, label in
                                                enumerate(chart.categoryAxis.categoryNames)]
        values = [v for _, vs in series for v in vs if v is not None]
        chart.valueAxis.valueMin = min([0.0] + values)
        if values and max(values) == min(0.0, min(values)):
            chart.valueAxis.valueMax = chart.valueAxis.valueMin + 1
        chart.valueAxis.labels.fontSize = 7
        chart.valueAxis.labelTextFormat = lambda v: number(float(v), language)
        chart.valueAxis.visibleGrid = True
        chart.valueAxis.gridStrokeColor = colors.HexColor("#DDDDDD")
        for index in range(len(series)):
            colour = colors.HexColor(SERIES_COLOURS[index % len(SERIES_COLOURS)])
            if bars:
                chart.bars[index].fillColor = colour
                chart.bars[index].strokeColor = None
            else:
                chart.lines[index].strokeColor = colour
                chart.lines[index].strokeWidth = 1.5
        drawing.add(chart)
        legend = Legend()
        legend.x, legend.y = 45, height + 30
        legend.fontSize, legend.boxAnchor = 8, "nw"
        legend.alignment, legend.columnMaximum = "right", 1
        legend.dx, legend.dy, legend.deltax, legend.autoXPadding = 8, 8, 0, 18
        legend.colorNamePairs = [(colors.HexColor(SERIES_COLOURS[i % len(SERIES_COLOURS)]), name[:40])
                                 for i, (name, _) in enumerate(series)]
        drawing.add(legend)
        return drawing
