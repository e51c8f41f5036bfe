"""How numbers, times and durations read to a person, shared by the command and the window."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime

import phonenumbers

DEFAULT_HOME_REGION = "IN"


def calling_codes() -> dict[str, int]:
    """Each region's country calling code (``{"IN": 91, ...}``), read from phonenumbers'
    code-to-regions table: asking `phonenumbers.country_code_for_region` region by region
    loads every region's metadata module (245 imports, a tenth of a second at start-up)."""
    return {
        region: code
        for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
        for region in regions
    }


#: Views ask for the same numbers on every paint and every size hint (a table's column
#: fitted to its contents asks each row several times); phonenumbers' parse is costly.
@functools.lru_cache(maxsize=4096)
def format_number(
    e164: str, home_region: str = DEFAULT_HOME_REGION, *, international: bool = False
) -> str:
    """National format for numbers of the home country, international for the rest (and
    for every number with `international`: a file name must read the same anywhere)."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, home_region)
    except phonenumbers.NumberParseException:
        return e164
    if not phonenumbers.is_possible_number(parsed):
        return e164
    region = phonenumbers.region_code_for_number(parsed)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == home_region and not international
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(parsed, style))


def prepare_number_formats(
    numbers: Iterable[str], home_region: str = DEFAULT_HOME_REGION
) -> None:
    """Format `numbers` now, on the caller's (worker) thread: phonenumbers loads a
    country's metadata and compiles its patterns when it formats that country's first
    number (4-19 ms; +1 loads 25 regions), which a view would otherwise pay in the
    middle of a paint, on the keystroke that first shows such a number."""
    for number in numbers:
        format_number(number, home_region)


def format_duration(seconds: int) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` beyond."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"



def local_datetime(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC).astimezone()


def format_local_time(timestamp: int) -> str:
    return local_datetime(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(timestamp: int) -> str:
    """ISO 8601 in UTC with ``Z``: the stable form of machine-readable output."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
