"""Order events over NATS JetStream: the stream, the durable consumer, a publisher.

Layout (namespace `creditline`, see `Topology`): stream `CREDITLINE_ORDER_EVENTS` holds
subjects `creditline.orders.<platform id>` (file storage, kept 7 days); the durable pull
consumer `creditline-events` acknowledges explicitly, and a message not acknowledged
within `ack_wait` is delivered again. So a worker that dies before committing loses
nothing, and one that dies after committing sees the message again as a duplicate (the
inbox drops it). Several workers may pull from the same durable consumer.

A message body is the same JSON object as one element of `POST /v1/order-events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import NotFoundError

RETENTION_S = 7 * 86_400
CONNECT_TIMEOUT_S = 5.0
FLUSH_TIMEOUT_S = 5
NAMESPACE_DEFAULT = "creditline"


@dataclass(frozen=True, slots=True)
class Topology:
    """Names derived from one namespace, so tests and benches never share a stream.

    Namespace `creditline` (the default): stream `CREDITLINE_ORDER_EVENTS`, subjects
    `creditline.orders.<platform id>`, durable consumer `creditline-events`.
    """

    namespace: str = NAMESPACE_DEFAULT

    def __post_init__(self) -> None:
        if not self.namespace.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"NATS namespace {self.namespace!r}: letters, digits, - and _ only")

    @property
    def stream(self) -> str:
        return f"{self.namespace.upper().replace('-', '_')}_ORDER_EVENTS"

    @property
    def prefix(self) -> str:
        return f"{self.namespace}.orders"

    @property
    def durable(self) -> str:
        return f"{self.namespace}-events"

    def subject_for(self, platform_id: str) -> str:
        return f"{self.prefix}.{platform_id}"

    def platform_of(self, subject: str) -> str | None:
        prefix = self.prefix + "."
        rest = subject[len(prefix) :] if subject.startswith(prefix) else ""
        return rest or None


async def connect(url: str, topology: Topology) -> tuple[Client, JetStreamContext]:
    client = await nats.connect(url, connect_timeout=CONNECT_TIMEOUT_S, max_reconnect_attempts=-1)
    stream = client.jetstream()
    await ensure_stream(stream, topology)
    return client, stream


async def ensure_stream(js: JetStreamContext, topology: Topology) -> None:
    try:
        await js.stream_info(topology.stream)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=topology.stream,
                subjects=[f"{topology.prefix}.*"],
                storage=StorageType.FILE,
                max_age=RETENTION_S,
            )
        )


async def delete_stream(js: JetStreamContext, topology: Topology) -> None:
    """Drop the stream and its consumers (tests and benches clean up after themselves)."""
    try:
        await js.delete_stream(topology.stream)
    except NotFoundError:
        return


async def subscribe(
    js: JetStreamContext, topology: Topology, *, ack_wait_s: float
) -> JetStreamContext.PullSubscription:
    config = ConsumerConfig(
        durable_name=topology.durable,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_ack_pending=20_000,
    )
    return await js.pull_subscribe(
        f"{topology.prefix}.*", durable=topology.durable, stream=topology.stream, config=config
    )


async def fetch(sub: JetStreamContext.PullSubscription, batch: int, timeout_s: float) -> list[Msg]:
    try:
        return await sub.fetch(batch=batch, timeout=timeout_s)
    except TimeoutError:
        # nats.errors.TimeoutError, and (under load) a bare asyncio timeout from inside
        # nats-py's fetch: both mean "nothing came", never a reason to stop the worker.
        return []


async def publish(
    js: JetStreamContext, topology: Topology, platform_id: str, bodies: Sequence[bytes]
) -> None:
    """Publish and wait until JetStream has stored every message."""
    subject = topology.subject_for(platform_id)
    futures = [await js.publish_async(subject, body) for body in bodies]
    for future in futures:
        await future


async def close(client: Client) -> None:
    """Flush what was sent (acknowledgements included), then disconnect.

    Not `drain()`: draining a pull subscription waits for a fetch that is not coming.
    """
    try:
        await client.flush(timeout=FLUSH_TIMEOUT_S)
    finally:
        await client.close()
