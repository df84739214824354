"""Push-back through the REST connector into the sample REST ERP: the write is read back by
the next incremental read, an idempotency key applies a change once however often it is
sent (also when the connection fails after the change), ``decide`` is obeyed, a record that
changed between the read and the write is read again, and refusals are clear errors."""

# ruff: noqa: F401, F811 - the fixtures come from tests.rest_erp_kit
from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select

from connectors.rest.writer import WriteRejected, unflatten
from sample_erps import rest_erp
from sample_erps.rest_erp import Fault, stamps
from sample_erps.rest_erp.schema import CUSTOMERS, IDEMPOTENCY_KEYS
from sample_erps.rest_erp.server import RestErpServer
from schemas.errors import ConfigError, InvalidRecord, RetriableError
from schemas.source import Decision, WritableSource, WriteOutcome, WriteRequest
from tests.rest_erp_kit import FAST, connector, erp, erp_db, erp_rows, erp_template

CUSTOMERS_STREAM = {
    "path": "/customers",
    "params": {"sort": "updated_at"},
    "pagination": {"style": "cursor", "page_size": 10},
    "columns": ["phone", "email", "address.city"],
}


class Decider:
    """A ``decide`` callback that answers from a list and remembers what it saw."""

    def __init__(self, *answers: Decision, before: Any = None) -> None:
        self.answers = list(answers)
        self.seen: list[Mapping[str, Any] | None] = []
        self.before = before  # called before answering, with the call's number

    def __call__(self, current: Mapping[str, Any] | None) -> Decision:
        self.seen.append(None if current is None else dict(current))
        if self.before is not None:
            self.before(len(self.seen))
        return self.answers[min(len(self.seen), len(self.answers)) - 1]


def customers(url: str, source: dict[str, Any] | None = None) -> Any:
    return connector(url, CUSTOMERS_STREAM, primary_key=["id"], source=source)


def stored(db: Path, ident: str) -> Any:
    """The ERP's own row of a customer."""
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        row = conn.execute(select(CUSTOMERS).where(CUSTOMERS.c.id == ident)).first()
    engine.dispose()
    return row


def stored_keys(db: Path) -> list[Any]:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.execute(select(IDEMPOTENCY_KEYS)).all()
    engine.dispose()
    return rows


def answered(
    erp: RestErpServer, path: str, method: str, wait_for: int = 0
) -> list[tuple[int, str | None, bool]]:
    """(status, fault, replayed) of the ``method`` requests the ERP answered on ``path``,
    in the order the answers ended. The ERP logs a request just after answering it, so
    this waits (up to 2 s) until there are ``wait_for`` of them."""
    deadline = time.monotonic() + 2
    while True:
        log = erp.requests_to(path)
        found = [(e.status, e.fault, e.replayed) for e in log if e.method == method]
        if len(found) >= wait_for or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def patches(erp: RestErpServer, ident: str, wait_for: int = 0) -> list[Any]:
    """What the ERP answered to the PATCHes of a customer (see :func:`answered`)."""
    return answered(erp, f"/api/v1/customers/{ident}", "PATCH", wait_for)


def first_customer(db: Path) -> dict[str, Any]:
    return next(r for r in erp_rows(db, "customers") if r.get("phone") and r.get("address"))


def change(ident: str, key: str = "change-1", **values: Any) -> WriteRequest:
    return WriteRequest("s", {"id": ident}, values, idempotency_key=key)


def test_rest_connector_is_a_writable_source(erp: RestErpServer) -> None:
    with customers(erp.api_url) as conn:
        assert isinstance(conn, WritableSource)


def test_rest_write_is_read_back_by_the_next_incremental_read(
    erp: RestErpServer, erp_db: Path
) -> None:
    target = first_customer(erp_db)
    ident = target["id"]
    with customers(erp.api_url) as conn:
        before = [r for b in conn.read("s", None, 100) for r in b.iter_rows(named=True)]
        last = (before[-1]["updated_at"], before[-1]["id"])
        decide = Decider("write")
        request = change(ident, **{"phone": "+86 21 5555 0100", "address.city": "Suzhou"})
        outcome = conn.write(request, decide)
        after = [r for b in conn.read("s", last, 100) for r in b.iter_rows(named=True)]
    old = {"phone": target["phone"], "address.city": target["address"].get("city")}
    assert decide.seen == [old]  # only the request's columns, flattened as reads are
    assert (outcome.decision, outcome.current) == ("write", old)
    assert [r["id"] for r in after] == [ident]
    assert (after[0]["phone"], after[0]["address.city"]) == ("+86 21 5555 0100", "Suzhou")
    assert after[0]["updated_at"] > last[0]
    assert after[0]["email"] == target.get("email")  # other fields untouched
    assert patches(erp, ident, wait_for=1) == [(200, None, False)]


def test_rest_write_same_idempotency_key_twice_applies_exactly_once(
    erp: RestErpServer, erp_db: Path
) -> None:
    ident = first_customer(erp_db)["id"]
    request = change(ident, key="pb-42-rest_erp", phone="+49 30 1234567")
    with customers(erp.api_url) as conn:
        conn.write(request, Decider("write"))
        stamp = stored(erp_db, ident).updated_at
        # the outbox did not learn of the first success and sends the change again
        again = conn.write(request, Decider("write"))
    assert again.decision == "write"
    assert stored(erp_db, ident).updated_at == stamp  # applied once: stamped once
    assert patches(erp, ident, wait_for=2) == [(200, None, False), (200, None, True)]
    [kept] = stored_keys(erp_db)
    assert kept.key == "pb-42-rest_erp" and json.loads(kept.body)["phone"] == "+49 30 1234567"


AFTER_THE_CHANGE: dict[str, dict[str, Any]] = {
    "connection closed, no answer": {"kind": "drop", "applied": True},
    "500": {"kind": "status", "applied": True},
    "503": {"kind": "status", "status": 503, "applied": True},
    "429": {"kind": "rate_limit", "retry_after": 0, "applied": True},
    "read timeout": {"kind": "slow", "applied": True, "delay": 0.6},
}


@pytest.mark.parametrize("name", sorted(AFTER_THE_CHANGE))
def test_rest_write_exactly_once_when_the_answer_is_lost_after_the_change(
    erp: RestErpServer, erp_db: Path, name: str
) -> None:
    ident = first_customer(erp_db)["id"]
    fault = Fault(**AFTER_THE_CHANGE[name], path=f"/api/v1/customers/{ident}", method="PATCH")
    erp.faults.add(fault)
    source = {**FAST, "timeout": {"connect": 2, "read": 0.3}}
    with customers(erp.api_url, source) as conn:
        outcome = conn.write(change(ident, email="ap@example.cn"), Decider("write"))
    assert fault.fired == 1 and outcome.decision == "write"
    row = stored(erp_db, ident)
    assert row.email == "ap@example.cn"
    faulty, retried = sorted(patches(erp, ident, wait_for=2), key=lambda p: p[2])
    assert (faulty[1:], retried[1:]) == ((fault.kind, False), (None, True))
    [kept] = stored_keys(erp_db)  # the retry got the first answer back, applied nothing
    assert json.loads(kept.body)["updated_at"] == stamps.shown(row.updated_at, row.tz)


@pytest.mark.parametrize("kind", ["drop", "malformed"])
def test_rest_write_answer_broken_after_a_2xx_status_is_taken_as_written(
    erp: RestErpServer, erp_db: Path, kind: str
) -> None:
    ident = first_customer(erp_db)["id"]
    erp.faults.add(Fault(kind, path=f"/api/v1/customers/{ident}", method="PATCH"))
    with customers(erp.api_url) as conn:
        outcome = conn.write(change(ident, email="ap@example.cn"), Decider("write"))
    assert outcome.decision == "write" and stored(erp_db, ident).email == "ap@example.cn"
    assert patches(erp, ident, wait_for=1) == [(200, kind, False)]  # not sent again


def test_rest_write_lasting_failure_after_the_change_is_retriable_then_done(
    erp: RestErpServer, erp_db: Path
) -> None:
    ident = first_customer(erp_db)["id"]
    erp.faults.add(Fault("status", path=f"/api/v1/customers/{ident}", applied=True, times=None))
    request = change(ident, phone="+86 10 8888 0000")
    with customers(erp.api_url) as conn:
        with pytest.raises(RetriableError) as info:
            conn.write(request, Decider("write"))
        assert "500 Internal Server Error after 4 tries" in str(info.value)
        assert f"stream 's' key id={ident!r}" in str(info.value)
        stamp = stored(erp_db, ident).updated_at
        assert [p[2] for p in patches(erp, ident, wait_for=4)] == [False, True, True, True]
        erp.faults.clear()
        # the outbox tries again later: the change is there, so push-back decides "done"
        decide = Decider("done")
        outcome = conn.write(request, decide)
    assert outcome.decision == "done" and decide.seen == [{"phone": "+86 10 8888 0000"}]
    assert stored(erp_db, ident).updated_at == stamp and len(patches(erp, ident)) == 4


@pytest.mark.parametrize("decision", ["conflict", "done"])
def test_rest_write_decide_conflict_or_done_writes_nothing(
    erp: RestErpServer, erp_db: Path, decision: Decision
) -> None:
    target = first_customer(erp_db)
    before = stored(erp_db, target["id"])
    with customers(erp.api_url) as conn:
        outcome = conn.write(change(target["id"], phone="+1 555 0100"), Decider(decision))
    assert (outcome.decision, outcome.current) == (decision, {"phone": target["phone"]})
    assert stored(erp_db, target["id"]) == before and patches(erp, target["id"]) == []
    assert stored_keys(erp_db) == []


def other_client_patch(erp: RestErpServer, ident: str, key: str, **body: Any) -> None:
    """Someone else changes the customer between the connector's read and its write."""
    headers = {"Idempotency-Key": key}
    answer = requests.patch(f"{erp.api_url}/customers/{ident}", json=body, headers=headers)
    assert answer.status_code == 200


def test_rest_write_record_changed_after_the_read_is_read_and_decided_again(
    erp: RestErpServer, erp_db: Path
) -> None:
    ident = first_customer(erp_db)["id"]

    def meanwhile(call: int) -> None:
        if call == 1:
            other_client_patch(erp, ident, "erp-user-1", phone="+86 20 1111 2222")

    decide = Decider("write", "conflict", before=meanwhile)
    with customers(erp.api_url) as conn:
        outcome = conn.write(change(ident, phone="+86 20 3333 4444"), decide)
    assert decide.seen[1] == {"phone": "+86 20 1111 2222"}  # read again after the 412
    assert (outcome.decision, outcome.current) == ("conflict", {"phone": "+86 20 1111 2222"})
    assert stored(erp_db, ident).phone == "+86 20 1111 2222"  # the newer value stays
    assert [p[0] for p in patches(erp, ident, 2)] == [200, 412]  # theirs, then ours refused

    # decided "write" again on the fresh values: the write goes through with the new ETag
    def meanwhile_again(call: int) -> None:
        if call == 1:
            other_client_patch(erp, ident, "erp-user-2", phone="+86 20 5555 6666")

    with customers(erp.api_url) as conn:
        calls = Decider("write", "write", before=meanwhile_again)
        outcome = conn.write(change(ident, key="change-2", phone="+86 20 3333 4444"), calls)
    assert outcome.decision == "write" and len(calls.seen) == 2
    assert stored(erp_db, ident).phone == "+86 20 3333 4444"


def test_rest_write_record_that_keeps_changing_is_a_retriable_error(
    erp: RestErpServer, erp_db: Path
) -> None:
    ident = first_customer(erp_db)["id"]

    def busy(call: int) -> None:
        other_client_patch(erp, ident, f"erp-user-{call}", phone=f"+86 20 0000 000{call}")

    with (
        customers(erp.api_url) as conn,
        pytest.raises(RetriableError, match="changed between reading and writing it 3 times"),
    ):
        conn.write(change(ident, phone="+86 20 3333 4444"), Decider("write", before=busy))
    assert [p[0] for p in patches(erp, ident, 6)] == [200, 412] * 3


NEW = {
    "type": "company",
    "name": "Ningbo Oceanic Trading Co., Ltd.",
    "currency": "CNY",
    "email": "sales@ningbo-oceanic.cn",
    "address.city": "Ningbo",
    "address.country": "CN",
}


def test_rest_write_creates_a_record_with_the_given_key_once(
    erp: RestErpServer, erp_db: Path
) -> None:
    request = WriteRequest("s", {"id": "CU-90001"}, NEW, "create-90001", create=True)
    with customers(erp.api_url) as conn:
        decide = Decider("write")
        outcome = conn.write(request, decide)
        assert decide.seen == [None] and outcome == WriteOutcome("write", None)
        [record] = [r for r in erp_rows(erp_db, "customers") if r["id"] == "CU-90001"]
        assert record["address"] == {"city": "Ningbo", "country": "CN"}
        assert record["status"] == "active" and record["name"] == NEW["name"]
        # sent again: the record is there with these values, so push-back decides "done"
        again = Decider("done")
        assert conn.write(request, again).decision == "done" and again.seen == [NEW]
    assert answered(erp, "/api/v1/customers", "POST", 1) == [(201, None, False)]


def test_rest_write_create_racing_another_create_is_decided_again(
    erp: RestErpServer, erp_db: Path
) -> None:
    def meanwhile(call: int) -> None:
        if call == 1:
            body = {**unflatten(NEW), "id": "CU-90002", "name": "Someone Else Ltd."}
            headers = {"Idempotency-Key": "erp-create"}
            assert requests.post(f"{erp.api_url}/customers", json=body, headers=headers).ok

    request = WriteRequest("s", {"id": "CU-90002"}, NEW, "create-90002", create=True)
    decide = Decider("write", "conflict", before=meanwhile)
    with customers(erp.api_url) as conn:
        outcome = conn.write(request, decide)
    assert outcome.decision == "conflict" and outcome.current is not None
    assert outcome.current["name"] == "Someone Else Ltd."
    assert stored(erp_db, "CU-90002").name == "Someone Else Ltd."
    posts = answered(erp, "/api/v1/customers", "POST", 2)
    assert [p[0] for p in posts] == [201, 409]


def test_rest_write_refused_field_is_a_clear_error_without_secrets(
    erp_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ERP_TOKEN", "s3cret-token-value")
    source = {**FAST, "auth": {"type": "bearer", "token_env": "ERP_TOKEN"}}
    auth = rest_erp.Auth(bearer_tokens=frozenset({"s3cret-token-value"}))
    ident = first_customer(erp_db)["id"]
    with rest_erp.serve(erp_db, auth=auth) as erp, customers(erp.api_url, source) as conn:
        with pytest.raises(WriteRejected) as info:
            conn.write(change(ident, fax="+86 21 0000"), Decider("write"))
        with pytest.raises(WriteRejected, match="field 'type' must be one of company"):
            conn.write(change(ident, key="c-2", type="partnership"), Decider("write"))
        with pytest.raises(WriteRejected, match=r"404 Not Found: no customer 'CU-NOPE'"):
            conn.write(change("CU-NOPE", key="c-3", phone="1"), Decider("write"))
    error = info.value
    assert isinstance(error, InvalidRecord) and (error.status, error.field) == (422, "fax")
    assert str(error) == (
        f"source 'erp': PATCH {erp.api_url}/customers/{ident} (stream 's' key id={ident!r}): "
        "422 Unprocessable Entity: unknown field 'fax'"
    )
    assert "s3cret" not in str(error) and "s3cret" not in repr(error.args)


def test_rest_write_needs_the_key_and_a_write_path_for_keys_of_several_fields(
    erp: RestErpServer,
) -> None:
    with customers(erp.api_url) as conn, pytest.raises(ConfigError, match="lacks id"):
        conn.write(WriteRequest("s", {}, {"phone": "1"}, "k"), Decider("write"))
    lines = {"path": "/order-lines"}
    key = ["order_id", "line_no"]
    with (
        connector(erp.api_url, lines, primary_key=key) as conn,
        pytest.raises(ConfigError, match=r"needs options.write_path.*\{order_id\}/\{line_no\}"),
    ):
        conn.write(WriteRequest("s", {"order_id": "SO1", "line_no": 1}, {}, "k"), Decider())
    with pytest.raises(ConfigError, match=r"write_path: sku is not a key field; it lacks \{id\}"):
        connector(erp.api_url, {**lines, "write_path": "/x/{sku}"}, primary_key=["id"])


def test_rest_sample_erp_refuses_writes_without_a_key_and_reused_keys(
    erp: RestErpServer, erp_db: Path
) -> None:
    url = f"{erp.api_url}/customers/{first_customer(erp_db)['id']}"
    assert requests.patch(url, json={"phone": "1"}).status_code == 428
    first = requests.patch(url, json={"phone": "1"}, headers={"Idempotency-Key": "k"})
    other = requests.patch(url, json={"phone": "2"}, headers={"Idempotency-Key": "k"})
    assert first.status_code == 200 and other.status_code == 422
    assert "used for another request" in other.json()["error"]["message"]
    stale = requests.patch(
        url, json={"phone": "3"}, headers={"Idempotency-Key": "k2", "If-Match": '"1"'}
    )
    assert stale.status_code == 412 and stale.headers["ETag"] == first.headers["ETag"]
    assert requests.get(url).headers["ETag"] == first.headers["ETag"]


def test_unflatten_nests_dotted_columns() -> None:
    flat = {"phone": "1", "address.city": "X", "address.geo.lat": 1.5, "address.line1": None}
    assert unflatten(flat) == {
        "phone": "1",
        "address": {"city": "X", "geo": {"lat": 1.5}, "line1": None},
    }
    with pytest.raises(ValueError, match="has a value of its own"):
        unflatten({"address": "X", "address.city": "Y"})
