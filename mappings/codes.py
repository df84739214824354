"""The hub's canonical code lists (reference data), read from YAML.

``mappings/reference/codes.yaml`` holds one list per kind of code (product line, site,
order status, invoice status, payment terms, currency), each code with its labels. A
mapping file's ``crosswalks:`` translate the source's own codes to these; a mapping may
name another code list file with ``reference:`` (relative to the mapping file).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator

from schemas.errors import MappingError
from schemas.strict import Strict
from schemas.yamlfile import load_model

#: the code lists shipped with the hub
DEFAULT_CODES = Path(__file__).with_name("reference") / "codes.yaml"


class CodeLists(Strict):
    """Canonical code lists: list name -> code -> labels by language (``en``, ``zh``)."""

    lists: dict[str, dict[str, dict[str, str]]] = Field(min_length=1)

    @field_validator("lists")
    @classmethod
    def _codes_as_text(
        cls, value: dict[str, dict[object, dict[str, str]]]
    ) -> dict[str, dict[str, dict[str, str]]]:
        return {name: {str(k): v for k, v in codes.items()} for name, codes in value.items()}

    def codes(self, name: str) -> frozenset[str]:
        """The canonical codes of one list (empty when there is no such list)."""
        return frozenset(self.lists.get(name, {}))

    def label(self, name: str, code: str, language: str = "en") -> str:
        """A code's label in ``language`` (English, then the code itself, as fallbacks)."""
        labels = self.lists.get(name, {}).get(code) or {}
        return labels.get(language) or labels.get("en") or code


def load_code_lists(path: str | os.PathLike[str] | None = None) -> CodeLists:
    """Read a code list file (the hub's own when ``path`` is None); cached per path."""
    return _load(str(Path(path).resolve()) if path is not None else str(DEFAULT_CODES))


@lru_cache(maxsize=8)
def _load(path: str) -> CodeLists:
    return load_model(Path(path), CodeLists, MappingError, "code list file", empty_ok=False)
