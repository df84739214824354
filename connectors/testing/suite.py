"""``ConnectorConformance``: the standard tests every connector passes, as a pytest base class.

Subclass it in a test module (the subclass's name must start with ``Test``) and give it
fixtures; every test it inherits has ``conformance`` in its name::

    class TestMyErpConformance(ConnectorConformance):
        batch_size = 5

        @pytest.fixture
        def source(self, tmp_path):           # a connector over data you prepared
            ...
            yield MyConnector("erp", config)

        @pytest.fixture
        def expected_rows(self):              # optional: rows per stream in that data
            return {"customers": 12, "orders": 40}

        @pytest.fixture
        def bad_credentials(self):            # optional: a connector with a wrong password,
            return make_source("WrongPw"), "WrongPw"   # and that password

        @pytest.fixture
        def records_to_write(self):           # optional, for connectors that write
            return {"customers": [{"id": "C1", "name": "新名字"}]}

Tests whose fixture is missing are skipped with a reason, not passed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pytest

from connectors.testing import checks
from schemas.source import Source, WritableSource


class ConnectorConformance:
    """Standard tests for a connector; see the module docstring for the fixtures."""

    #: Rows per batch in the tests; small, so that every stream spans several batches.
    batch_size: ClassVar[int] = 7

    @pytest.fixture
    def source(self) -> Source:
        """The connector under test, over prepared data (a subclass must define it)."""
        pytest.fail("a ConnectorConformance subclass must define the fixture 'source'")

    @pytest.fixture
    def expected_rows(self) -> Mapping[str, int] | None:
        """Rows per stream in the prepared data; None skips the count check."""
        return None

    @pytest.fixture
    def bad_credentials(self) -> tuple[Source, str] | None:
        """A connector with a wrong password, and that password; None if there is none."""
        return None

    @pytest.fixture
    def records_to_write(self) -> Mapping[str, Sequence[Mapping[str, Any]]] | None:
        """Records per stream for the write round trip (writable connectors only)."""
        return None

    def test_conformance_declares_streams(self, source: Source) -> None:
        checks.declared_streams(source)

    def test_conformance_every_stream_is_readable(
        self, source: Source, expected_rows: Mapping[str, int] | None
    ) -> None:
        for spec in checks.declared_streams(source):
            expected = expected_rows.get(spec.name) if expected_rows else None
            checks.check_readable(source, spec, self.batch_size, expected)

    def test_conformance_batches_are_bounded(self, source: Source) -> None:
        for spec in checks.declared_streams(source):
            for size in (2, self.batch_size):
                checks.read_batches(source, spec.name, size)  # checks 1 <= rows <= size

    def test_conformance_rows_come_in_position_order(self, source: Source) -> None:
        for spec in checks.declared_streams(source):
            if spec.incremental:
                batches = checks.read_batches(source, spec.name, self.batch_size)
                checks.check_position_order(batches, spec)

    def test_conformance_incremental_read_returns_exactly_the_rows_after_a_position(
        self, source: Source
    ) -> None:
        incremental = [s for s in checks.declared_streams(source) if s.incremental]
        if not incremental:
            pytest.skip("no stream has a cursor")
        for spec in incremental:
            batches = checks.read_batches(source, spec.name, self.batch_size)
            assert batches, f"stream {spec.name!r} is empty: prepare rows to resume from"
            checks.check_incremental(source, spec, batches, self.batch_size)

    def test_conformance_bad_credentials_give_one_clear_error(
        self, bad_credentials: tuple[Source, str] | None
    ) -> None:
        if bad_credentials is None:
            pytest.skip("this source has no credentials to get wrong")
        wrong, secret = bad_credentials
        checks.check_bad_credentials(lambda: wrong, secret)

    def test_conformance_write_round_trips(
        self, source: Source, records_to_write: Mapping[str, Sequence[Mapping[str, Any]]] | None
    ) -> None:
        if not isinstance(source, WritableSource):
            pytest.skip(f"{type(source).__name__} does not write")
        if not records_to_write:
            pytest.skip("no records_to_write fixture")
        for stream, records in records_to_write.items():
            checks.check_write_round_trip(source, stream, records, self.batch_size)
