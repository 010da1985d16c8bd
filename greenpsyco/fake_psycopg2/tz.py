"""psycopg2.tz: the fixed-offset and local time zones psycopg2 shipped before Python had its own.

Kept for code that still imports them (psycopg2 2.9 itself uses ``datetime.timezone`` by default).
"""

from __future__ import annotations

import datetime
import time
from typing import Any

ZERO = datetime.timedelta(0)


class FixedOffsetTimezone(datetime.tzinfo):
    """A fixed offset from UTC, given in minutes or as a timedelta; one instance per (offset, name)."""

    _name: str | None = None
    _offset = ZERO
    _cache: dict[tuple[datetime.timedelta, str | None], FixedOffsetTimezone] = {}  # noqa: RUF012

    def __new__(
        cls, offset: int | datetime.timedelta | None = None, name: str | None = None
    ) -> FixedOffsetTimezone:
        key = (_as_delta(offset), name)
        try:
            return cls._cache[key]
        except KeyError:
            instance = super().__new__(cls)
            cls._cache[key] = instance
            return instance

    def __init__(self, offset: int | datetime.timedelta | None = None, name: str | None = None) -> None:
        if offset is not None:
            self._offset = _as_delta(offset)
        if name is not None:
            self._name = name

    def __repr__(self) -> str:
        return f"psycopg2.tz.FixedOffsetTimezone(offset={self._offset!r}, name={self._name!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FixedOffsetTimezone):
            return self._offset == other._offset
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, FixedOffsetTimezone):
            return self._offset != other._offset
        return NotImplemented

    # psycopg2's instances are unhashable
    __hash__ = None  # type: ignore[assignment]

    def __getinitargs__(self) -> tuple[datetime.timedelta, str | None]:
        return self._offset, self._name

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self.__getinitargs__())

    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return self._offset

    def tzname(self, dt: datetime.datetime | None) -> str:
        if self._name is not None:
            return self._name
        minutes, seconds = divmod(abs(int(self._offset.total_seconds())), 60)
        hours, minutes = divmod(minutes, 60)
        text = ("-" if self._offset < ZERO else "+") + f"{hours:02d}"
        if minutes or seconds:
            text += f":{minutes:02d}"
        if seconds:
            text += f":{seconds:02d}"
        return text

    def dst(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return ZERO


def _as_delta(offset: int | datetime.timedelta | None) -> datetime.timedelta:
    if offset is None:
        return ZERO
    if isinstance(offset, datetime.timedelta):
        return offset
    return datetime.timedelta(minutes=offset)


STDOFFSET = datetime.timedelta(seconds=-time.timezone)
DSTOFFSET = datetime.timedelta(seconds=-time.altzone) if time.daylight else STDOFFSET
DSTDIFF = DSTOFFSET - STDOFFSET


class LocalTimezone(datetime.tzinfo):
    """The platform's idea of the local time zone (from the ``time`` module)."""

    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return DSTOFFSET if dt is not None and self._isdst(dt) else STDOFFSET

    def dst(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return DSTDIFF if dt is not None and self._isdst(dt) else ZERO

    def tzname(self, dt: datetime.datetime | None) -> str:
        return time.tzname[dt is not None and self._isdst(dt)]

    def _isdst(self, dt: datetime.datetime) -> bool:
        stamp = time.mktime((dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.weekday(), 0, -1))
        return time.localtime(stamp).tm_isdst > 0


LOCAL = LocalTimezone()

for _cls in (FixedOffsetTimezone, LocalTimezone):
    _cls.__module__ = "psycopg2.tz"
del _cls
