"""Bench data for `creditline bench verify`: N holds on N/10 accounts, written by SQL.

Every row is computed inside the database (INSERT … SELECT over a counter), so a million
holds load in minutes, not hours, and the rows obey every rule the engine's own writes
obey: the CHECKs on holds and accounts, postings inserted before their sealing entry
header (the seal trigger runs on each header), no posting for a sealed entry. The data
is what `verify` must find clean.

Hold number g belongs to account g mod N/10 (so an account's holds are spread over the
table, as time-ordered ids spread them in production) and its kind is (g div N/10) mod 10:

    0 1 2  captured whole             one capture entry, one event
    3      captured 60 %, final       the rest released: two events
    4      released                   one event, no entry
    5      expired                    one event; on every 50th account force-captured
                                      afterwards (half of it), which flags the account
    6      captured, a third refunded two entries, two events
    7      captured, refunded whole   on every 20th account after repaying everything,
                                      so the refund is owed back (`credit_balance`)
    8      pending                    locks its amount
    9      pending, a quarter captured locks the rest

Each account then repays half of what it owes (every 20th: all of it) in one entry.
About 1.2 events, 1.0 journal entries and 2.0 postings per hold.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, insert, select, text

from creditline.adapters.db.schema import hold, merchant, platform

PLATFORM_ID = "plat_vbench"
MERCHANT_ID = "mer_vbench"
HOLD_PREFIX = "hold_vb"
HOLDS_PER_ACCOUNT = 10
CHUNK_HOLDS = 200_000
"""Holds written per transaction: bounds the seal triggers queued until each commit."""
CREDIT_LIMIT_FEN = 10_000_000
HOLD_TTL_S = 7 * 24 * 3600
START = datetime(2026, 1, 1, tzinfo=UTC)
_ID_BASE = 1_000_000_000_000
"""Added to counters before they become ids, so ids have one width and sort as numbers."""

_PLAN = """
CREATE TEMP TABLE vb_plan AS
WITH RECURSIVE s(g) AS (
    SELECT CAST(0 AS BIGINT) UNION ALL SELECT g + 1 FROM s WHERE g < :holds - 1
),
base AS (
    SELECT g, g % :accounts AS a, (g / :accounts) % 10 AS kind,
           1000 + (g * 7919) % 59000 AS amount FROM s
),
flags AS (
    SELECT b.*, CASE WHEN kind = 5 AND a % 50 = 0 THEN 1 ELSE 0 END AS forced_flag,
           CASE WHEN a % 20 = 0 THEN 1 ELSE 0 END AS credit_flag FROM base b
)
SELECT g, a, kind, amount, forced_flag, credit_flag,
    CASE WHEN kind IN (0, 1, 2, 6, 7) THEN amount WHEN kind = 3 THEN amount * 6 / 10
         WHEN kind = 5 AND forced_flag = 1 THEN amount / 2 WHEN kind = 9 THEN amount / 4
         ELSE 0 END AS captured,
    CASE WHEN kind = 3 THEN amount - amount * 6 / 10 WHEN kind IN (4, 5) THEN amount
         ELSE 0 END AS released,
    CASE WHEN kind = 6 THEN amount / 3 WHEN kind = 7 THEN amount ELSE 0 END AS refunded,
    CASE WHEN forced_flag = 1 THEN amount / 2 ELSE 0 END AS forced,
    CASE WHEN kind IN (8, 9) THEN 'pending' WHEN kind = 4 THEN 'released'
         WHEN kind = 5 AND forced_flag = 0 THEN 'expired' ELSE 'captured' END AS status,
    CASE WHEN kind = 7 AND credit_flag = 1 THEN 1 ELSE 0 END AS refund_is_credit
FROM flags
"""

_ACCOUNT_PLAN = """
CREATE TEMP TABLE vb_account AS
SELECT a, caps, principal_refunds, credit_refunds, locked, holds, forced,
       CASE WHEN credit_flag = 1 THEN caps - principal_refunds
            ELSE (caps - principal_refunds) / 2 END AS repaid
FROM (
    SELECT a, MAX(credit_flag) AS credit_flag, CAST(SUM(captured) AS BIGINT) AS caps,
           CAST(SUM(CASE WHEN refund_is_credit = 1 THEN 0 ELSE refunded END) AS BIGINT)
               AS principal_refunds,
           CAST(SUM(CASE WHEN refund_is_credit = 1 THEN refunded ELSE 0 END) AS BIGINT)
               AS credit_refunds,
           CAST(SUM(CASE WHEN status = 'pending' THEN amount - captured ELSE 0 END) AS BIGINT)
               AS locked,
           COUNT(*) AS holds, CAST(SUM(forced) AS BIGINT) AS forced
    FROM vb_plan GROUP BY a
) totals
"""

_ACCOUNTS = """
INSERT INTO credit_account (id, platform_id, external_ref, credit_limit, used, locked,
    credit_balance, status, version, last_forced_capture_at, created_at, updated_at)
SELECT 'acct_vb' || (:id_base + a), :platform, 'vb-' || a, :limit,
       caps - principal_refunds - repaid, locked, credit_refunds, 'active', holds + 1,
       CASE WHEN forced > 0 THEN {start} END, {start}, {start}
FROM vb_account
"""

_CHUNK = "WITH p AS (SELECT * FROM vb_plan WHERE g >= :low AND g < :high) "

_HOLDS = """
INSERT INTO hold (id, account_id, merchant_id, order_id, amount, captured, released,
    refunded, forced, status, created_at, expires_at, resolved_at)
SELECT '{hold}' || (:id_base + g), 'acct_vb' || (:id_base + a), :merchant, 'ord-vb' || g,
       amount, captured, released, refunded, forced, status, {created}, {expires},
       CASE WHEN status = 'pending' THEN NULL ELSE {resolved} END
FROM vb_plan WHERE g >= :low AND g < :high
"""

_EVENTS = """
{chunk}
INSERT INTO hold_event (id, hold_id, account_id, kind, amount, at, entry_id, actor)
SELECT 'hev_vb' || (:id_base + g) || tag, '{hold}' || (:id_base + g),
       'acct_vb' || (:id_base + a), kind, amount, {resolved}, entry_id, 'bench'
FROM (
    SELECT g, a, 'a' AS tag, 'captured' AS kind, captured - forced AS amount,
           'je_vb' || (:id_base + g) || 'c' AS entry_id
      FROM p WHERE captured - forced > 0
    UNION ALL SELECT g, a, 'b', 'released', released, NULL
      FROM p WHERE released > 0 AND kind <> 5
    UNION ALL SELECT g, a, 'b', 'expired', released, NULL FROM p WHERE kind = 5
    UNION ALL SELECT g, a, 'c', 'force_captured', forced, 'je_vb' || (:id_base + g) || 'f'
      FROM p WHERE forced > 0
    UNION ALL SELECT g, a, 'd', 'refunded', refunded, 'je_vb' || (:id_base + g) || 'r'
      FROM p WHERE refunded > 0
) e
"""

_HOLD_POSTINGS = """
{chunk}
INSERT INTO posting (entry_id, line, account_id, ledger_account, counterparty, amount)
SELECT 'je_vb' || (:id_base + g) || tag, line, 'acct_vb' || (:id_base + a),
       ledger, counterparty, amount
FROM (
    SELECT g, a, 'c' AS tag, 1 AS line, 'receivable' AS ledger, NULL AS counterparty,
           captured - forced AS amount FROM p WHERE captured - forced > 0
    UNION ALL SELECT g, a, 'c', 2, 'merchant_payable', :merchant, forced - captured
      FROM p WHERE captured - forced > 0
    UNION ALL SELECT g, a, 'f', 1, 'receivable', NULL, forced FROM p WHERE forced > 0
    UNION ALL SELECT g, a, 'f', 2, 'merchant_payable', :merchant, -forced
      FROM p WHERE forced > 0
    UNION ALL SELECT g, a, 'r', 1, 'merchant_payable', :merchant, refunded
      FROM p WHERE refunded > 0
    UNION ALL SELECT g, a, 'r', 2,
           CASE WHEN refund_is_credit = 1 THEN 'consumer_credit' ELSE 'receivable' END,
           NULL, -refunded FROM p WHERE refunded > 0
) l
"""

_HOLD_ENTRIES = """
{chunk}
INSERT INTO journal_entry (id, account_id, kind, amount, hold_id, forced, at)
SELECT 'je_vb' || (:id_base + g) || tag, 'acct_vb' || (:id_base + a), kind, amount,
       '{hold}' || (:id_base + g), forced, {resolved}
FROM (
    SELECT g, a, 'c' AS tag, 'capture' AS kind, captured - forced AS amount,
           FALSE AS forced FROM p WHERE captured - forced > 0
    UNION ALL SELECT g, a, 'f', 'force_capture', forced, TRUE FROM p WHERE forced > 0
    UNION ALL SELECT g, a, 'r', 'refund', refunded, FALSE FROM p WHERE refunded > 0
) e
"""

_REPAYMENT_POSTINGS = """
INSERT INTO posting (entry_id, line, account_id, ledger_account, counterparty, amount)
SELECT 'je_vbp' || (:id_base + a), 1, 'acct_vb' || (:id_base + a), 'repayment_clearing',
       NULL, repaid FROM vb_account WHERE repaid > 0
UNION ALL
SELECT 'je_vbp' || (:id_base + a), 2, 'acct_vb' || (:id_base + a), 'receivable', NULL,
       -repaid FROM vb_account WHERE repaid > 0
"""

_REPAYMENT_ENTRIES = """
INSERT INTO journal_entry (id, account_id, kind, amount, hold_id, forced, at)
SELECT 'je_vbp' || (:id_base + a), 'acct_vb' || (:id_base + a), 'repayment', repaid, NULL,
       FALSE, {start} FROM vb_account WHERE repaid > 0
"""


def accounts_for(holds: int) -> int:
    return max(1, holds // HOLDS_PER_ACCOUNT)


def account_id(n: int) -> str:
    """The id of bench account n (0 ≤ n < accounts_for(holds))."""
    return f"acct_vb{_ID_BASE + n}"


def _dialect_sql(engine: Engine, template: str) -> str:
    if engine.dialect.name == "postgresql":
        start = "TIMESTAMPTZ '2026-01-01 00:00:00+00'"
        created = f"({start} + g * INTERVAL '1 second')"
        expires = f"({created} + INTERVAL '7 days')"
        resolved = f"({created} + INTERVAL '1 hour')"
    else:
        start = "'2026-01-01 00:00:00.000000'"
        created = "strftime('%Y-%m-%d %H:%M:%f', '2026-01-01', '+' || g || ' seconds')"
        expires = f"strftime('%Y-%m-%d %H:%M:%f', {created}, '+7 days')"
        resolved = f"strftime('%Y-%m-%d %H:%M:%f', {created}, '+1 hours')"
    return template.format(
        start=start,
        created=created,
        expires=expires,
        resolved=resolved,
        hold=HOLD_PREFIX,
        chunk=_CHUNK,
    )


def loaded_holds(engine: Engine) -> int:
    """How many bench holds the database already holds (0: none, or no such platform)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(hold).where(hold.c.merchant_id == MERCHANT_ID)
            ).scalar_one()
        )


def fill(
    engine: Engine, holds: int, progress: Callable[[str], None], *, analyse: bool = True
) -> None:
    """Write `holds` holds on holds/10 accounts with their events and journal, then
    (`analyse`) VACUUM ANALYZE, as autovacuum would; without it the planner has no
    statistics, as on a server whose autovacuum has not run yet (or is off)."""
    accounts = accounts_for(holds)
    params = {"holds": holds, "accounts": accounts, "id_base": _ID_BASE}

    def run(conn: Connection, template: str, extra: dict[str, object] | None = None) -> None:
        sql = _dialect_sql(engine, template)
        conn.execute(text(sql), {**params, **(extra or {})})

    with engine.connect() as conn:
        _directory(conn)
        run(conn, _PLAN)
        run(conn, _ACCOUNT_PLAN)
        run(conn, _ACCOUNTS, {"platform": PLATFORM_ID, "limit": CREDIT_LIMIT_FEN})
        conn.commit()
        for low in range(0, holds, CHUNK_HOLDS):
            chunk = {"merchant": MERCHANT_ID, "low": low, "high": low + CHUNK_HOLDS}
            for template in (_HOLDS, _EVENTS, _HOLD_POSTINGS, _HOLD_ENTRIES):
                run(conn, template, chunk)
            conn.commit()
            progress(f"{min(holds, low + CHUNK_HOLDS):,} of {holds:,} holds written")
        run(conn, _REPAYMENT_POSTINGS)
        run(conn, _REPAYMENT_ENTRIES)
        conn.execute(text("DROP TABLE vb_plan"))
        conn.execute(text("DROP TABLE vb_account"))
        conn.commit()
    progress(f"{accounts:,} accounts written and repaid")
    if analyse:
        _analyse(engine)


def _directory(conn: Connection) -> None:
    conn.execute(insert(platform).values(id=PLATFORM_ID, name="Verify bench", created_at=START))
    conn.execute(
        insert(merchant).values(
            id=MERCHANT_ID,
            platform_id=PLATFORM_ID,
            name="Verify bench",
            hold_ttl_s=HOLD_TTL_S,
            created_at=START,
        )
    )


def _analyse(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
