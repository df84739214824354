"""The pull engine: read each stream from its saved position, map, check, load.

- :mod:`.sync`: the engine (one stream run: open the run, read, map, check, load, commit
  each batch with its position, close the run);
- :mod:`.prefetch`, :mod:`.load`, :mod:`.heap`: reading one batch ahead of the load, bulk
  loads (shared between connections on PostgreSQL), the memory heap's upkeep;
- :mod:`.positions`, :mod:`.state`: watermarks (composite cursors) and where each stream is;
- :mod:`.contracts`, :mod:`.contracts_polars`: the data contracts and their polars engine;
- :mod:`.quarantine`, :mod:`.quarantine_review`: rows held back, and what ops do with them;
- :mod:`.filecache`: mapping and config files compiled once per process.
"""
