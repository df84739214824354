"""The ``reconcile:`` section of ``crm-hub.yaml``: matching rules and survivorship.

Survivorship says, per golden field, which of a customer's source records supplies the
value. The section may also live in a file of its own, named from the config file
(``reconcile: reconcile.yaml``); relative paths in it are taken from its own folder.

    reconcile:
      match_rules: match_rules.yaml        # default: the rules crm-hub ships with
      identity:
        default_country: CN                # phones without a country code (default: inferred)
      survivorship:
        source_priority: [finance_erp, legacy_erp]
        fields:
          name: source_priority
          email: {rule: most_recent}
          tax_id: {rule: source_priority, sources: [finance_erp]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, ValidationInfo, field_validator, model_validator

from schemas.strict import FrozenStrict

GoldenField = Literal[
    "kind", "name", "tax_id", "email", "phone", "street", "city", "region", "postcode", "country"
]
GOLDEN_FIELDS: tuple[str, ...] = get_args(GoldenField)
RuleName = Literal[
    "source_priority", "most_recent", "most_complete", "most_frequent", "never_empty_over_value"
]
RULES: tuple[str, ...] = get_args(RuleName)
#: The country a phone number without a country code is read in, unless its record says
DEFAULT_PHONE_REGION = "CN"


class FieldRule(FrozenStrict):
    """How one golden field is chosen among the customer's source records.

    - ``source_priority``: the first source in ``sources`` (else the section's
      ``source_priority``) that has a value; unlisted sources come last; ties: most recent.
    - ``most_recent``: the value of the most recently changed record that has one.
    - ``most_complete``: the value of the record with the most golden fields filled
      (keeps an address from one record); ties: the longer value, then most recent.
    - ``most_frequent``: the value most records agree on (compared without case, width
      or spacing differences); ties: most recent. The newest spelling is kept.
    - ``never_empty_over_value``: most recent, and once the golden record has a value,
      sources that are all empty now (a field cleared) never blank it.

    Empty values (missing or blank) never win under any rule. A pin always wins.
    """

    rule: RuleName
    sources: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"rule": value} if isinstance(value, str) else value


#: The rules used for fields the config says nothing about.
BUILT_IN_RULES: dict[str, FieldRule] = {
    "kind": FieldRule(rule="most_frequent"),
    "name": FieldRule(rule="most_frequent"),
    "tax_id": FieldRule(rule="most_frequent"),
    "email": FieldRule(rule="never_empty_over_value"),
    "phone": FieldRule(rule="never_empty_over_value"),
    "street": FieldRule(rule="most_complete"),
    "city": FieldRule(rule="most_complete"),
    "region": FieldRule(rule="most_complete"),
    "postcode": FieldRule(rule="most_complete"),
    "country": FieldRule(rule="most_frequent"),
}


class Survivorship(FrozenStrict):
    """A rule per golden field: ``fields`` first, then ``default``, then the built-in one."""

    #: the order of sources for ``source_priority`` rules that give no ``sources``
    source_priority: list[str] = []
    #: the rule of every field ``fields`` does not name (default: the built-in rules)
    default: FieldRule | None = None
    fields: dict[GoldenField, FieldRule] = {}

    def rule_for(self, field: str) -> FieldRule:
        """The rule of one golden field, with its source order filled in."""
        # fields is keyed by GoldenField; a name outside it is simply not there
        rule = self.fields.get(field) or self.default or BUILT_IN_RULES[field]  # type: ignore[call-overload]
        if rule.rule == "source_priority" and not rule.sources:
            return rule.model_copy(update={"sources": list(self.source_priority)})
        return rule

    @model_validator(mode="after")
    def _priorities_given(self) -> Survivorship:
        if self.source_priority:
            return self
        named: dict[str, FieldRule] = dict(self.fields.items())
        if self.default is not None:
            named["(default)"] = self.default
        missing = [f for f, r in named.items() if r.rule == "source_priority" and not r.sources]
        if missing:
            raise ValueError(
                f"source_priority rule without sources for {', '.join(missing)}: give "
                "survivorship.source_priority or the field's sources"
            )
        return self


class IdentitySettings(FrozenStrict):
    """How customer records are read for matching."""

    #: the region (ISO 3166 code, e.g. ``CN``) of phone numbers without a country code
    #: in records without a country; default: inferred from each record (script, place
    #: names, the number's shape), then from the majority of its source
    default_country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")


class ReconcileConfig(FrozenStrict):
    """Identity resolution and golden records."""

    #: a YAML file of matching rules (see ``crm_core/identity/match_rules.yaml``);
    #: default: the rules crm-hub ships with
    match_rules: Path | None = None
    #: false: deterministic rules only, no probabilistic model (fast, fully explainable)
    probabilistic: bool = True
    #: retrain the model when the customer records have grown this many times over
    #: since it was trained (matching stays incremental)
    retrain_growth: float = Field(default=2.0, gt=1)
    survivorship: Survivorship = Survivorship()
    identity: IdentitySettings = IdentitySettings()
    #: the country (ISO 3166 alpha-2) a phone number written without a country code is
    #: read in when its record has no country: the golden records' phone index and the
    #: API's phone lookup (``GET /lookup/phone/{number}``) both read numbers so
    phone_region: str = Field(default=DEFAULT_PHONE_REGION, pattern=r"^[A-Z]{2}$")

    @field_validator("match_rules")
    @classmethod
    def _relative_to_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if value is None or value.is_absolute() or base is None:
            return value
        return (Path(base) / value).resolve()
