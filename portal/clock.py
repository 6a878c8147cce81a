"""The one place code asks for the time.

In-process tests move it with time-machine. Processes a test starts (workers, the simulator) follow a
clock offset in seconds from the file named by PORTAL_CLOCK_OFFSET_FILE, read at every call, so a
running process moves when the test moves the clock. Production settings refuse to start with it.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path

from django.utils import timezone

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _offset() -> dt.timedelta:
    path = os.environ.get("PORTAL_CLOCK_OFFSET_FILE")
    if not path:
        return dt.timedelta(0)
    try:
        return dt.timedelta(seconds=float(Path(path).read_text().strip() or 0))
    except (FileNotFoundError, ValueError):
        return dt.timedelta(0)


def now() -> dt.datetime:
    """The current moment, aware, in UTC."""
    return timezone.now() + _offset()


def today() -> dt.date:
    """Today's date in Europe/London (the council's calendar, whatever the server's zone)."""
    return now().astimezone(LONDON).date()
