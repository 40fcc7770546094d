"""The directory: platforms, merchants and the API keys that act for them.

API keys are random secrets (256 bits) shown once when issued and stored only as their
SHA-256 hash; with that much randomness a fast hash is enough, and the stored hash is of
no use to someone who reads the database. A key is bound to one role and one owner (a
platform, a merchant, a consumer's account, or an operator).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from creditline.domain.errors import (
    AccountNotFound,
    InvalidHoldTtl,
    InvalidUrl,
    MerchantNotFound,
    PlatformNotFound,
)
from creditline.domain.limits import HOLD_TTL_S_DEFAULT, HOLD_TTL_S_MAX, HOLD_TTL_S_MIN
from creditline.domain.parties import Merchant, Platform
from creditline.service.access import Actor, Role
from creditline.service.ports import ApiKeyRecord, IdGenerator, UnitOfWork

KEY_PREFIX = "clk_"
KEY_RANDOM_BYTES = 32
URL_LENGTH_MAX = 2_000


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: str
    """The secret itself; it is not stored and cannot be shown again."""
    record: ApiKeyRecord


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)


def create_platform(uow: UnitOfWork, *, name: str, now: datetime, platform_id: str) -> Platform:
    platform = Platform(id=platform_id, name=name, created_at=now)
    uow.directory.add_platform(platform)
    return platform


WEBHOOK_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class PlatformChange:
    platform: Platform
    webhook_secret: str | None
    """Set when a new secret was generated; shown once, like an API key."""


def configure_platform(
    uow: UnitOfWork,
    platform_id: str,
    *,
    webhook_url: str | None = None,
    order_status_url: str | None = None,
    rotate_secret: bool = False,
) -> PlatformChange:
    """Set a platform's webhook and order-status URLs ("" clears one).

    Setting a webhook URL on a platform without a secret generates one; so does
    `rotate_secret`. Notifications are signed with the secret current at delivery.
    """
    platform = uow.directory.get_platform(platform_id)
    if platform is None:
        raise PlatformNotFound(f"no platform {platform_id}", platform_id=platform_id)
    changes: dict[str, str | None] = {}
    for name, url in (("webhook_url", webhook_url), ("order_status_url", order_status_url)):
        if url is not None:
            changes[name] = _checked_url(name, url) or None
    secret = None
    wants_secret = changes.get("webhook_url") and platform.webhook_secret is None
    if rotate_secret or wants_secret:
        secret = "whsec_" + secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)
        changes["webhook_secret"] = secret
    updated = replace(platform, **changes)  # type: ignore[arg-type]
    uow.directory.update_platform(updated)
    return PlatformChange(updated, secret)


def _checked_url(name: str, url: str) -> str:
    if url == "":
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > URL_LENGTH_MAX:
        raise InvalidUrl(
            f"{name} must be an http(s) URL of at most {URL_LENGTH_MAX} characters, got {url!r}",
            field=name,
        )
    return url


def set_merchant_trusted(uow: UnitOfWork, merchant_id: str, *, trusted: bool) -> Merchant:
    """Trusted merchants' releases go first when the release queue is long."""
    merchant = uow.directory.get_merchant(merchant_id)
    if merchant is None:
        raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
    uow.directory.set_merchant_trusted(merchant_id, trusted)
    return replace(merchant, trusted=trusted)


def create_merchant(
    uow: UnitOfWork,
    *,
    platform_id: str,
    name: str,
    now: datetime,
    merchant_id: str,
    hold_ttl_s: int = HOLD_TTL_S_DEFAULT,
) -> Merchant:
    if uow.directory.get_platform(platform_id) is None:
        raise PlatformNotFound(f"no platform {platform_id}", platform_id=platform_id)
    if not HOLD_TTL_S_MIN <= hold_ttl_s <= HOLD_TTL_S_MAX:
        raise InvalidHoldTtl(
            f"a merchant's hold lifetime must be between {HOLD_TTL_S_MIN} s and "
            f"{HOLD_TTL_S_MAX} s, got {hold_ttl_s} s",
            ttl_s=hold_ttl_s,
        )
    merchant = Merchant(
        id=merchant_id, platform_id=platform_id, name=name, hold_ttl_s=hold_ttl_s, created_at=now
    )
    uow.directory.add_merchant(merchant)
    return merchant


def issue_api_key(
    uow: UnitOfWork, *, binding: Actor, now: datetime, new_id: IdGenerator, key: str | None = None
) -> IssuedKey:
    """Store a new key for `binding` (its key_id is replaced by the new key's id)."""
    _check_binding(uow, binding)
    secret = generate_key() if key is None else key
    key_id = new_id("key")
    actor = Actor(
        key_id=key_id,
        role=binding.role,
        platform_id=binding.platform_id,
        merchant_id=binding.merchant_id,
        account_id=binding.account_id,
        name=binding.name,
    )
    record = ApiKeyRecord(id=key_id, key_hash=hash_key(secret), actor=actor, created_at=now)
    uow.directory.add_api_key(record)
    return IssuedKey(key=secret, record=record)


def _check_binding(uow: UnitOfWork, binding: Actor) -> None:
    if binding.role is Role.CONSUMER:
        assert binding.account_id is not None
        account = uow.accounts.get(binding.account_id)
        if account is None:
            raise AccountNotFound(f"no account {binding.account_id}", account_id=binding.account_id)
    elif (
        binding.platform_id is not None and uow.directory.get_platform(binding.platform_id) is None
    ):
        raise PlatformNotFound(
            f"no platform {binding.platform_id}", platform_id=binding.platform_id
        )


def find_actor(uow: UnitOfWork, key: str) -> Actor | None:
    """The actor a presented key stands for, or None if unknown or revoked."""
    record = uow.directory.find_api_key(hash_key(key))
    if record is None or record.revoked_at is not None:
        return None
    return record.actor
