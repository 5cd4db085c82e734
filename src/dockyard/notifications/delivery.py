"""The worker handler that sends the outbox: each tick claims due deliveries (up to
DOCKYARD_NOTIFICATION_CONCURRENCY in flight, one per integration) and sends each in its own
task through one shared HTTP client, so a slow or dead target never holds up the worker's
builds and runs. No database transaction stays open across an HTTP request: the claim is
committed first, the attempt recorded after.

A worker killed mid-delivery leaves its claim to expire (DOCKYARD_NOTIFICATION_TIMEOUT_SECONDS
+ DOCKYARD_WORKER_LEASE_SECONDS); then any worker sends the delivery again: at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy.exc import SQLAlchemyError

from dockyard import __version__
from dockyard.config import Settings
from dockyard.db.session import Database
from dockyard.engine.fetches import PinnedTransport, RefusedTarget
from dockyard.metrics.instruments import NOTIFICATION_DELIVERIES
from dockyard.notifications import service
from dockyard.notifications.service import MAX_ERROR_CHARS, Claimed, Outcome
from dockyard.notifications.signing import signature_headers
from dockyard.secrets.crypto import SecretBox

log = structlog.get_logger(__name__)

# Retries come back between 0.75 and 1.25 times their back-off.
JITTER = (0.75, 1.25)


def request_headers(claimed: Claimed, timestamp: int) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"dockyard-notifications/{__version__}",
        "X-Dockyard-Event": claimed.event,
        "X-Dockyard-Delivery": claimed.id,
    }
    if claimed.secret is not None:
        headers |= signature_headers(claimed.secret, timestamp, claimed.body.encode())
    return headers


def _error_of(response: httpx.Response) -> str | None:
    if response.is_success:
        return None
    if response.is_redirect:
        return f"HTTP {response.status_code}: redirects are not followed"
    return f"HTTP {response.status_code}"


async def post(client: httpx.AsyncClient, claimed: Claimed) -> Outcome:
    """One attempt through `client`, whose transport checks the URL again (its DNS may have
    changed since it was saved) and connects to the checked address, then the body is POSTed;
    a 2xx is a success, anything else (redirects too) a failure."""
    started = time.monotonic()
    status_code: int | None = None
    try:
        body = claimed.body.encode()
        response = await client.post(
            claimed.url, content=body, headers=request_headers(claimed, int(time.time()))
        )
        status_code, error = response.status_code, _error_of(response)
    except RefusedTarget as exc:
        error = f"refused: {exc.message}"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")
    latency_ms = round((time.monotonic() - started) * 1000)
    return Outcome(status_code, latency_ms, error[:MAX_ERROR_CHARS] if error else None)


@dataclass
class Sending:
    claimed: Claimed
    task: asyncio.Task[None]


class NotificationSender:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        box: SecretBox,
        worker_id: str,
        wake: asyncio.Event,
    ) -> None:
        self.settings = settings
        self.database = database
        self.box = box
        self.worker_id = worker_id
        self.wake = wake
        self.sending: dict[int, Sending] = {}
        # One client for every delivery: its connection pool spares a TLS handshake per
        # request, and making a client costs tens of milliseconds.
        self.client = httpx.AsyncClient(
            timeout=settings.notification_timeout_seconds,
            follow_redirects=False,
            transport=PinnedTransport(
                settings.fetch_allow,
                limits=httpx.Limits(max_connections=settings.notification_concurrency),
            ),
        )

    async def tick(self) -> None:
        for pk in [pk for pk, sending in self.sending.items() if sending.task.done()]:
            del self.sending[pk]
        free = self.settings.notification_concurrency - len(self.sending)
        if free <= 0:
            return
        busy = {sending.claimed.integration_pk for sending in self.sending.values()}
        async with self.database.sessions() as session:
            claimed = await service.claim_due(
                session, self.box, self.settings, self.worker_id, free, busy
            )
            await session.commit()
        for delivery in claimed:
            task = asyncio.create_task(self._send(delivery), name=f"notification {delivery.id}")
            task.add_done_callback(lambda _: self.wake.set())
            self.sending[delivery.pk] = Sending(delivery, task)

    async def _send(self, claimed: Claimed) -> None:
        outcome = await post(self.client, claimed)
        NOTIFICATION_DELIVERIES.labels("success" if outcome.error is None else "failure").inc()
        try:
            async with self.database.sessions() as session:
                kept = await service.record_attempt(
                    session,
                    self.settings,
                    self.worker_id,
                    claimed,
                    outcome,
                    random.uniform(*JITTER),
                )
                await session.commit()
        except SQLAlchemyError:  # the claim expires and the delivery is sent again
            log.exception("recording a notification attempt failed", delivery=claimed.id)
            return
        log.info(
            "notification sent" if outcome.error is None else "notification attempt failed",
            delivery=claimed.id,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            claim_kept=kept,
        )

    async def shutdown(self) -> None:
        """Stop sending; deliveries not recorded yet are handed back for the next worker."""
        for sending in self.sending.values():
            sending.task.cancel()
        await asyncio.gather(*(s.task for s in self.sending.values()), return_exceptions=True)
        with contextlib.suppress(SQLAlchemyError):  # unreleased claims expire on their own
            async with self.database.sessions() as session:
                await service.release(session, list(self.sending), self.worker_id)
                await session.commit()
        self.sending.clear()
        await self.client.aclose()
