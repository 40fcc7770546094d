"""Bench data: a platform, a merchant with a known key, and N accounts with huge limits.

Loaded once per database and reused; accounts have ids `acct_bench00000001…` so every
client (and pgbench) can pick one at random without a lookup. Limits are so large that
no authorization in a run is declined for credit.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select

from creditline.adapters.db.accounts import account_to_row
from creditline.adapters.db.schema import credit_account
from creditline.bench.workloads import BenchSpec, account_id
from creditline.bootstrap import Runtime
from creditline.domain.account import open_account
from creditline.domain.limits import CREDIT_LIMIT_MAX
from creditline.service import directory
from creditline.service.access import Actor, Role

PLATFORM_ID = "plat_bench"
MERCHANT_ID = "mer_bench"
MERCHANT_KEY = "clk_bench_merchant"
INSERT_BATCH = 5_000


def prepare(runtime: Runtime, *, accounts: int) -> BenchSpec:
    now = runtime.clock.now()
    with runtime.uow_factory(write=True) as uow:
        if uow.directory.get_platform(PLATFORM_ID) is None:
            directory.create_platform(uow, name="Bench", now=now, platform_id=PLATFORM_ID)
            directory.create_merchant(
                uow, platform_id=PLATFORM_ID, name="Bench", now=now, merchant_id=MERCHANT_ID
            )
            directory.issue_api_key(
                uow,
                binding=Actor(
                    key_id="-",
                    role=Role.MERCHANT,
                    platform_id=PLATFORM_ID,
                    merchant_id=MERCHANT_ID,
                    name="bench",
                ),
                now=now,
                new_id=runtime.new_id,
                key=MERCHANT_KEY,
            )
        uow.commit()
    with runtime.engine.begin() as conn:
        have = conn.execute(
            select(func.count())
            .select_from(credit_account)
            .where(credit_account.c.platform_id == PLATFORM_ID)
        ).scalar_one()
        rows = [
            account_to_row(
                open_account(
                    account_id=account_id(n),
                    platform_id=PLATFORM_ID,
                    external_ref=f"bench-{n}",
                    credit_limit=CREDIT_LIMIT_MAX,
                    now=now,
                )
            )
            for n in range(int(have) + 1, accounts + 1)
        ]
        for start in range(0, len(rows), INSERT_BATCH):
            conn.execute(insert(credit_account), rows[start : start + INSERT_BATCH])
    return BenchSpec(
        database_url=runtime.settings.database_url,
        accounts=accounts,
        merchant_id=MERCHANT_ID,
        platform_id=PLATFORM_ID,
        merchant_key=MERCHANT_KEY,
    )
