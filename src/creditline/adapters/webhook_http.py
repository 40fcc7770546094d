"""Sends a notification to a platform's webhook URL (httpx2: pooled, with timeouts)."""

from __future__ import annotations

import httpx2 as httpx

from creditline.service.notifications.ports import Delivery


class HttpWebhookSender:
    def __init__(self, timeout_s: float) -> None:
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def send(self, url: str, headers: dict[str, str], body: bytes) -> Delivery:
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return Delivery(ok=False, detail=f"{type(error).__name__}: {error}")
        ok = 200 <= response.status_code < 300
        return Delivery(ok=ok, detail=f"HTTP {response.status_code}")

    def close(self) -> None:
        self._client.close()
