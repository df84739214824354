"""The matching rules as data: which deterministic rules link records outright, which
blocking rules pick the pairs the probabilistic model scores, and its thresholds.

The defaults below are the rules crm-hub ships with; ``match_rules.yaml`` beside this
module spells them out as a starting point for a file of one's own
(``crm-hub resolve --rules FILE``). Any key left out of a file keeps its default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from schemas.errors import ConfigError
from schemas.strict import FrozenStrict
from schemas.yamlfile import load_model

#: What records are compared on: the normalised columns of :func:`prepare`.
Feature = Literal[
    "source",
    "customer_id",
    "kind",
    "name",
    "name_key",
    "name_latin",
    "company_place",
    "company_brand",
    "company_industry",
    "company_form",
    "given_name",
    "surname",
    "tax_id",
    "email",
    "phone",
    "phone_national",
    "street",
    "street_number",
    "street2",
    "city",
    "region",
    "postcode",
    "country",
    "date_of_birth",
]
DEFAULT_FILE = Path(__file__).with_name("match_rules.yaml")


class DeterministicRule(FrozenStrict):
    """Records agreeing on every ``equal`` feature (none of them empty) are the same
    customer, unless they disagree on an ``unless_different`` feature (both present and
    different): then the probabilistic model decides."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    equal: list[Feature] = Field(min_length=1)
    unless_different: list[Feature] = []


class Training(FrozenStrict):
    """How the probabilistic model's parameters are estimated from the data itself."""

    #: u probabilities: at most this many random pairs are compared
    max_pairs: float = Field(default=2e5, gt=0)
    #: one EM session per rule; each estimates m of the comparisons it does not block on
    em_blocking: list[list[Feature]] = [["postcode"], ["date_of_birth"], ["phone"], ["email"]]
    #: tried in turn only when no ``em_blocking`` session could run: blocks of one name
    #: hold namesakes, which EM can take for matches
    em_fallback: list[list[Feature]] = [["name_key"], ["city"]]
    #: EM: at most about this many pairs per session
    em_max_pairs: float = Field(default=5e6, gt=0)
    #: no m probability below this (one typo must not veto a match)
    min_m_probability: float = Field(default=0.001, gt=0, lt=0.1)
    #: the share of true matches the deterministic rules are believed to find (prior)
    deterministic_recall: float = Field(default=0.7, gt=0, le=1)
    seed: int = 42


class MatchConfig(FrozenStrict):
    """Deterministic rules first, then a Splink model for the rest."""

    deterministic: list[DeterministicRule] = [
        DeterministicRule(name="same_source_key", equal=["source", "customer_id"]),
        DeterministicRule(name="same_tax_id", equal=["tax_id"]),
        DeterministicRule(name="same_email", equal=["email"], unless_different=["tax_id", "phone"]),
        DeterministicRule(name="same_phone", equal=["phone"], unless_different=["tax_id"]),
        DeterministicRule(
            name="same_national_phone",
            equal=["phone_national"],
            unless_different=["tax_id", "country", "company_place"],
        ),
        # a Chinese company's registered name (place, brand, industry) is unique where
        # it is registered; the same brand in another city is another company
        DeterministicRule(
            name="same_company_name",
            equal=["company_place", "company_brand", "company_industry"],
            unless_different=["tax_id", "phone", "email", "postcode"],
        ),
        DeterministicRule(
            name="same_name_postcode",
            equal=["name_key", "postcode"],
            unless_different=["tax_id", "phone", "email", "date_of_birth", "street_number"],
        ),
        DeterministicRule(
            name="same_name_birth_date",
            equal=["name_key", "date_of_birth"],
            unless_different=["tax_id", "phone", "email"],
        ),
    ]
    #: candidate pairs for the model: records that agree on all features of one rule
    blocking: list[list[Feature]] = [
        ["tax_id"],
        ["email"],
        ["phone"],
        ["phone_national"],
        ["name_key"],
        ["name_latin"],
        ["company_brand"],
        ["given_name", "surname"],
        ["surname", "date_of_birth"],
        ["given_name", "date_of_birth"],
        ["date_of_birth"],
        ["postcode"],
        ["street", "postcode"],
        ["street", "city"],
        ["street_number", "city"],
    ]
    #: a key value shared by more records than this is a placeholder or too common to
    #: identify anyone (``info@``, ``王伟``): it neither links records by a deterministic
    #: rule nor makes candidate pairs
    max_key_frequency: int = Field(default=50, ge=2)
    #: pairs at or above this match probability are the same customer
    threshold: float = Field(default=0.95, gt=0, lt=1)
    #: pairs between this and ``threshold`` are reported for review, not linked
    review_threshold: float = Field(default=0.5, gt=0, lt=1)
    training: Training = Training()
    #: the region (ISO 3166 code, e.g. ``CN``) of phone numbers without a country code
    #: in records without a country; None: inferred per record, then per file
    default_country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")

    @model_validator(mode="after")
    def _check(self) -> MatchConfig:
        if self.review_threshold > self.threshold:
            raise ValueError("review_threshold must not be above threshold")
        names = [r.name for r in self.deterministic]
        if len(names) != len(set(names)):
            raise ValueError(f"deterministic rule names repeat: {names}")
        return self


def load_match_config(
    path: Path | None = None, *, default_country: str | None = None
) -> MatchConfig:
    """The rules in ``path`` (every problem reported at once), or the defaults; with
    ``default_country`` (``--country``, ``identity.default_country``) as the phone region
    of records without a country."""
    config = (
        MatchConfig()
        if path is None
        else load_model(path, MatchConfig, ConfigError, "match rules file")
    )
    return with_default_country(config, default_country)


def with_default_country(config: MatchConfig, country: str | None) -> MatchConfig:
    """``config`` with ``country`` as its default phone region (unchanged when None).
    Raises :class:`ConfigError` for a code ``phonenumbers`` does not know."""
    if country is None:
        return config
    import phonenumbers

    code = country.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"default country {country!r}: not a region code phone numbers know "
            "(two letters of ISO 3166, e.g. CN, US, DE)"
        )
    return config.model_copy(update={"default_country": code})
