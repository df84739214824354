"""The probabilistic model: Splink comparisons for the features present in the data,
blocking on precomputed keys, and parameters estimated from the data itself (the prior
from the deterministic rules, u by random sampling, m by expectation maximisation).

Splink is imported here only, lazily, with an install hint when it is missing.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from crm_core.identity.config import MatchConfig, Training
from crm_core.identity.u_sampling import deterministic_prior, unobserved_kept, with_sampled_u
from schemas.errors import ConfigError

log = logging.getLogger(__name__)
NAME_FEATURES = frozenset({"name", "name_key", "name_latin"})
#: the column of the model's table holding the part of the e-mail address before ``@``
EMAIL_USER = "email_user"
MAX_PRIOR = 0.5
#: EM stops after this many iterations or once no parameter moves by more than
#: :data:`EM_CONVERGENCE` (Splink's defaults, 25 and 0.0001, cost time for digits
#: that do not change a decision)
EM_MAX_ITERATIONS = 12
EM_CONVERGENCE = 0.001


def splink() -> Any:
    """The ``splink`` package, or a clear error saying how to install it."""
    try:
        import splink as module
    except ImportError as exc:  # pragma: no cover - splink is a base dependency
        raise ConfigError(
            "probabilistic matching needs Splink and DuckDB: pip install 'splink>=5' duckdb"
        ) from exc
    return module


def new_linker(records: Any, model: Any) -> Any:
    """A Splink linker of ``records`` with ``model`` (settings or a saved model), logging
    errors only. Splink's settings check is skipped: it only logs warnings about columns
    the records lack, and the hub's tables always hold every feature column."""
    return splink().Linker(records, model, log_level=logging.ERROR, validate_settings=False)


def comparisons(present: set[str]) -> list[Any]:
    """One Splink comparison per feature that has data (names, address, phone, e-mail,
    tax id, date of birth), each from exact agreement down to disagreement."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    out: list[Any] = []
    if {"given_name", "surname"} <= present:
        out.append(_person_name(cll, cl))
    elif "name_key" in present:
        out.append(_name(cll, cl, present))
    if "date_of_birth" in present:
        out.append(
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y-%m-%d",
                invalid_dates_as_null=True,
            )
        )
    if present & {"street", "street_number"}:
        out.append(_address(cll, cl, present))
    if "street2" in present:
        out.append(cl.JaroWinklerAtThresholds("street2", [0.9]))
    if present & {"postcode", "city"}:
        out.append(_place(cll, cl, present))
    if "phone" in present:
        out.append(_phone(cll, cl, present))
    if "email" in present:
        out.append(_email(cll, cl))
    if "tax_id" in present:
        out.append(cl.LevenshteinAtThresholds("tax_id", [1]))
    return out


def _name(cll: Any, cl: Any, present: set[str]) -> Any:
    """A customer's whole name: exact, romanised, similar; and for companies, their parts
    (:mod:`crm_core.identity.company_names`) across scripts and word orders. The same
    brand with another place named (both named) is a level of its own, ahead of the
    others: group companies of one brand in different cities are not one customer."""
    levels = [cll.NullLevel("name_key")]
    company = {"company_brand", "company_place"} <= present
    if company:
        brand, place = "company_brand", "company_place"
        levels.append(
            cll.And(
                cll.ExactMatchLevel(brand),
                cll.Not(cll.NullLevel(place)),
                cll.Not(cll.ExactMatchLevel(place)),
            )
        )
    levels += [cll.ExactMatchLevel("name_key"), cll.ExactMatchLevel("name_latin")]
    if company:
        levels.append(cll.And(cll.ExactMatchLevel(brand), cll.ExactMatchLevel(place)))
    levels += [
        cll.Or(cll.JaroWinklerLevel("name", 0.92), cll.JaroWinklerLevel("name_latin", 0.92)),
        cll.Or(cll.JaroWinklerLevel("name", 0.8), cll.JaroWinklerLevel("name_latin", 0.8)),
    ]
    if company:
        levels.append(cll.ExactMatchLevel(brand))
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(
        output_column_name="name",
        comparison_description="name without company form; romanised, words sorted; "
        "company place, brand (pinyin)",
        comparison_levels=levels,
    )


def _phone(cll: Any, cl: Any, present: set[str]) -> Any:
    """Phone: E.164, then the national number alone (a number whose region is unknown
    against the same number with its country code), then one typo."""
    levels = [cll.NullLevel("phone"), cll.ExactMatchLevel("phone")]
    if "phone_national" in present:
        levels.append(cll.ExactMatchLevel("phone_national"))
    levels += [cll.LevenshteinLevel("phone", 1), cll.ElseLevel()]
    return cl.CustomComparison(output_column_name="phone", comparison_levels=levels)


def _person_name(cll: Any, cl: Any) -> Any:
    """Given name and surname as one comparison (they are not independent): both
    agree, swapped, both similar, one agrees, or neither."""
    given, surname = "given_name", "surname"
    return cl.CustomComparison(
        output_column_name="given_name_surname",
        comparison_description="given name and surname, swapped names recognised",
        comparison_levels=[
            cll.And(cll.NullLevel(given), cll.NullLevel(surname)),
            cll.And(cll.ExactMatchLevel(given), cll.ExactMatchLevel(surname)),
            cll.ColumnsReversedLevel(given, surname, symmetrical=True),
            cll.And(cll.JaroWinklerLevel(given, 0.92), cll.JaroWinklerLevel(surname, 0.92)),
            cll.And(cll.JaroWinklerLevel(given, 0.8), cll.JaroWinklerLevel(surname, 0.8)),
            cll.ExactMatchLevel(surname),
            cll.ExactMatchLevel(given),
            cll.Or(cll.JaroWinklerLevel(given, 0.92), cll.JaroWinklerLevel(surname, 0.92)),
            cll.ElseLevel(),
        ],
    )


def _email(cll: Any, cl: Any) -> Any:
    """E-mail: whole address, one typo, then the part before ``@`` alone (another domain
    of the same person; :data:`EMAIL_USER`, computed once per record rather than per
    pair). No Jaro-Winkler level: ``li.wei12@qq.com`` and ``li.wei21@qq.com`` are close
    strings and different people. No term frequencies either: incremental runs need none."""
    return cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email"),
            cll.LevenshteinLevel("email", 1),
            cll.ExactMatchLevel(EMAIL_USER),
            cll.ElseLevel(),
        ],
    )


def _address(cll: Any, cl: Any, present: set[str]) -> Any:
    """Street and house number as one comparison (a number means little without its
    street, and the two are typed together)."""
    street, number = "street", "street_number"
    if number not in present:
        return cl.JaroWinklerAtThresholds(street, [0.95, 0.85])
    if street not in present:
        return cl.ExactMatch(number)
    return cl.CustomComparison(
        output_column_name="address",
        comparison_description="street and house number",
        comparison_levels=[
            cll.And(cll.NullLevel(street), cll.NullLevel(number)),
            cll.And(cll.ExactMatchLevel(street), cll.ExactMatchLevel(number)),
            cll.And(cll.JaroWinklerLevel(street, 0.88), cll.ExactMatchLevel(number)),
            cll.ExactMatchLevel(number),
            cll.JaroWinklerLevel(street, 0.95),
            cll.JaroWinklerLevel(street, 0.85),
            cll.ElseLevel(),
        ],
    )


def _place(cll: Any, cl: Any, present: set[str]) -> Any:
    """Postcode and city as one comparison: where the postcode agrees the city adds
    little, and counting both would count one fact twice."""
    postcode, city = "postcode", "city"
    if city not in present:
        return cl.LevenshteinAtThresholds(postcode, [1, 2])
    if postcode not in present:
        return cl.JaroWinklerAtThresholds(city, [0.95, 0.85])
    return cl.CustomComparison(
        output_column_name="place",
        comparison_description="postcode and city",
        comparison_levels=[
            cll.And(cll.NullLevel(postcode), cll.NullLevel(city)),
            cll.ExactMatchLevel(postcode),
            cll.And(cll.LevenshteinLevel(postcode, 1), cll.JaroWinklerLevel(city, 0.92)),
            cll.JaroWinklerLevel(city, 0.92),
            cll.LevenshteinLevel(postcode, 1),
            cll.Or(cll.LevenshteinLevel(postcode, 2), cll.JaroWinklerLevel(city, 0.8)),
            cll.ElseLevel(),
        ],
    )


def settings(present: set[str], block_columns: Iterable[str]) -> Any:
    """A fresh (untrained) model for records with the ``present`` features."""
    sp = splink()
    return sp.SettingsCreator(
        unique_id_column_name="rid",
        link_type="dedupe_only",
        comparisons=comparisons(present),
        blocking_rules_to_generate_predictions=[sp.block_on(c) for c in block_columns],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=EM_MAX_ITERATIONS,
        em_convergence=EM_CONVERGENCE,
    )


def with_blocking(model: dict[str, Any], block_columns: Iterable[str]) -> dict[str, Any]:
    """A saved model with this run's blocking rules (candidate pairs are chosen per run)."""
    sp = splink()
    rules = [sp.block_on(c).get_blocking_rule("duckdb").as_dict() for c in block_columns]
    return {**model, "blocking_rules_to_generate_predictions": rules}


class Untrainable(Exception):
    """The records are too few (or too alike) for the model's parameters to be estimated:
    matching then rests on the deterministic rules alone."""


def count_of(con: Any, table: str) -> int:
    """The records of ``table`` in the DuckDB connection ``con``."""
    return int(con.sql(f'select count(*) from "{table}"').fetchall()[0][0])


def train(
    records: Any,
    present: set[str],
    config: MatchConfig,
    key_columns: dict[tuple[str, ...], str],
    block_columns: list[str],
) -> dict[str, Any]:
    """A model for ``records`` (a registered Splink table) with parameters estimated
    from them: the prior from the deterministic rules, u by random sampling, m by EM.

    ``key_columns`` names the column holding each rule's capped key (see
    :func:`crm_core.identity.resolver.key_columns`): EM blocks on the rule's features
    where that key is set, so that no key too common to identify anyone floods it. An
    EM session that fails on a degenerate sample (every pair a match, say) or estimates
    nonsense is undone and the others go on; the ``em_fallback`` rules are tried only
    when no ``em_blocking`` session was kept.
    """
    sp = splink()
    training = config.training
    linker = new_linker(records, settings(present, block_columns))
    rules = [
        rule.equal
        for rule in config.deterministic
        if set(rule.equal) <= present | {"source", "customer_id"}
    ]
    # the prior and u as Splink estimates them, each in one query (u_sampling); Splink's
    # own estimates (a query per rule, a pass over the sample per comparison) should
    # that not do
    untrained = linker.misc.save_model_to_json()
    con, table = records.db_api.duckdb_con, records.physical_name
    prior = deterministic_prior(con, table, rules, training.deterministic_recall)
    if rules and prior is None:
        # no pair to count, or the rules link more pairs than the recall allows of all
        # pairs: Splink refuses the prior too (a division by zero, or a ValueError)
        raise Untrainable(
            f"too few records to learn a model from ({count_of(con, table)}): "
            "the deterministic rules decide alone"
        )
    else:
        if rules:
            untrained["probability_two_random_records_match"] = prior
        sampled = _with_sampled_u(records, untrained, training)
    if sampled is not None:
        linker = sampled
    else:
        if rules:
            linker.training.estimate_probability_two_random_records_match(
                [sp.block_on(*r) for r in rules], recall=training.deterministic_recall
            )
        linker.training.estimate_u_using_random_sampling(
            max_pairs=training.max_pairs, seed=training.seed, num_chunks=1
        )
    ran = 0
    for rule in training.em_blocking:
        linker, done = _em_session(sp, linker, records, rule, key_columns, present, config)
        ran += done
    for rule in training.em_fallback:
        if ran:
            break
        linker, ran = _em_session(sp, linker, records, rule, key_columns, present, config)
    trained = linker.misc.save_model_to_json()
    # a model loaded from JSON describes every comparison as custom: keep the names
    for comparison, before in zip(trained["comparisons"], untrained["comparisons"], strict=True):
        comparison["comparison_description"] = before.get("comparison_description")
    return regularised(trained, training.min_m_probability)


def _with_sampled_u(records: Any, untrained: dict[str, Any], training: Training) -> Any:
    """A linker of ``records`` with the ``untrained`` model and u estimated by
    :func:`crm_core.identity.u_sampling.with_sampled_u`, or None where that cannot be."""
    sampled = with_sampled_u(
        records.db_api.duckdb_con,
        records.physical_name,
        untrained,
        max_pairs=training.max_pairs,
        seed=training.seed,
    )
    if sampled is None:
        return None
    linker = new_linker(records, sampled)
    return linker if unobserved_kept(linker.misc.save_model_to_json(), sampled) else None


def _em_rule_sql(rule: Sequence[str], key: str, present: set[str]) -> str:
    """``l.f = r.f and ...`` where the rule's capped key is set. Where names come as given
    name and surname, a rule on the whole name is stated on those two columns, so that
    Splink leaves the name comparison out of that session (as it must)."""
    columns = list(rule)
    if {"given_name", "surname"} <= present and NAME_FEATURES & set(columns):
        columns = [c for c in columns if c not in NAME_FEATURES] + ["given_name", "surname"]
    return " and ".join(f'l."{c}" = r."{c}"' for c in columns) + f' and l."{key}" is not null'


def _em_session(
    sp: Any,
    linker: Any,
    records: Any,
    rule: Sequence[str],
    key_columns: dict[tuple[str, ...], str],
    present: set[str],
    config: MatchConfig,
) -> tuple[Any, bool]:
    """One EM session blocked on ``rule``: (the linker, whether the session was kept).
    A session that fails on a degenerate sample, or whose estimates are implausible, is
    undone (the linker is rebuilt from the model as it was before)."""
    from splink.internals.exceptions import SplinkException

    key = key_columns.get(tuple(rule))
    if key is None:
        return linker, False
    before = linker.misc.save_model_to_json()
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(
            _em_rule_sql(rule, key, present),
            estimate_without_term_frequencies=True,
            max_pairs=config.training.em_max_pairs,
        )
    except (SplinkException, ValueError) as exc:  # every pair a match, say
        log.info("EM blocked on %s skipped: %s", rule, str(exc).splitlines()[0])
        return new_linker(records, before), False
    implausible = _implausible(linker.misc.save_model_to_json())
    if implausible:
        log.info(
            "EM blocked on %s undone: matches would agree on %s less than random pairs do",
            rule,
            ", ".join(implausible),
        )
        return new_linker(records, before), False
    return linker, True


def _implausible(model: dict[str, Any]) -> list[str]:
    """Comparisons whose exact level is less likely among matches than among random
    pairs: the mark of an EM session that took non-matches for matches."""
    out = []
    for comparison in model.get("comparisons", []):
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        m, u = levels[0].get("m_probability"), levels[0].get("u_probability")
        if m is not None and u is not None and m < u:
            out.append(comparison["output_column_name"])
    return out


def regularised(model: dict[str, Any], floor: float) -> dict[str, Any]:
    """The model with no m probability below ``floor`` (levels renormalised): clean
    training data can estimate that a disagreement never happens among matches, which
    would make one typo veto any match. The prior is kept below :data:`MAX_PRIOR`."""
    out = copy.deepcopy(model)
    # a handful of records can make the prior estimate absurd (even 1, where every
    # pair would match): no pair is taken to match more likely than not beforehand
    prior = out.get("probability_two_random_records_match")
    if prior is not None:
        out["probability_two_random_records_match"] = min(max(prior, 1e-9), MAX_PRIOR)
    for comparison in out.get("comparisons", []):
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        trained = [lv for lv in levels if lv.get("m_probability") is not None]
        share = sum(lv["m_probability"] for lv in trained)
        raised = [max(lv["m_probability"], floor) for lv in trained]
        for level, m in zip(trained, raised, strict=True):
            level["m_probability"] = m * share / sum(raised)
    return out
