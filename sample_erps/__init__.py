"""Three sample back offices for the demo, the tests and the benchmarks (not the product).

- :mod:`.legacy_erp`: a BPCS / JD Edwards style ERP as on DB2 for i (SQLite file here);
- :mod:`.modern_erp`: an Odoo-like ERP (read over ODBC in production);
- :mod:`.rest_erp`: an ERP that only has a JSON API, served on loopback;
- :mod:`.universe`: the true customers all three draw from; :mod:`.scenario`: the demo's
  folder, config and truth file.

Only the demo command (:mod:`crm_core.cli.demo_cmd`) imports this package from the
product; an import-linter contract in ``pyproject.toml`` enforces it.
"""
