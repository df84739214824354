"""Identity resolution: which source records are the same customer.

Deterministic rules first (same source key, tax id, e-mail, phone, name + postcode),
then a Splink model (DuckDB) for the rest, then clusters (connected components) whose
ids survive incremental runs. Names, addresses and identifiers in Chinese and Latin
script are normalised first (full-width forms, traditional characters, pinyin, company
forms, abbreviations, phone numbers in E.164).

    result = resolve(records)                      # full run: train, score, cluster
    later = resolve_new(new_records, result.features, model=result.model)
"""

from crm_core.identity.config import DeterministicRule, MatchConfig, load_match_config
from crm_core.identity.features import prepare
from crm_core.identity.resolver import Resolution, resolve, resolve_new
from crm_core.identity.scoring import PairScores, pairwise_scores

__all__ = [
    "DeterministicRule",
    "MatchConfig",
    "PairScores",
    "Resolution",
    "load_match_config",
    "pairwise_scores",
    "prepare",
    "resolve",
    "resolve_new",
]
