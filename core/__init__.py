"""Koppel's Flask core.

Koppel's "today" is the Dutch day: due dates, the KPIs' periods and the dates a form fills in are days in
the Netherlands, and the KPIs count moments by the Dutch day they fall on. So the process keeps Amsterdam
time (``date.today()`` is the Dutch date also on a server whose clock is set to UTC); moments stay
timezone-aware UTC (``core.types.utcnow``).
"""
import os
import time

os.environ["TZ"] = "Europe/Amsterdam"
time.tzset()

from core.app import create_app  # noqa: E402 - after the time zone, so that nothing reads the date before

__all__ = ["create_app"]
