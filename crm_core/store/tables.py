"""The store's tables. Record tables are derived from the model in ``schemas.entities``.

Every record table holds one source's records of one model stream, keyed by
``(source, <natural key>)``, with the run that last wrote each row (lineage) and, for a
record the source no longer has, when and by which run it was seen deleted (soft delete).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from crm_core.store.types import ExactDecimal, UTCDateTime
from schemas.entities import ENTITIES, Entity, FieldSpec

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer, "sqlite")
#: PostgreSQL record tables keep 15% of each page free, so the upserts of incremental
#: syncs update rows within their page (HOT) instead of adding index entries
FILLFACTOR = 85
KEY = String(200)


def _column_type(spec: FieldSpec, is_key: bool) -> TypeEngine[Any]:
    if spec.kind == "str":
        return KEY if is_key or spec.choices else Text()
    types: dict[str, TypeEngine[Any]] = {
        "int": BigInteger(),
        "decimal": ExactDecimal(),
        "bool": Boolean(),
        "date": Date(),
        "datetime": UTCDateTime(),
    }
    return types[spec.kind]


def _record_table(entity: Entity) -> Table:
    columns: list[Column[Any]] = [Column("source", String(64), primary_key=True)]
    for spec in entity.fields.values():
        is_key = spec.name in entity.key
        columns.append(
            Column(
                spec.name,
                _column_type(spec, is_key),
                primary_key=is_key,
                nullable=not (is_key or spec.required),
            )
        )
    columns += [
        Column("run_id", BigInteger),
        Column("loaded_at", UTCDateTime),
        #: soft delete: when the source was seen not to have the record any more, and the
        #: run that saw it (both null while it exists; see crm_core.pull.deletes)
        Column("deleted_at", UTCDateTime),
        Column("deleted_run_id", BigInteger),
    ]
    return Table(entity.name, metadata, *columns, postgresql_with={"fillfactor": FILLFACTOR})


RECORD_TABLES: dict[str, Table] = {name: _record_table(e) for name, e in ENTITIES.items()}
Index(None, RECORD_TABLES["orders"].c.source, RECORD_TABLES["orders"].c.customer_id)
Index(None, RECORD_TABLES["invoices"].c.source, RECORD_TABLES["invoices"].c.customer_id)
Index(None, RECORD_TABLES["payments"].c.source, RECORD_TABLES["payments"].c.customer_id)
#: installed base, service and campaigns (migration 0014): by customer, by serial number
#: (search), the tickets' survey answers and a campaign's touches
Index(None, RECORD_TABLES["assets"].c.source, RECORD_TABLES["assets"].c.customer_id)
Index(None, RECORD_TABLES["assets"].c.serial_number)
#: what the search index looks at to find customers with new assets (their serial numbers)
Index(None, RECORD_TABLES["assets"].c.loaded_at)
Index(None, RECORD_TABLES["service_requests"].c.customer_id)
Index(
    None, RECORD_TABLES["service_surveys"].c.source, RECORD_TABLES["service_surveys"].c.request_id
)
Index(None, RECORD_TABLES["campaign_touches"].c.customer_id)
Index(
    None,
    RECORD_TABLES["campaign_touches"].c.source,
    RECORD_TABLES["campaign_touches"].c.campaign_id,
)

runs = Table(
    "hub_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("entity", String(64)),
    Column("mode", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("rows_read", BigInteger, nullable=False, default=0),
    Column("rows_loaded", BigInteger, nullable=False, default=0),
    Column("rows_quarantined", BigInteger, nullable=False, default=0),
    #: records the run marked deleted (see crm_core.pull.deletes)
    Column("rows_deleted", BigInteger, nullable=False, default=0, server_default="0"),
    Column("batches", Integer, nullable=False, default=0),
    Column("watermark", JSON),
    Column("checks", JSON),
    Column("error", Text),
    #: kept fresh while the run goes on, and where it runs: see crm_core.ledger.runs
    Column("heartbeat_at", UTCDateTime),
    Column("host", String(255)),
    Column("pid", Integer),
    Index(None, "source", "stream", "started_at"),
    #: the last successful run of a source's entity (the API's "as of", migration 0010)
    Index(None, "source", "entity", "status", "finished_at"),
)

stream_state = Table(
    "hub_stream_state",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("stream", String(200), primary_key=True),
    Column("position", JSON),
    Column("run_id", BigInteger),
    Column("updated_at", UTCDateTime, nullable=False),
)

quarantine = Table(
    "hub_quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", BigInteger),
    Column("source", String(64), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("record_key", Text),
    Column("raw", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", String(200)),
    Index(None, "source", "stream", "status"),
)

#: Source codes that had no crosswalk entry (mappings' ``{crosswalk: list}``): kept in the
#: records as the source wrote them, counted here per source, stream, field and value
#: (migration 0013); listed by ``crm-hub codes unmapped``
unmapped_codes = Table(
    "hub_unmapped_codes",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("stream", String(200), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("value", String(200), primary_key=True),
    Column("rows", BigInteger, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
)

golden_customers = Table(
    "golden_customers",
    metadata,
    Column("golden_id", String(64), primary_key=True),
    Column("kind", String(16)),
    Column("name", Text, nullable=False),
    Column("tax_id", Text),
    Column("email", Text),
    Column("phone", Text),
    Column("street", Text),
    Column("city", Text),
    Column("region", Text),
    Column("postcode", Text),
    Column("country", String(2)),
    Column("merged_into", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    #: every source record of the customer is deleted: the id is kept, never reused
    Column("retired_at", UTCDateTime),
)

source_links = Table(
    "source_links",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("stream", String(200), primary_key=True),
    Column("source_key", KEY, primary_key=True),
    Column("golden_id", String(64), nullable=False, index=True),
    Column("rule", String(64)),
    Column("linked_at", UTCDateTime, nullable=False),
    #: the ``loaded_at`` of the record version last reconciled (a later one is a change)
    Column("record_loaded_at", UTCDateTime),
)

golden_lineage = Table(
    "golden_lineage",
    metadata,
    Column("golden_id", String(64), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("value", Text),
    Column("rule", String(64), nullable=False),
    Column("source", String(64)),
    Column("stream", String(200)),
    Column("source_key", KEY),
    #: the run that loaded the source record which supplied the value
    Column("run_id", BigInteger),
    #: the reconcile run that decided it
    Column("reconcile_run_id", BigInteger),
    Column("decided_at", UTCDateTime, nullable=False),
)

golden_stewardship = Table(
    "golden_stewardship",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("action", String(16), nullable=False),
    Column("golden_id", String(64), nullable=False),
    Column("args", JSON, nullable=False),
    Column("who", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("note", Text),
    Column("undone_at", UTCDateTime),
    Column("undone_by", String(200)),
    Index(None, "golden_id"),
)

golden_match_models = Table(
    "golden_match_models",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", BigInteger),
    #: how many customer records it was trained on
    Column("records", BigInteger, nullable=False),
    Column("model", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index(None, golden_customers.c.merged_into)

#: Each customer record's normalised match features (a JSON object, one key per feature of
#: ``crm_core.identity.features.FEATURES``), so that incremental runs do not normalise the
#: existing records again; ``version`` changes when the features do.
golden_match_features = Table(
    "golden_match_features",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("customer_id", KEY, primary_key=True),
    Column("record_loaded_at", UTCDateTime),
    Column("version", String(32), nullable=False),
    Column("features", Text, nullable=False),
)

#: API keys of the HTTP API: only a hash of each key is kept (see crm_core.access.api_keys)
api_keys = Table(
    "hub_api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    #: the key's public part, shown by ``apikey list`` and used to find the hash
    Column("key_id", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("key_hash", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200)),
    Column("revoked_at", UTCDateTime),
    Column("revoked_by", String(200)),
    Index(None, "key_id", unique=True),
)

#: What the API's customer search matches: folded names, pinyin, e-mails, phones, tax ids
#: and source keys of each golden customer (see crm_core.api.service.search_index)
customer_search = Table(
    "customer_search",
    metadata,
    Column("golden_id", String(64), primary_key=True),
    Column("name_terms", Text, nullable=False),
    Column("key_terms", Text, nullable=False),
    #: the newest change of the golden record or its links when it was indexed
    Column("mark", UTCDateTime, nullable=False, index=True),
)

#: The phone numbers a golden customer is found by (its own and its source records'),
#: each under its E.164 form and its national significant number; written where golden
#: records are (crm_core.golden.phone_index), read by ``GET /lookup/phone/{number}``
golden_phones = Table(
    "golden_phones",
    metadata,
    Column("phone_key", String(24), primary_key=True),
    Column("golden_id", String(64), primary_key=True),
    Index(None, "golden_id"),
)

#: Indexes on PostgreSQL only (migration 0007): pg_trgm's GIN trigram indexes, with which
#: the search's ``LIKE '%word%'`` reads a few index pages instead of every customer
POSTGRESQL_ONLY_INDEXES = (
    "ix_customer_search_name_terms_trgm",
    "ix_customer_search_key_terms_trgm",
)
for _column in ("name_terms", "key_terms"):
    Index(
        f"ix_customer_search_{_column}_trgm",
        customer_search.c[_column],
        postgresql_using="gin",
        postgresql_ops={_column: "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")
#: what changed since the search index's last round (migration 0007)
Index(None, golden_customers.c.updated_at)
Index(None, source_links.c.linked_at)
Index(None, source_links.c.record_loaded_at)

#: CRM-side changes waiting to be written back to the systems that own their fields (see
#: crm_core.pushback): one row per change, in the order they were made
outbox = Table(
    "hub_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("change_id", String(40), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("golden_id", String(64)),
    Column("entity", String(64), nullable=False),
    #: ``update`` an existing record, or ``create`` one
    Column("op", String(16), nullable=False),
    #: the changed record's key in the model (a golden id, a concession id, ...)
    Column("record_key", KEY, nullable=False),
    #: {field: {"old": value, "new": value}}
    Column("changes", JSON, nullable=False),
    Column("who", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    #: pending, delivered, conflict, failed (dead letter), cancelled
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Index(None, "change_id", unique=True),
    Index(None, "idempotency_key", unique=True),
    Index(None, "state", "next_attempt_at"),
    Index(None, "golden_id", "id"),
)

#: One change's delivery to one target system: what was (or is to be) written there, and
#: whether the next pull read it back (the echo of the hub's own write)
outbox_targets = Table(
    "hub_outbox_targets",
    metadata,
    Column("change_id", String(40), primary_key=True),
    Column("target", String(64), primary_key=True),
    #: the model record key in the target (its customer id, concession id, ...)
    Column("record_key", KEY, primary_key=True),
    Column("stream", String(200), nullable=False),
    #: the record's key in the target's own terms, as a JSON object
    Column("target_key", JSON),
    #: the model values written, {field: value}, for recognising their echo
    Column("written", JSON),
    #: pending, applied (written), done (already there), conflict, skipped, failed, cancelled
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("written_at", UTCDateTime),
    Column("echoed_at", UTCDateTime),
    Column("echo_run_id", BigInteger),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "target", "stream", "echoed_at"),
    #: the hub's own earlier writes to one record (push-back's expected values)
    Index(None, "target", "record_key"),
)

#: A change the hub did not write because the target changed the same field since the hub
#: last read it: both values, both times, both sources, and how it was resolved
conflicts = Table(
    "hub_conflicts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("change_id", String(40), nullable=False),
    Column("golden_id", String(64)),
    Column("target", String(64), nullable=False),
    Column("stream", String(200), nullable=False),
    Column("record_key", KEY),
    Column("field", String(64), nullable=False),
    #: values as JSON text: what the CRM side wants, what the target has, what the hub read
    Column("crm_value", Text),
    Column("target_value", Text),
    Column("pulled_value", Text),
    Column("crm_at", UTCDateTime),
    Column("target_at", UTCDateTime),
    Column("policy", String(16), nullable=False),
    #: open, resolved
    Column("state", String(16), nullable=False),
    #: crm (the change is written), target (the target's value stays)
    Column("resolution", String(16)),
    Column("resolved_by", String(200)),
    Column("resolved_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "state", "id"),
    Index(None, "change_id"),
)
Index(None, RECORD_TABLES["concessions"].c.source, RECORD_TABLES["concessions"].c.customer_id)
