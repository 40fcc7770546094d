"""Explanations: every reason code in zh-CN and en, with its numbers and a way forward.

Each code has a message for the consumer (amounts formatted as ¥1,234.56) and a remedy;
the platform and operators get the code and the raw numbers as well. A code without
both languages fails a test, so a new rule cannot ship unexplained.
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
    "real_name_required": {
        "en": Text(
            "Your identity is not verified yet.", "Complete real-name verification, then pay again."
        ),
        "zh-CN": Text("您尚未完成实名认证。", "请先完成实名认证后再支付。"),
    },
    "account_frozen": {
        "en": Text(
            "Your credit line is frozen.", "Repay what is overdue; the line reopens automatically."
        ),
        "zh-CN": Text("您的额度已被冻结。", "请先还清逾期款项，额度将自动恢复。"),
    },
    "account_tier_unknown": {
        "en": Text(
            "Your credit line's settings are being updated.",
            "Try again later, or contact customer service.",
        ),
        "zh-CN": Text("您的额度配置正在更新。", "请稍后再试或联系客服。"),
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
            "Pay less than {limit}, split the order, or use installments.",
        ),
        "zh-CN": Text(
            "单笔支付限额为{limit}，本次支付{amount}。",
            "请将金额降至{limit}以内、拆分订单或选择分期。",
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
            "Too many payment attempts: {attempts} in {window_s} seconds.",
            "Wait a minute and try again.",
        ),
        "zh-CN": Text("支付尝试过于频繁：{window_s}秒内{attempts}次。", "请稍候一分钟再试。"),
    },
    "velocity_burst": {
        "en": Text(
            "{attempts} payment attempts within {window_s} seconds.",
            "Confirm it is you with the verification code.",
        ),
        "zh-CN": Text("{window_s}秒内发起了{attempts}次支付。", "请通过验证码确认是本人操作。"),
    },
    "velocity_device": {
        "en": Text("Too many payment attempts from this device.", "Wait a minute and try again."),
        "zh-CN": Text("该设备支付尝试过于频繁。", "请稍候一分钟再试。"),
    },
    "velocity_ip": {
        "en": Text(
            "Too many payment attempts from this network.", "Wait a minute or use another network."
        ),
        "zh-CN": Text("该网络支付尝试过于频繁。", "请稍候或更换网络后再试。"),
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
            "Pay less than {allowed} for these goods, or use another payment method.",
        ),
        "zh-CN": Text(
            "{categories}类商品单笔限额{allowed}，本次支付{amount}。",
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
            "开通额度{days}天内，{categories}类商品单笔限额{allowed}。",
            "请将金额降至{allowed}以内、开通满{days}天后再试，或使用其他支付方式。",
        ),
    },
}


def _shown(value: Number) -> str:
    return value.format() if isinstance(value, Money) else str(value)


def choose_language(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header (zh → zh-CN)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def explain(hit: RuleHit, language: str) -> Text:
    text = CATALOGUE[hit.code][language]
    values = {name: _shown(value) for name, value in hit.numbers.items()}
    return Text(text.message.format(**values), text.remedy.format(**values))
