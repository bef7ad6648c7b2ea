"""Business days are Taiwan days: the boundary lies at 16:00 UTC, the same every day of the year."""

from datetime import UTC, date, datetime

from models.business_days import TAIWAN, TAIWAN_ZONE, business_day, day_start


def test_a_moment_counts_on_the_day_it_is_in_taipei():
    assert business_day(datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC)) == date(2026, 3, 31)
    assert business_day(datetime(2026, 3, 31, 16, 0, tzinfo=UTC)) == date(2026, 4, 1)


def test_a_day_starts_at_midnight_in_taipei_whatever_the_season():
    for day in (date(2026, 1, 15), date(2026, 7, 15)):  # no daylight saving time in Taiwan
        start = day_start(day)
        assert start.tzinfo is UTC
        assert start == datetime(day.year, day.month, day.day - 1, 16, 0, tzinfo=UTC)
        assert business_day(start) == day


def test_the_zone_carries_its_iana_name_for_postgres_and_browsers():
    assert TAIWAN.tzname(None) == TAIWAN_ZONE == "Asia/Taipei"
