"""Load a mapping file, reporting every problem with file, line and key path."""

from __future__ import annotations

import os
from pathlib import Path

from mappings.spec import MappingFile, check_mapping
from schemas.errors import MappingError
from schemas.yamlfile import Problem, load_model


def load_mapping(path: str | os.PathLike[str]) -> MappingFile:
    """Read and validate a mapping file; raise ``MappingError`` listing all problems.

    A relative ``reference:`` (the code list file) is taken relative to the mapping file."""
    path = Path(path)

    def checks(mapping: MappingFile) -> list[Problem]:
        if mapping.reference is not None:
            mapping.reference = str(path.parent / mapping.reference)
        return check_mapping(mapping)

    return load_model(path, MappingFile, MappingError, "mapping file", checks)
