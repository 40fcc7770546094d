"""Explanations: every reason code in zh-CN and en, with its numbers and a way forward.

Each code has a message for the consumer (amounts formatted as ¥1,234.56) and a remedy;
the platform and operators get the code and the raw numbers as well. A code without
both languages fails a test, so a new rule cannot ship unexplained.

What a consumer reads is words, never keys: goods categories are named
(`gift_card` → 礼品卡 / gift cards; a category the policy adds without a name here reads
"some of these goods"), an unknown place reads "another place". A remedy offers only
what exists today.

The language is the best one of `Accept-Language` by its q-values (`zh*` → zh-CN,
`en*` → en); a header naming neither, or none, gets zh-CN — the answer says which in
its `language` field and its Content-Language header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from creditline.domain.money import Money
from creditline.domain.risk.decision import Number, RuleHit

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


@dataclass(frozen=True, slots=True)
class Text:
    message: str
    remedy: str


CATALOGUE: Mapping[str, Mapping[str, Text]] = {
    "insufficient_credit": {
        "en": Text(
            "Your available credit is {available}; this payment is {amount}.",
            "Pay at most {available}, or repay first: what you repay is available again.",
        ),
        "zh-CN": Text(
            "您的可用额度为{available}，本次支付{amount}。",
            "请将金额降至{available}以内，或先还款：还款后额度即可恢复。",
        ),
    },
    "real_name_required": {
        "en": Text(
            "Your identity is not verified yet.", "Complete real-name verification, then pay again."
        ),
        "zh-CN": Text("您尚未完成实名认证。", "请先完成实名认证后再支付。"),
    },
    "account_frozen": {
        "en": Text(
            "Your credit line is frozen: it cannot be used for new payments.",
            "Contact customer service to learn why and how to have it unfrozen; repayments "
            "still work.",
        ),
        "zh-CN": Text(
            "您的额度已被冻结，暂不能用于新的支付。",
            "请联系客服了解冻结原因及解冻方式；还款不受影响。",
        ),
    },
    "account_tier_unknown": {
        "en": Text(
            "Your credit line cannot be used right now: its risk settings are incomplete.",
            "Contact customer service, or pay another way.",
        ),
        "zh-CN": Text("您的额度暂不可用：风控配置不完整。", "请联系客服，或使用其他支付方式。"),
    },
    "account_suspended": {
        "en": Text("Your credit line is suspended.", "Contact customer service."),
        "zh-CN": Text("您的额度已被暂停使用。", "请联系客服。"),
    },
    "account_closed": {
        "en": Text("Your credit line is closed.", "Pay with another method."),
        "zh-CN": Text("您的额度已关闭。", "请使用其他支付方式。"),
    },
    "per_transaction_limit": {
        "en": Text(
            "The per-payment limit is {limit}; this payment is {amount}.",
            "Pay at most {limit} at a time: split the order into payments of up to {limit}.",
        ),
        "zh-CN": Text(
            "单笔支付限额为{limit}，本次支付{amount}。",
            "单笔最多支付{limit}：可将订单拆分为每笔不超过{limit}的多笔支付。",
        ),
    },
    "daily_amount_limit": {
        "en": Text(
            "Today's limit is {limit}; you have paid {so_far} and this payment is {this}.",
            "Pay less today or try again tomorrow.",
        ),
        "zh-CN": Text(
            "今日累计限额为{limit}，今日已支付{so_far}，本次{this}。", "请减少金额或明日再试。"
        ),
    },
    "daily_count_limit": {
        "en": Text(
            "You have made {so_far} payments today; the limit is {limit}.", "Try again tomorrow."
        ),
        "zh-CN": Text("今日已支付{so_far}笔，每日上限{limit}笔。", "请明日再试。"),
    },
    "monthly_amount_limit": {
        "en": Text(
            "This month's limit is {limit}; you have paid {so_far} and this payment is {this}.",
            "Pay less this month or wait for next month.",
        ),
        "zh-CN": Text(
            "本月累计限额为{limit}，本月已支付{so_far}，本次{this}。", "请减少金额或下月再试。"
        ),
    },
    "monthly_count_limit": {
        "en": Text(
            "You have made {so_far} payments this month; the limit is {limit}.",
            "Try again next month.",
        ),
        "zh-CN": Text("本月已支付{so_far}笔，每月上限{limit}笔。", "请下月再试。"),
    },
    "velocity_account": {
        "en": Text(
            "Too many payment attempts: {attempts} in {window_s} seconds (at most {limit}).",
            "Wait {window_s} seconds and try again.",
        ),
        "zh-CN": Text(
            "支付尝试过于频繁：{window_s}秒内{attempts}次（上限{limit}次）。",
            "请等待{window_s}秒后再试。",
        ),
    },
    "velocity_burst": {
        "en": Text(
            "{attempts} payment attempts within {window_s} seconds; more than {limit} in a "
            "row are confirmed with a code.",
            "Confirm it is you with the verification code.",
        ),
        "zh-CN": Text(
            "{window_s}秒内发起了{attempts}次支付，连续超过{limit}次需验证。",
            "请通过验证码确认是本人操作。",
        ),
    },
    "velocity_sustained": {
        "en": Text(
            "{attempts} payment attempts in {window_s} seconds, not all at one checkout; "
            "more than {limit} are confirmed with a code.",
            "Confirm it is you with the verification code.",
        ),
        "zh-CN": Text(
            "{window_s}秒内发起了{attempts}次支付（并非同一次结算），超过{limit}次需验证。",
            "请通过验证码确认是本人操作。",
        ),
    },
    "velocity_new_device": {
        "en": Text(
            "{attempts} payment attempts in {window_s} seconds from a device you have not "
            "paid with before; more than {limit} are confirmed with a code.",
            "Confirm it is you with the verification code.",
        ),
        "zh-CN": Text(
            "您未曾用此设备支付，该设备{window_s}秒内已有{attempts}次支付尝试，"
            "超过{limit}次需验证。",
            "请通过验证码确认是本人操作。",
        ),
    },
    "velocity_device": {
        "en": Text(
            "Too many payment attempts from this device: {attempts} in {window_s} seconds "
            "(at most {limit}).",
            "Wait {window_s} seconds and try again.",
        ),
        "zh-CN": Text(
            "该设备支付尝试过于频繁：{window_s}秒内{attempts}次（上限{limit}次）。",
            "请等待{window_s}秒后再试。",
        ),
    },
    "velocity_ip": {
        "en": Text(
            "Too many payment attempts from this network: {attempts} in {window_s} seconds "
            "(at most {limit}).",
            "Wait {window_s} seconds, or pay from another network.",
        ),
        "zh-CN": Text(
            "该网络支付尝试过于频繁：{window_s}秒内{attempts}次（上限{limit}次）。",
            "请等待{window_s}秒，或更换网络后再试。",
        ),
    },
    "impossible_travel": {
        "en": Text(
            "This payment comes from {city}, {distance_km} km from your last one "
            "{minutes} minutes ago.",
            "Confirm it is you with the verification code.",
        ),
        "zh-CN": Text(
            "本次支付位于{city}，距上次支付{distance_km}公里，仅隔{minutes}分钟。",
            "请通过验证码确认是本人操作。",
        ),
    },
    "new_device": {
        "en": Text(
            "This is a new device for your account.", "No action needed; we may ask you to verify."
        ),
        "zh-CN": Text("您正在使用新设备支付。", "无需操作，必要时我们会请您验证身份。"),
    },
    "new_city": {
        "en": Text(
            "This payment comes from a new city ({city}).",
            "No action needed; we may ask you to verify.",
        ),
        "zh-CN": Text("本次支付来自新的城市（{city}）。", "无需操作，必要时我们会请您验证身份。"),
    },
    "amount_anomaly": {
        "en": Text(
            "This payment of {amount} is far above your usual {typical}.",
            "Confirm it is you with the verification code.",
        ),
        "zh-CN": Text("本次支付{amount}远高于您通常的{typical}。", "请通过验证码确认是本人操作。"),
    },
    "cash_out_goods": {
        "en": Text(
            "Payments for {categories} are limited to {allowed}; this payment is {amount}.",
            "Pay at most {allowed} for these goods, or use another payment method.",
        ),
        "zh-CN": Text(
            "{categories}单笔限额{allowed}，本次支付{amount}。",
            "请将金额降至{allowed}以内或使用其他支付方式。",
        ),
    },
    "decline_run": {
        "en": Text(
            "Several payments were declined in a row ({declines}).",
            "Confirm it is you with the verification code.",
        ),
        "zh-CN": Text("您已连续{declines}次支付失败。", "请通过验证码确认是本人操作。"),
    },
    "new_account_restricted": {
        "en": Text(
            "In the first {days} days of a credit line, {categories} are limited to {allowed}.",
            "Pay at most {allowed}, try again once your line is {days} days old, "
            "or pay another way.",
        ),
        "zh-CN": Text(
            "开通额度{days}天内，{categories}单笔限额{allowed}。",
            "请将金额降至{allowed}以内、开通满{days}天后再试，或使用其他支付方式。",
        ),
    },
}


CATEGORY_NAMES: Mapping[str, Mapping[str, str]] = {
    "gift_card": {"en": "gift cards", "zh-CN": "礼品卡"},
    "gold": {"en": "gold", "zh-CN": "黄金"},
    "top_up": {"en": "top-ups", "zh-CN": "充值"},
}
"""How goods categories read to a consumer (the policy speaks in keys)."""
SOME_GOODS = {"en": "some of these goods", "zh-CN": "部分商品"}
ANOTHER_PLACE = {"en": "another place", "zh-CN": "另一地点"}
CATEGORY_JOINER = {"en": ", ", "zh-CN": "、"}
WORDED: Mapping[str, Mapping[str, str]] = {"city": ANOTHER_PLACE, "last_city": ANOTHER_PLACE}
"""Numbers that are words: what an empty one reads as."""


def _categories(keys: str, language: str) -> str:
    names = [CATEGORY_NAMES.get(key.strip(), {}).get(language) for key in keys.split(",")]
    if not all(names):
        return SOME_GOODS[language]
    joined = CATEGORY_JOINER[language].join(name for name in names if name)
    return joined if language == "en" else f"{joined}类商品"


def _shown(name: str, value: Number, language: str) -> str:
    if isinstance(value, Money):
        return value.format()
    if name == "categories" and isinstance(value, str):
        return _categories(value, language)
    if name in WORDED and value == "":
        return WORDED[name][language]
    return str(value)


def _quality(part: str) -> tuple[str, float]:
    tag, *params = (piece.strip() for piece in part.split(";"))
    weight = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
    return tag.lower(), weight


def choose_language(accept_language: str | None) -> str:
    """The supported language `Accept-Language` prefers most (zh → zh-CN, en → en, by
    q-value, ties in the header's order); DEFAULT_LANGUAGE when it names neither."""
    best: tuple[float, int, str] | None = None
    for order, part in enumerate((accept_language or "").split(",")):
        tag, weight = _quality(part)
        language = "zh-CN" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        if language is None or not weight > 0:
            continue
        candidate = (-weight, order, language)
        if best is None or candidate < best:
            best = candidate
    return DEFAULT_LANGUAGE if best is None else best[2]


def explain_code(code: str, numbers: Mapping[str, Number], language: str) -> Text:
    text = CATALOGUE[code][language]
    values = {name: _shown(name, value, language) for name, value in numbers.items()}
    return Text(text.message.format(**values), text.remedy.format(**values))


def explain(hit: RuleHit, language: str) -> Text:
    return explain_code(hit.code, hit.numbers, language)


AMOUNTS = frozenset({"amount", "available", "credit_limit", "used", "locked"})


def explain_refusal(code: str, params: Mapping[str, object], language: str) -> Text | None:
    """The consumer's words for a refusal outside the risk rules (not enough credit, an
    inactive account), or None for refusals a consumer never sees."""
    if code == "account_not_active":
        code = f"account_{params.get('status')}"
    elif code != "insufficient_credit":
        return None
    if code not in CATALOGUE:
        return None
    numbers: dict[str, Number] = {
        name: Money(value) if name in AMOUNTS and type(value) is int else str(value)
        for name, value in params.items()
    }
    return explain_code(code, numbers, language)
