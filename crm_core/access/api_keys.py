"""API keys of the HTTP API: roles, what each role may see, and keys kept only as hashes.

A key reads ``crmhub_<key id>_<secret>``. The key id is public (``apikey list`` shows it,
the store finds the key's row by it); the secret is 256 random bits and is shown once,
when the key is made. The store keeps the SHA-256 of the whole key: a slow password hash
buys nothing against guessing a 256-bit random value, and it would cost every request
tens of milliseconds. Keys are compared in constant time. A key found valid is taken as
valid for ``api.key_cache_seconds`` without asking the store again
(:mod:`crm_core.access.key_cache`); revoking a key forgets it at once in this process.
Nothing here imports FastAPI: the CLI manages keys without the ``api`` extra installed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select, update

from crm_core.access.actors import who
from crm_core.access.key_cache import forget, verified_keys
from crm_core.access.roles import Role
from crm_core.store.tables import api_keys
from schemas.api_settings import ApiConfig
from schemas.errors import ConfigError

PREFIX = "crmhub"
_KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")


class Scope(StrEnum):
    """What a request reads or does; which roles may, is ``api.access`` in crm-hub.yaml
    (:mod:`schemas.api_settings`)."""

    #: the golden record, orders, inventory, insights
    CUSTOMERS = "customers"
    #: credit and receivables
    FINANCE = "finance"
    #: runs, quarantine, metrics
    OPS = "ops"
    #: submitting CRM-side changes (push-back)
    CHANGES = "changes"
    #: installed base, service history, campaigns and the campaigns that touched a customer
    AFTERSALES = "aftersales"
    #: a campaign's cost, attributed revenue and ROI
    CAMPAIGN_ROI = "campaign_roi"
    #: CRM-side changes of assets (install site, service contract renewal)
    ASSET_CHANGES = "asset_changes"


def grants(api: ApiConfig) -> dict[Role, frozenset[Scope]]:
    """The scopes each role may use under the ``api:`` settings ``api``."""
    return {
        role: frozenset(s for s in Scope if role.value in api.roles_of(s.value)) for role in Role
    }


#: the scopes of each role when ``api.access`` changes nothing
GRANTS: dict[Role, frozenset[Scope]] = grants(ApiConfig())


@dataclass(frozen=True)
class ApiKey:
    """A key as the store knows it (never the secret)."""

    key_id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    #: what the role may use under the serving configuration (None: :data:`GRANTS`)
    scopes: frozenset[Scope] | None = None

    def allows(self, scope: Scope) -> bool:
        """Whether this key's role grants ``scope``."""
        return scope in (GRANTS[self.role] if self.scopes is None else self.scopes)

    def under(self, api: ApiConfig) -> ApiKey:
        """This key with the scopes its role has under the ``api:`` settings ``api``."""
        return replace(self, scopes=grants(api)[self.role])

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "key_id": self.key_id,
            "name": self.name,
            "role": str(self.role),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "revoked_at": self.revoked_at,
            "revoked_by": self.revoked_by,
        }


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _row(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


def parse_role(value: str) -> Role:
    """The role named ``value``; a ConfigError listing the roles otherwise."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ConfigError(
            f"unknown role {value!r}: use one of {', '.join(r.value for r in Role)}"
        ) from None


def create_key(
    store: Engine, role: Role | str, name: str | None = None, by: str | None = None
) -> tuple[ApiKey, str]:
    """Make a key for ``role``; return it and its secret text (shown once, never stored)."""
    role = parse_role(role) if isinstance(role, str) else role
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    info = ApiKey(
        key_id=key_id,
        name=(name or "").strip()[:200] or f"{role.value} key",
        role=role,
        created_at=datetime.now(UTC),
        created_by=who(by),
    )
    with store.begin() as conn:
        conn.execute(
            api_keys.insert().values(
                key_id=info.key_id,
                name=info.name,
                role=info.role.value,
                key_hash=_digest(key),
                created_at=info.created_at,
                created_by=info.created_by,
            )
        )
    return info, key


def list_keys(store: Engine, include_revoked: bool = False) -> list[ApiKey]:
    """Keys, oldest first; revoked ones only when asked."""
    stmt = select(api_keys).order_by(api_keys.c.id)
    if not include_revoked:
        stmt = stmt.where(api_keys.c.revoked_at.is_(None))
    with store.connect() as conn:
        return [_row(r) for r in conn.execute(stmt)]


def revoke_key(store: Engine, key_id: str, by: str | None = None) -> ApiKey:
    """Revoke the key ``key_id`` (its public id, or the whole key); at once, for good."""
    match = _KEY.match(key_id.strip())
    key_id = match.group(1) if match else key_id.strip()
    with store.begin() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        if row is None:
            raise ConfigError(f"no API key {key_id!r} (see 'crm-hub apikey list')")
        if row.revoked_at is not None:
            raise ConfigError(f"API key {key_id} was revoked already, at {row.revoked_at}")
        conn.execute(
            update(api_keys)
            .where(api_keys.c.key_id == key_id)
            .values(revoked_at=datetime.now(UTC), revoked_by=who(by))
        )
        revoked = _row(conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).one())
    forget(key_id)
    return revoked


def remembered(store: Engine, presented: str, api: ApiConfig) -> ApiKey | None:
    """The key ``presented`` is, if it was found valid on ``store`` less than
    ``api.key_cache_seconds`` ago; else None (unknown: ask :func:`authenticate`). No
    store query: the API checks a key in use without leaving its event loop."""
    if api.key_cache_seconds <= 0:
        return None
    known = verified_keys(store).get(_digest(presented.strip()))
    return known.under(api) if isinstance(known, ApiKey) else None


def authenticate(store: Engine, presented: str, api: ApiConfig | None = None) -> ApiKey | None:
    """The key ``presented`` is, if it is a valid key that is not revoked; else None. With
    ``api``, its scopes are those its role has under those settings (``api.access``), and
    a key found valid less than ``api.key_cache_seconds`` ago is not looked up again."""
    presented = presented.strip()
    match = _KEY.match(presented)
    if not match:
        return None
    if api is not None and (known := remembered(store, presented, api)) is not None:
        return known
    digest = _digest(presented)
    cache = verified_keys(store)
    since = cache.revocations
    with store.connect() as conn:
        row = conn.execute(
            select(api_keys).where(
                api_keys.c.key_id == match.group(1), api_keys.c.revoked_at.is_(None)
            )
        ).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    key = _row(row)
    if api is None:
        return key
    if api.key_cache_seconds > 0:
        cache.put(digest, key.key_id, key, api.key_cache_seconds, since)
    return key.under(api)
