"""Business days are Taiwan days: sales, rollups, footfall and date filters count by the day in Taipei.

Pure: these functions convert the moments they are given and never read a clock.
"""

from datetime import UTC, date, datetime, time, timedelta, timezone

TAIWAN_ZONE = "Asia/Taipei"
"""The IANA name, for what takes a zone by name (PostgreSQL's ``timezone()``, a browser's time zone)."""

# A fixed offset: Taiwan has had no daylight saving time since 1979, so UTC+8 is exact for every date the
# system sees, with no time zone database to install or keep current.
TAIWAN = timezone(timedelta(hours=8), TAIWAN_ZONE)


def business_day(at: datetime) -> date:
    """The Taiwan day a moment falls on."""
    return at.astimezone(TAIWAN).date()


def day_start(day: date) -> datetime:
    """The first moment of a Taiwan day, in UTC (the lower bound of a day's rows)."""
    return datetime.combine(day, time.min, tzinfo=TAIWAN).astimezone(UTC)
