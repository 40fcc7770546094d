"""`creditline admin …`: platforms, merchants and API keys (keys are shown once)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from creditline.domain.limits import HOLD_TTL_S_DEFAULT
from creditline.entrypoints.cli.common import fail, out, runtime
from creditline.service import directory
from creditline.service.access import Actor, Role

admin_app = typer.Typer(help="Platforms, merchants and API keys.", no_args_is_help=True)


@admin_app.command("create-platform")
def create_platform(name: str) -> None:
    """Create a platform and print its id and a platform API key (shown once)."""
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        now = rt.clock.now()
        platform = directory.create_platform(uow, name=name, now=now, platform_id=rt.new_id("plat"))
        issued = directory.issue_api_key(
            uow,
            binding=Actor(key_id="-", role=Role.PLATFORM, platform_id=platform.id, name=name),
            now=now,
            new_id=rt.new_id,
        )
        uow.commit()
    out.print(f"platform {platform.id}\nplatform key {issued.key}  (shown once; store it now)")


@admin_app.command("create-merchant")
def create_merchant(
    platform_id: str,
    name: str,
    hold_ttl_s: Annotated[int, typer.Option(help="Default hold lifetime, seconds")] = (
        HOLD_TTL_S_DEFAULT
    ),
) -> None:
    """Create a merchant on a platform and print its id and a merchant API key."""
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        now = rt.clock.now()
        merchant = directory.create_merchant(
            uow,
            platform_id=platform_id,
            name=name,
            now=now,
            merchant_id=rt.new_id("mer"),
            hold_ttl_s=hold_ttl_s,
        )
        issued = directory.issue_api_key(
            uow,
            binding=Actor(
                key_id="-",
                role=Role.MERCHANT,
                platform_id=platform_id,
                merchant_id=merchant.id,
                name=name,
            ),
            now=now,
            new_id=rt.new_id,
        )
        uow.commit()
    out.print(f"merchant {merchant.id}\nmerchant key {issued.key}  (shown once; store it now)")


@admin_app.command("create-key")
def create_key(
    role: Role,
    name: str,
    platform_id: Annotated[str | None, typer.Option(help="For platform keys")] = None,
    account_id: Annotated[str | None, typer.Option(help="For consumer keys")] = None,
) -> None:
    """Issue an API key for a platform, a consumer's account or an operator."""
    if role is Role.MERCHANT:
        raise fail("merchant keys come with `creditline admin create-merchant`")
    if role is Role.PLATFORM and platform_id is None:
        raise fail("a platform key needs --platform-id")
    if role is Role.CONSUMER and account_id is None:
        raise fail("a consumer key needs --account-id")
    binding = Actor(
        key_id="-",
        role=role,
        name=name,
        platform_id=platform_id if role is Role.PLATFORM else None,
        account_id=account_id if role is Role.CONSUMER else None,
    )
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        issued = directory.issue_api_key(uow, binding=binding, now=rt.clock.now(), new_id=rt.new_id)
        uow.commit()
    out.print(f"{role.value} key {issued.key}  (id {issued.record.id}; shown once)")


@admin_app.command("revoke-key")
def revoke_key(key_id: str) -> None:
    """Revoke an API key by its id (key_…); running servers stop accepting it within
    CREDITLINE_API_KEY_CACHE_TTL_S seconds."""
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        revoked = uow.directory.revoke_api_key(key_id, rt.clock.now())
        uow.commit()
    if not revoked:
        raise fail(f"no active API key {key_id}")
    out.print(f"revoked {key_id}")


@admin_app.command("set-platform")
def set_platform(
    platform_id: str,
    webhook_url: Annotated[
        str | None, typer.Option(help="Where notifications are POSTed; '' removes it")
    ] = None,
    order_status_url: Annotated[
        str | None, typer.Option(help="The order system reconciliation asks; '' removes it")
    ] = None,
    rotate_secret: Annotated[bool, typer.Option(help="Issue a new webhook secret")] = False,
) -> None:
    """Configure a platform's webhook and order-status URLs (a new secret is shown once)."""
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        change = directory.configure_platform(
            uow,
            platform_id,
            webhook_url=webhook_url,
            order_status_url=order_status_url,
            rotate_secret=rotate_secret,
        )
        uow.commit()
    platform = change.platform
    out.print(
        json.dumps(
            {
                "platform": platform.id,
                "webhook_url": platform.webhook_url,
                "order_status_url": platform.order_status_url,
            }
        ),
        highlight=False,
    )
    if change.webhook_secret is not None:
        out.print(f"webhook secret {change.webhook_secret}  (shown once; store it now)")


@admin_app.command("set-merchant-trusted")
def set_merchant_trusted(
    merchant_id: str,
    trusted: Annotated[bool, typer.Option("--trusted/--untrusted")] = True,
) -> None:
    """Mark a merchant trusted: its releases go first when the release queue is long."""
    with runtime() as rt, rt.uow_factory(write=True) as uow:
        merchant = directory.set_merchant_trusted(uow, merchant_id, trusted=trusted)
        uow.commit()
    out.print(f"merchant {merchant.id} {'trusted' if merchant.trusted else 'not trusted'}")
