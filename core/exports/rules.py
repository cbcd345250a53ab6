"""The rules of a schedule that need no database: its cron expression, time zone, webhook URL and periods.

A schedule fires at the times of its cron expression, read as wall-clock
times in its time zone (croniter, so a time skipped or repeated by a change
of the clocks fires once or twice, and both map to the same period). Each
run covers the last completed calendar period (month, quarter or year)
before the time it fired, so consecutive runs cover consecutive periods
that never overlap, and the same period is never exported twice: every
fire time within a period gives the same period, and so the same item.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter
from dateutil.relativedelta import relativedelta

from core.exports.models import MONTH, PERIODS, QUARTER, YEAR
from core.messages import Message
from core.programme import kpis

#: The aliases croniter reads that fire at most once an hour.
ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
CRON_LENGTH, URL_LENGTH = 100, 2000


# ----------------------------------------------------------------------------- periods

@dataclass(frozen=True)
class Period(kpis.Period):
    """A calendar month, quarter or year (``kind``): ``start`` to ``end`` inclusive, a report's period too."""

    kind: str = MONTH

    @property
    def label(self) -> str:
        """``2026-03``, ``2026-Q1`` or ``2026``: for file names and keys."""
        if self.kind == MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    def overlaps(self, other: Period) -> bool:
        return self.start <= other.end and other.start <= self.end

    @classmethod
    def starting(cls, kind: str, start: date) -> Period:
        """The period of *kind* that starts on *start* (the first day of a month, quarter or year)."""
        months = {MONTH: 1, QUARTER: 3, YEAR: 12}[kind]
        return cls(start, start + relativedelta(months=months) - timedelta(days=1), kind)


def period_before(moment: datetime, kind: str, zone: str) -> Period:
    """The last calendar period of *kind* completed before *moment* (aware), on the calendar of *zone*."""
    day = moment.astimezone(ZoneInfo(zone)).date()
    if kind == MONTH:
        current = day.replace(day=1)
        return Period.starting(kind, current - relativedelta(months=1))
    if kind == QUARTER:
        current = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return Period.starting(kind, current - relativedelta(months=3))
    if kind == YEAR:
        return Period.starting(kind, date(day.year - 1, 1, 1))
    raise ValueError(f"no period {kind!r}; known: {', '.join(PERIODS)}")


# ----------------------------------------------------------------------------- cron and time zone

def last_fire(cron: str, zone: str, now: datetime) -> datetime:
    """The latest time at or before *now* at which *cron* fires in *zone*, in UTC."""
    start = now.astimezone(ZoneInfo(zone)) + timedelta(seconds=1)  # a fire at *now* itself counts
    return croniter(cron, start).get_prev(datetime).astimezone(UTC)


def next_fire(cron: str, zone: str, now: datetime) -> datetime:
    """The first time after *now* at which *cron* fires in *zone*, in UTC."""
    return croniter(cron, now.astimezone(ZoneInfo(zone))).get_next(datetime).astimezone(UTC)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(zone: str) -> list[Message]:
    """What is wrong with *zone* as an IANA time zone name."""
    if zone in _zones():
        return []
    return [Message("Not a time zone of the IANA database, such as Europe/Amsterdam.", code="invalid_time_zone")]


def check_cron(cron: str) -> list[Message]:
    """What is wrong with *cron*: a cron expression of five fields (or an alias such as ``@daily``) that
    croniter reads, that fires at some time, and at most once an hour (one minute of the hour)."""
    text = normal_cron(cron)
    if not text or len(text) > CRON_LENGTH:
        return [Message("Give a cron expression of at most %(length)s characters, such as \"0 6 1 * *\".",
                        {"length": CRON_LENGTH}, code="invalid_cron")]
    if text.startswith("@") and text not in ALIASES:
        return [Message("Not a cron expression croniter reads, such as \"0 6 1 * *\" (minute, hour, day, month, "
                        "weekday).", code="invalid_cron")]
    if not text.startswith("@") and len(text.split(" ")) != 5:
        return [Message("A cron expression has five fields: minute, hour, day of the month, month and weekday "
                        "(such as \"0 6 1 * *\").", code="invalid_cron")]
    try:
        minutes = croniter(text).expanded[0]
        croniter(text, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        return [Message("This cron expression never fires.", code="invalid_cron")]
    except (CroniterBadCronError, CroniterError, ValueError, KeyError):
        return [Message("Not a cron expression croniter reads, such as \"0 6 1 * *\" (minute, hour, day, month, "
                        "weekday).", code="invalid_cron")]
    if len(minutes) != 1 or minutes[0] == "*":
        return [Message("An export runs at most once an hour: give one minute of the hour (such as \"0 6 * * *\").",
                        code="cron_too_often")]
    return []


def normal_cron(cron: str) -> str:
    """*cron* with its fields separated by one space (an alias in lower case)."""
    text = " ".join(cron.split())
    return text.lower() if text.startswith("@") else text


# ----------------------------------------------------------------------------- webhook

def check_webhook_url(url: str) -> list[Message]:
    """What is wrong with *url* as a webhook's address: HTTPS only, with a host, no login and no fragment."""
    if not url or len(url) > URL_LENGTH:
        return [Message("Give the receiver's https:// address, of at most %(length)s characters.",
                        {"length": URL_LENGTH}, code="invalid_webhook_url")]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return [Message("Not a URL.", code="invalid_webhook_url")]
    if parts.scheme.lower() != "https":
        return [Message("A webhook is sent over HTTPS only: the address must start with https://.",
                        code="webhook_not_https")]
    if not parts.hostname or any(c.isspace() for c in url) or port == 0:
        return [Message("Not a URL with a host.", code="invalid_webhook_url")]
    if parts.username is not None or parts.password is not None:
        return [Message("Put no user name or password in the address; the signature proves who sends.",
                        code="invalid_webhook_url")]
    if parts.fragment:
        return [Message("An address with a fragment (#...) cannot be sent to.", code="invalid_webhook_url")]
    return []
