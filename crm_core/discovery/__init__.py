"""Discovery: read a source's catalogue and propose the streams and mapping of a first config
(``crm-hub init --from``). ``catalogue`` reads, ``guess`` scores with ``hints.yaml``, ``write``
writes the files, ``init_from`` does all three."""

from crm_core.discovery.init_from import Written, init_from

__all__ = ["Written", "init_from"]
