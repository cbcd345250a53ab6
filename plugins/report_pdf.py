"""Reports as PDF (reportlab): the title, then per section a heading, a table and its chart.

Tables have a bold, filled header row that repeats on every page the table
runs over, light bands between rows, numbers right-aligned and written the
Dutch way (``1.234,50``, or ``1,234.50`` with ``language: en``); dates are ISO.
Long text wraps within its column; columns are as wide as their content
allows. A section with a chart gets a bar or line chart (one series per
y column, with a legend) under its table; a section without rows says so.
Pages are A4 (or letter), landscape when a section has more than six columns
(``orientation: auto``), numbered in the footer with the report's title.

The standard PDF fonts (Helvetica) cover Dutch and Western European text and
the euro sign. The file is reproducible: the same report gives the same bytes.
"""
import re
from datetime import datetime
from xml.sax.saxutils import escape

from marshmallow import fields, validate

from plugins._report import ReportFormat, chart_series, is_number, number, numeric_columns, text

HEADER_FILL = "#D9E1F2"
BAND_FILL = "#F3F6FA"
SERIES_COLOURS = ("#2F5597", "#C55A11", "#548235", "#7F6000", "#7030A0", "#1F7F7F")
NBSP = "\u00a0"
BREAKS = re.compile(r"[ \t\r\n]+")  # where a paragraph may break a line (not at a no-break space)
WIDE = 6  # more columns than this make a page landscape (orientation "auto")


class PdfReport(ReportFormat):
    name = "report.pdf"
    version = "1.0.0"
    media_format = "pdf"
    media_type = "application/pdf"
    extension = "pdf"
    title = {"nl": "Rapport als PDF", "en": "Report as PDF"}
    description = {
        "nl": "Een PDF om te lezen en te versturen: per onderdeel een tabel en, waar het onderdeel er een heeft, "
              "een staaf- of lijngrafiek; getallen op zijn Nederlands.",
        "en": "A PDF to read and send on: per section a table and, where the section has one, a bar or line chart; "
              "numbers written the Dutch way by default.",
    }

    class Config(ReportFormat.Config):
        language = fields.String(load_default="nl", validate=validate.OneOf(["nl", "en"]),
                                 metadata={"description": "the language of numbers, yes/no, \"no data\" and the "
                                                          "page numbers"})
        page_size = fields.String(load_default="A4", validate=validate.OneOf(["A4", "letter"]))
        orientation = fields.String(load_default="auto", validate=validate.OneOf(["auto", "portrait", "landscape"]))
        font_size = fields.Integer(load_default=9, validate=validate.Range(min=6, max=14),
                                   metadata={"description": "font size of the tables, in points"})
        charts = fields.Boolean(load_default=True, metadata={"description": "draw each section's chart"})

    # --- cells -------------------------------------------------------------------------------------

    def _cell(self, value) -> str:
        if isinstance(value, bool):
            return self.words(self.message("yes") if value else self.message("no"))
        if is_number(value):
            return number(value, self.language)
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

    def render(self, report):
        import io

        from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
        from reportlab.lib.units import mm
        from reportlab.platypus import CondPageBreak, Paragraph, SimpleDocTemplate, Spacer

        buffer = io.BytesIO()
        page_size = self._page_size(report)
        document = SimpleDocTemplate(
            buffer, pagesize=page_size, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
            bottomMargin=18 * mm, title=report.title, subject=report.subtitle or "", author="Koppel",
            creator="Koppel", invariant=1)
        styles = getSampleStyleSheet()
        size = self.config["font_size"]
        self.styles = {
            "title": styles["Title"],
            "subtitle": ParagraphStyle("subtitle", parent=styles["Normal"], fontSize=11, leading=14,
                                       alignment=1, spaceAfter=6 * mm),
            "heading": ParagraphStyle("heading", parent=styles["Heading2"], spaceBefore=4 * mm),
            "cell": ParagraphStyle("cell", parent=styles["Normal"], fontSize=size, leading=size * 1.2),
            "number": ParagraphStyle("number", parent=styles["Normal"], fontSize=size, leading=size * 1.2,
                                     alignment=2),
            "header": ParagraphStyle("header", parent=styles["Normal"], fontName="Helvetica-Bold",
                                     fontSize=size, leading=size * 1.2),
            "number_header": ParagraphStyle("number_header", parent=styles["Normal"], fontName="Helvetica-Bold",
                                            fontSize=size, leading=size * 1.2, alignment=2),
            "note": ParagraphStyle("note", parent=styles["Italic"], fontSize=size),
        }
        story = [Paragraph(escape(report.title), self.styles["title"])]
        if report.subtitle:
            story.append(Paragraph(escape(report.subtitle), self.styles["subtitle"]))
        width = page_size[0] - document.leftMargin - document.rightMargin
        for section in report.sections:
            # A heading never ends a page: start a new one unless a few table rows fit under it.
            story += [CondPageBreak(35 * mm), Paragraph(escape(section.title), self.styles["heading"])]
            if not section.rows:
                story.append(Paragraph(escape(self.words(self.message("No data in this period."))),
                                       self.styles["note"]))
                continue
            story.append(self._table(section, width))
            if self.config["charts"] and section.chart is not None:
                story += [Spacer(1, 4 * mm), self._chart(section, min(width, 180 * mm))]
        def footer(canvas, doc):
            canvas.saveState()
            canvas.setFont("Helvetica", 8)
            canvas.setFillColorRGB(0.35, 0.35, 0.35)
            canvas.drawString(doc.leftMargin, 10 * mm, report.title[:120])
            canvas.drawRightString(page_size[0] - doc.rightMargin, 10 * mm,
                                   self.words(self.message("page %(n)s", n=doc.page)))
            canvas.restoreState()

        document.build(story, onFirstPage=footer, onLaterPages=footer)
        return buffer.getvalue()

    def _table(self, section, width):
        from reportlab.lib import colors
        from reportlab.platypus import LongTable, Paragraph, TableStyle

        numeric = numeric_columns(section)
        header = [Paragraph(escape(str(column)), self.styles["number_header" if numeric[i] else "header"])
                  for i, column in enumerate(section.columns)]
        texts = [[self._cell(value) for value in row] for row in section.rows]
        body = [[Paragraph(escape(cell), self.styles["number" if numeric[i] else "cell"]) for i, cell in enumerate(row)]
                for row in texts]
        widths = self._widths([str(c) for c in section.columns], texts, width)
        table = LongTable([header] + body, colWidths=widths, repeatRows=1, hAlign="LEFT")
        style = [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(HEADER_FILL)),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#8EA9DB")),
            ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.HexColor("#8EA9DB")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        style += [("BACKGROUND", (0, r), (-1, r), colors.HexColor(BAND_FILL)) for r in range(2, len(body) + 1, 2)]
        table.setStyle(TableStyle(style))
        return table

    def _widths(self, columns, texts, available):
        """Column widths: each column as wide as its longest text when that fits on the page; otherwise every
        column keeps room for its longest word (a number never breaks) and the rest is shared out in
        proportion to how much more each column would like."""
        from reportlab.pdfbase.pdfmetrics import stringWidth

        size, padding = self.config["font_size"], 6 + 6 + 1  # the table's left and right padding

        def measure(value, bold=False):
            return stringWidth(value, "Helvetica-Bold" if bold else "Helvetica", size)

        natural, least = [], []
        for i, column in enumerate(columns):
            cells = [row[i] for row in texts]
            natural.append(padding + max([measure(column, True)] + [measure(c) for c in cells]))
            words = [measure(w, True) for w in BREAKS.split(column)] + [measure(w) for c in cells for w in BREAKS.split(c)]
            least.append(padding + min(max(words + [0]), available / 3))
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
        chart = VerticalBarChart() if section.chart.kind == "bar" else HorizontalLineChart()
        chart.x, chart.y, chart.width, chart.height = 45, 45, width - 60, height - 30
        chart.data = [tuple(0 if v is None else v for v in values) if section.chart.kind == "bar" else tuple(values)
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
            if section.chart.kind == "bar":
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
