"""Order events over NATS JetStream: the stream, the durable consumer, a publisher.

Layout: stream `CREDITLINE_ORDER_EVENTS` holds subjects `creditline.orders.<platform id>`
(file storage, kept 7 days); the durable pull consumer `creditline-events` acknowledges
explicitly, and a message not acknowledged within `ack_wait` is delivered again — so a
worker that dies before committing loses nothing, and one that dies after committing
sees the message again as a duplicate (the inbox drops it). Several workers may pull
from the same durable consumer.

A message body is the same JSON object as one element of `POST /v1/order-events`.
"""

from __future__ import annotations

from collections.abc import Sequence

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import NotFoundError

STREAM = "CREDITLINE_ORDER_EVENTS"
SUBJECT_PREFIX = "creditline.orders"
DURABLE = "creditline-events"
RETENTION_S = 7 * 86_400
CONNECT_TIMEOUT_S = 5.0


def subject_for(platform_id: str) -> str:
    return f"{SUBJECT_PREFIX}.{platform_id}"


def platform_of(subject: str) -> str | None:
    prefix = SUBJECT_PREFIX + "."
    return subject[len(prefix) :] if subject.startswith(prefix) else None


async def connect(url: str) -> tuple[Client, JetStreamContext]:
    client = await nats.connect(url, connect_timeout=CONNECT_TIMEOUT_S, max_reconnect_attempts=-1)
    stream = client.jetstream()
    await ensure_stream(stream)
    return client, stream


async def ensure_stream(js: JetStreamContext) -> None:
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=STREAM,
                subjects=[f"{SUBJECT_PREFIX}.*"],
                storage=StorageType.FILE,
                max_age=RETENTION_S,
            )
        )


async def subscribe(
    js: JetStreamContext, *, ack_wait_s: float, durable: str = DURABLE
) -> JetStreamContext.PullSubscription:
    config = ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_ack_pending=20_000,
    )
    return await js.pull_subscribe(
        f"{SUBJECT_PREFIX}.*", durable=durable, stream=STREAM, config=config
    )


async def fetch(sub: JetStreamContext.PullSubscription, batch: int, timeout_s: float) -> list[Msg]:
    try:
        return await sub.fetch(batch=batch, timeout=timeout_s)
    except nats.errors.TimeoutError:
        return []


async def publish(js: JetStreamContext, platform_id: str, bodies: Sequence[bytes]) -> None:
    """Publish and wait until JetStream has stored every message."""
    futures = [await js.publish_async(subject_for(platform_id), body) for body in bodies]
    for future in futures:
        await future
