"""Load a mapping file, reporting every problem with file, line and key path."""

from __future__ import annotations

import os
from pathlib import Path

from mappings.spec import MappingFile, check_mapping
from schemas.errors import MappingError
from schemas.yamlfile import load_model


def load_mapping(path: str | os.PathLike[str]) -> MappingFile:
    """Read and validate a mapping file; raise ``MappingError`` listing all problems."""
    return load_model(Path(path), MappingFile, MappingError, "mapping file", check_mapping)
