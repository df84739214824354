"""Numbers, money, dates, times and phone numbers as the reader expects them: Babel's CLDR
formats for the page's language (English as the browser's Accept-Language says: en-GB
is not en-US), times moved into the reader's time zone (the ``tz`` cookie), phone numbers
in the national format of the reader's region and international otherwise. The page's
script formats times again in the browser (``<time>`` elements, ``web.js``)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal, format_percent
from markupsafe import Markup

from crm_core.api.web.i18n import ZH
from mappings.codes import load_code_lists
from schemas.reconcile import DEFAULT_PHONE_REGION

BABEL_LOCALES = {ZH: Locale.parse("zh_Hans_CN"), "en": Locale.parse("en_US")}
Amount = Decimal | int | float | str
_INTERNATIONAL = phonenumbers.PhoneNumberFormat.INTERNATIONAL
_NATIONAL = phonenumbers.PhoneNumberFormat.NATIONAL


def reader_locale(lang: str, accept: str | None) -> Locale:
    """Babel's locale for the page's language: Chinese is zh_Hans_CN; English is the
    first English tag with a region in Accept-Language (``en-GB``), else en_US."""
    if lang == ZH:
        return BABEL_LOCALES[ZH]
    for part in (accept or "").split(",")[:20]:
        tag = part.split(";")[0].strip()
        if tag.lower().startswith("en-") and len(tag) <= 16:
            try:
                found = Locale.parse(tag, sep="-")
            except (UnknownLocaleError, ValueError):
                continue
            if found.territory:
                return found
    return BABEL_LOCALES["en"]


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
    #: Babel's locale (default: the language's own, zh_Hans_CN or en_US)
    reader: Locale | None = field(default=None)
    #: where a stored number without a country code is (``reconcile.phone_region``)
    phone_region: str = DEFAULT_PHONE_REGION

    @property
    def locale(self) -> Locale:
        """Babel's locale for the reader."""
        return self.reader or BABEL_LOCALES[self.lang]

    @property
    def region(self) -> str:
        """The reader's country (CN for Chinese, GB for en-GB, US for plain English)."""
        return self.locale.territory or "US"

    def phone(self, value: str | None) -> str:
        """A phone number as stored (``（＋８６） ７５５－５５７３－１７６０``) formatted for
        the reader: national (``0755 5573 1760``) when it is of the reader's country,
        else international (``+86 755 5573 1760``); text that is no phone number as it is."""
        if not value:
            return ""
        text = unicodedata.normalize("NFKC", value).strip()
        try:
            number = phonenumbers.parse(text, self.phone_region)
        except phonenumbers.NumberParseException:
            return text
        if not phonenumbers.is_possible_number(number):
            return text
        home = phonenumbers.region_code_for_number(number) == self.region
        return phonenumbers.format_number(number, _NATIONAL if home else _INTERNATIONAL)

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
        """A point in time, in the reader's time zone (naive times are UTC): a medium date
        and a short time."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        local = value.astimezone(self.tz)
        shown = format_date(local, format="medium", locale=self.locale)
        return f"{shown} {format_time(local, format='short', locale=self.locale)}"

    def moment_html(self, value: datetime | None) -> Markup:
        """:meth:`moment` in a ``<time>`` element the page's script formats again with the
        browser's own locale and zone (``Intl.DateTimeFormat``)."""
        if value is None:
            return Markup("")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        iso = value.astimezone(UTC).isoformat()
        return Markup('<time datetime="{}" data-moment>{}</time>').format(iso, self.moment(value))

    def day_html(self, value: date | None) -> Markup:
        """:meth:`day` in a ``<time>`` element the page's script formats again with the
        browser's own locale."""
        if value is None:
            return Markup("")
        if isinstance(value, datetime):
            return self.moment_html(value)
        return Markup('<time datetime="{}" data-day>{}</time>').format(
            value.isoformat(), self.day(value)
        )
