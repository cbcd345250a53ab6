"""The geometry of a line chart, computed here rather than in Jinja loops (the dashboard draws four)."""
from __future__ import annotations

from dataclasses import dataclass

from core.web import bp

WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 640, 220, 48, 28, 12, 12
COLOURS = ("#00558c", "#a4001b", "#0b6b2f", "#7a4d00")  # each at least 4.5:1 on white


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    dashed: bool
    points: list[tuple[float, float]]

    @property
    def polyline(self) -> str:
        return " ".join(f"{x},{y}" for x, y in self.points)


@dataclass(frozen=True)
class Geometry:
    high: float
    ticks: list[tuple[float, str]]  # (x, label) of the labelled months
    lines: list[Line]


@bp.app_template_global()
def chart_geometry(labels: list[str], series: list[tuple[str, list]]) -> Geometry:
    """Where the points of *series* (``[(name, [value or None, ...])]``) fall; the y axis from 0 to the
    highest value, a label on the first, the last and every third month."""
    values = [v for _name, points in series for v in points if v is not None]
    high = max(values, default=1) or 1
    step = (WIDTH - LEFT - RIGHT) / max(len(labels) - 1, 1)
    span = HEIGHT - BOTTOM - TOP
    ticks = [(round(LEFT + i * step, 1), label) for i, label in enumerate(labels)
             if i in (0, len(labels) - 1) or i % 3 == 0]
    lines = [Line(name, COLOURS[n % len(COLOURS)], bool(n % 2),
                  [(round(LEFT + i * step, 1), round(HEIGHT - BOTTOM - (v / high) * span, 1))
                   for i, v in enumerate(points) if v is not None])
             for n, (name, points) in enumerate(series)]
    return Geometry(high, ticks, lines)
