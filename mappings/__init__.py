"""Mappings as data: YAML files that turn one system's records into the unified model."""

from mappings.compile import CompiledMapping, MappedBatch, compile_mapping
from mappings.loader import load_mapping

__all__ = ["CompiledMapping", "MappedBatch", "compile_mapping", "load_mapping"]
