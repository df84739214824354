"""The hub's own database: tables, engine, migrations."""
