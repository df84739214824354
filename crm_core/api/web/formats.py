"""Numbers, money, dates and times as the reader expects them: Babel's CLDR formats for
the page's language, times moved into the reader's time zone (the ``tz`` cookie)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from crm_core.api.web.i18n import ZH
from mappings.codes import load_code_lists

BABEL_LOCALES = {ZH: Locale.parse("zh_Hans_CN"), "en": Locale.parse("en_US")}
Amount = Decimal | int | float | str


def _decimal(value: Amount) -> Decimal | int | float:
    """A number as Babel takes it; text (an outbox change's exact amount) as a Decimal."""
    return Decimal(value) if isinstance(value, str) else value


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone ``name``, UTC when missing or unknown."""
    if name and len(name) <= 64:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


@dataclass(frozen=True)
class Formats:
    """Formatters for one language and time zone, handed to the templates."""

    lang: str
    tz: ZoneInfo

    @property
    def locale(self) -> Locale:
        """Babel's locale for the language."""
        return BABEL_LOCALES[self.lang]

    def money(self, amount: Amount | None, currency: str | None) -> str:
        """``amount`` in ``currency`` (``¥1,234.50``, ``US$1,234.50``); empty for None."""
        if amount is None:
            return ""
        if not currency:
            return self.number(amount)
        return format_currency(_decimal(amount), currency, locale=self.locale)

    def code(self, code_list: str, value: str | None) -> str:
        """A canonical code's label in the page's language (``mappings/reference``); a code
        the list does not have (a source code without a crosswalk entry) as it is."""
        if not value:
            return ""
        return load_code_lists().label(code_list, value, self.lang.split("-")[0])

    def number(self, value: Amount | None) -> str:
        """A number with the locale's grouping; empty for None."""
        if value is None:
            return ""
        return format_decimal(_decimal(value), locale=self.locale)

    def percent(self, value: Decimal | float | None) -> str:
        """A ratio as a percentage (0.95 -> 95%)."""
        if value is None:
            return ""
        return format_percent(value, locale=self.locale)

    def points(self, value: Amount | None) -> str:
        """A percentage given in points, up to two decimals (2.5 -> 2.5%)."""
        if value is None:
            return ""
        return format_percent(Decimal(str(value)) / 100, "#,##0.##%", locale=self.locale)

    def day(self, value: date | None) -> str:
        """A calendar date (no time zone: an order date is the same day everywhere)."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            return self.moment(value)
        return format_date(value, format="medium", locale=self.locale)

    def moment(self, value: datetime | None) -> str:
        """A point in time, in the reader's time zone (naive times are UTC)."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return format_datetime(value, format="short", tzinfo=self.tz, locale=self.locale)
