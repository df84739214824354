"""DDL of the sample legacy ERP: a BPCS / JD Edwards style back office as it runs on DB2 for i.

Nine physical files with short upper-case names; fixed-width CHAR columns padded with
blanks; dates as DECIMAL(7,0) CYYDDD (C=0 for 19xx, C=1 for 20xx) or DECIMAL(8,0) YYYYMMDD;
times as DECIMAL(6,0) HHMMSS; amounts as integers with implied decimals (cents, 3 places for
quantities, 4 for unit prices); one-letter status and hold codes; and every record carries
its last change split over a date column and a time column (the composite cursor).

CHAR lengths count characters here; on DB2 for i the name and address columns that hold
Chinese need a Unicode CCSID (1208, or GRAPHIC with 1200), or they count bytes.

The same :data:`METADATA` creates the schema on DB2, PostgreSQL, MariaDB and SQLite;
``python -m sample_erps.legacy_erp_schema db2`` prints the DDL for a dialect.
"""

from __future__ import annotations

import sys

from sqlalchemy import CHAR, VARCHAR, Column, Engine, MetaData, Numeric, Table
from sqlalchemy.dialects import registry
from sqlalchemy.schema import CreateTable

METADATA = MetaData()


def _dec(digits: int) -> Numeric[int]:
    """A DECIMAL(digits, 0) column whose values are Python ints."""
    return Numeric(digits, 0, asdecimal=False)


def _stamp(prefix: str) -> list[Column[object]]:
    return [
        Column(f"{prefix}CHGD", _dec(8), nullable=False, comment="last change date YYYYMMDD"),
        Column(f"{prefix}CHGT", _dec(6), nullable=False, comment="last change time HHMMSS"),
    ]


RCM = Table(
    "RCM",
    METADATA,
    Column("CCUST", CHAR(10), primary_key=True, comment="customer number"),
    Column("CTYPE", CHAR(1), nullable=False, comment="C company, P person"),
    Column("CNME", CHAR(50), nullable=False, comment="name"),
    Column("CTAXID", CHAR(20), nullable=False, comment="tax id / USCC, blank if none"),
    Column("CEMAIL", CHAR(60), nullable=False),
    Column("CPHON", CHAR(20), nullable=False),
    Column("CAD1", CHAR(40), nullable=False),
    Column("CAD2", CHAR(40), nullable=False),
    Column("CCITY", CHAR(30), nullable=False),
    Column("CSTE", CHAR(30), nullable=False),
    Column("CZIP", CHAR(10), nullable=False),
    Column("CCTRY", CHAR(2), nullable=False),
    Column("CCUR", CHAR(3), nullable=False),
    Column("CSTAT", CHAR(1), nullable=False, comment="A active, I inactive"),
    Column("CCRDT", _dec(7), nullable=False, comment="created CYYDDD"),
    *_stamp("C"),
    comment="customer master",
)

ECH = Table(
    "ECH",
    METADATA,
    Column("HORD", _dec(9), primary_key=True, comment="order number"),
    Column("HCUST", CHAR(10), nullable=False),
    Column("HEDTE", _dec(7), nullable=False, comment="entry date CYYDDD"),
    Column("HRDTE", _dec(8), nullable=False, comment="requested date YYYYMMDD, 0 if none"),
    Column("HSTAT", CHAR(1), nullable=False, comment="E C P S I X"),
    Column("HCUR", CHAR(3), nullable=False, comment="blank means the home currency CNY"),
    Column("HTOTL", _dec(13), nullable=False, comment="order total, cents"),
    *_stamp("H"),
    comment="order header",
)

ECL = Table(
    "ECL",
    METADATA,
    Column("LORD", _dec(9), primary_key=True),
    Column("LLINE", _dec(4), primary_key=True),
    Column("LPROD", CHAR(15), nullable=False),
    Column("LDESC", CHAR(40), nullable=False),
    Column("LQORD", _dec(11), nullable=False, comment="quantity, 3 implied decimals"),
    Column("LPRIC", _dec(13), nullable=False, comment="unit price, 4 implied decimals"),
    Column("LNETA", _dec(13), nullable=False, comment="net amount, cents"),
    Column("LSTAT", CHAR(1), nullable=False),
    *_stamp("L"),
    comment="order detail",
)

ILI = Table(
    "ILI",
    METADATA,
    Column("LPROD", CHAR(15), primary_key=True),
    Column("LWHS", CHAR(3), primary_key=True),
    Column("LDESC", CHAR(40), nullable=False),
    Column("LPLIN", CHAR(4), nullable=False, comment="product line"),
    Column("LOPB", _dec(13), nullable=False, comment="on hand, 3 implied decimals"),
    Column("LIALC", _dec(13), nullable=False, comment="allocated, 3 implied decimals"),
    Column("LIORD", _dec(13), nullable=False, comment="on order, 3 implied decimals"),
    *_stamp("L"),
    comment="item balance per warehouse",
)

RCR = Table(
    "RCR",
    METADATA,
    Column("CCUST", CHAR(10), primary_key=True),
    Column("CRLIM", _dec(13), nullable=False, comment="credit limit, cents"),
    Column("CREXP", _dec(13), nullable=False, comment="exposure, cents"),
    Column("CHOLD", CHAR(1), nullable=False, comment="Y on hold, N not"),
    Column("CHRSN", CHAR(2), nullable=False, comment="OD CL MN, blank if none"),
    Column("CTRMS", CHAR(3), nullable=False, comment="N30 N45 N60 COD"),
    Column("CRISK", CHAR(1), nullable=False, comment="risk class A-D"),
    Column("CCUR", CHAR(3), nullable=False),
    *_stamp("C"),
    comment="customer credit",
)

RAR = Table(
    "RAR",
    METADATA,
    Column("RINVN", _dec(9), primary_key=True),
    Column("RCUST", CHAR(10), nullable=False),
    Column("RORD", _dec(9), nullable=False),
    Column("RIDTE", _dec(7), nullable=False, comment="invoice date CYYDDD"),
    Column("RDDTE", _dec(7), nullable=False, comment="due date CYYDDD"),
    Column("RAMT", _dec(13), nullable=False, comment="cents"),
    Column("ROPEN", _dec(13), nullable=False, comment="open amount, cents"),
    Column("RCUR", CHAR(3), nullable=False),
    Column("RSTAT", CHAR(1), nullable=False, comment="O open, P paid, X void"),
    *_stamp("R"),
    comment="AR open items",
)

RPY = Table(
    "RPY",
    METADATA,
    Column("PPAYN", _dec(9), primary_key=True),
    Column("PCUST", CHAR(10), nullable=False),
    Column("PINVN", _dec(9), nullable=False),
    Column("PDATE", _dec(8), nullable=False, comment="YYYYMMDD"),
    Column("PAMT", _dec(13), nullable=False, comment="cents"),
    Column("PCUR", CHAR(3), nullable=False),
    Column("PMETH", CHAR(2), nullable=False, comment="WT CK CC"),
    Column("PREF", VARCHAR(30), nullable=False, comment="bank reference"),
    *_stamp("P"),
    comment="payments received",
)

RCN = Table(
    "RCN",
    METADATA,
    Column("NREF", CHAR(24), primary_key=True, comment="concession reference"),
    Column("NCUST", CHAR(10), nullable=False),
    Column("NORD", CHAR(10), nullable=False, comment="order number, blank: whole account"),
    Column("NTYPE", CHAR(1), nullable=False, comment="A amount, P percent"),
    Column("NAMT", _dec(13), comment="amount, cents"),
    Column("NPCT", _dec(5), comment="percent, 2 implied decimals"),
    Column("NCUR", CHAR(3), nullable=False),
    Column("NRSN", VARCHAR(200), nullable=False, comment="reason"),
    Column("NAPPR", CHAR(40), nullable=False, comment="approved by"),
    Column("NFDT", _dec(8), nullable=False, comment="valid from YYYYMMDD"),
    Column("NTDT", _dec(8), nullable=False, comment="valid to YYYYMMDD, 0: open"),
    Column(
        "NSTAT", CHAR(1), nullable=False, comment="A approved, B booked, E expired, X cancelled"
    ),
    *_stamp("N"),
    comment="price concessions",
)


ISN = Table(
    "ISN",
    METADATA,
    Column("SSER", CHAR(20), primary_key=True, comment="serial number"),
    Column("SCUST", CHAR(10), nullable=False, comment="customer it was shipped to"),
    Column("SPROD", CHAR(15), nullable=False, comment="item"),
    Column("SDESC", CHAR(40), nullable=False),
    Column("SORD", _dec(9), nullable=False, comment="order number, 0 if none"),
    Column("SQTY", _dec(11), nullable=False, comment="quantity, 3 implied decimals"),
    Column("SSHDT", _dec(7), nullable=False, comment="shipped CYYDDD"),
    Column("SINDT", _dec(8), nullable=False, comment="installed YYYYMMDD, 0 if not known"),
    Column("SSITE", CHAR(40), nullable=False, comment="install site, blank if not known"),
    Column("SWEND", _dec(8), nullable=False, comment="warranty end YYYYMMDD"),
    Column("SCTR", CHAR(12), nullable=False, comment="service contract, blank if none"),
    Column("SCEND", _dec(8), nullable=False, comment="service contract end YYYYMMDD, 0: none"),
    Column("SPAR", CHAR(20), nullable=False, comment="serial of the unit it is part of"),
    Column("SSTAT", CHAR(1), nullable=False, comment="A in service, R returned, S scrapped"),
    *_stamp("S"),
    comment="serial numbers shipped (installed base)",
)


def create_schema(engine: Engine) -> None:
    """Create the nine files (tables) of the sample ERP on ``engine``."""
    METADATA.create_all(engine)


def ddl(dialect_name: str) -> str:
    """The CREATE TABLE statements for a dialect (``db2``, ``postgresql``, ``sqlite``...)."""
    dialect = registry.load(dialect_name)()
    return "\n".join(
        f"{str(CreateTable(t).compile(dialect=dialect)).strip()};\n" for t in METADATA.sorted_tables
    )


if __name__ == "__main__":
    print(ddl(sys.argv[1] if len(sys.argv) > 1 else "db2"))
