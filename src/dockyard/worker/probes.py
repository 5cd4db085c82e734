"""Health checks of a running job container, as Kubernetes defines them.

- startupProbe: checked first; once it succeeds the other probes begin. `failureThreshold`
  failures in a row end the attempt.
- livenessProbe: `failureThreshold` failures in a row end the attempt (the container is
  stopped and the attempt counts as failed, so it is retried within backoffLimit).
- readinessProbe: reported (Ready / Not ready after `successThreshold` / `failureThreshold`
  results in a row); a job has no traffic to withhold, so it never ends the attempt.

Each probe waits `initialDelaySeconds`, then runs every `periodSeconds`; a check taking longer
than `timeoutSeconds` fails. CMD runs inside the container; HTTP (GET, 200 to 399) and TCP
(connect) go from the worker to the container's port at the address the engine gives, as the
kubelet probes a pod's IP: the container's on its network (this machine reaches its
containers; they cannot reach it), 127.0.0.1 with host networking. A container without an
address (the `none` network) is probed from inside, with the image's `wget` / `nc -z`.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable

import httpx

from dockyard.engine.base import JobContainers, LineSink
from dockyard.errors import DockyardError
from dockyard.runs.recipe import HealthProbe

Check = Callable[[], Awaitable[bool]]


class ProbeFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Prober:
    def __init__(
        self,
        containers: JobContainers,
        container_id: str,
        *,
        time_scale: float,
        on_line: LineSink,
    ) -> None:
        self.containers = containers
        self.container_id = container_id
        self.time_scale = time_scale
        self.on_line = on_line
        self._address: str | None = None

    async def watch(self, probes: list[HealthProbe]) -> None:
        """Return never while the container is healthy; ProbeFailed when a startup or liveness
        probe gives up on it."""
        startup = [p for p in probes if p.type == "startupProbe"]
        others = [p for p in probes if p.type != "startupProbe"]
        for probe in startup:
            await self._until_success(probe)
        watching = [asyncio.create_task(self._forever(probe)) for probe in others]
        if not watching:
            await asyncio.Event().wait()
        try:
            failed, _ = await asyncio.wait(watching, return_when=asyncio.FIRST_EXCEPTION)
            for task in failed:
                task.result()
        finally:
            for task in watching:
                task.cancel()

    async def _until_success(self, probe: HealthProbe) -> None:
        await self._sleep(probe.initial_delay_seconds)
        failures = 0
        while not await self._check(probe):
            failures += 1
            if failures >= probe.failure_threshold:
                raise ProbeFailed(f"Startup probe failed {failures} times: {describe(probe)}")
            await self._sleep(probe.period_seconds)
        self.on_line(f"Startup probe succeeded: {describe(probe)}")

    async def _forever(self, probe: HealthProbe) -> None:
        await self._sleep(probe.initial_delay_seconds)
        failures = successes = 0
        ready: bool | None = None
        while True:
            if await self._check(probe):
                failures, successes = 0, successes + 1
            else:
                failures, successes = failures + 1, 0
            if probe.type == "livenessProbe" and failures >= probe.failure_threshold:
                raise ProbeFailed(f"Liveness probe failed {failures} times: {describe(probe)}")
            if probe.type == "readinessProbe":
                ready = self._readiness(probe, ready, successes, failures)
            await self._sleep(probe.period_seconds)

    def _readiness(
        self, probe: HealthProbe, ready: bool | None, successes: int, failures: int
    ) -> bool | None:
        if ready is not True and successes >= probe.success_threshold:
            self.on_line(f"Ready: {describe(probe)}")
            return True
        if ready is not False and failures >= probe.failure_threshold:
            self.on_line(f"Not ready: {describe(probe)}")
            return False
        return ready

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.time_scale)

    async def _check(self, probe: HealthProbe) -> bool:
        try:
            async with asyncio.timeout(probe.timeout_seconds):
                return await self._run(probe)
        except (TimeoutError, OSError, httpx.HTTPError, DockyardError):
            return False  # a probe that cannot run (no such command) fails

    async def _run(self, probe: HealthProbe) -> bool:
        if probe.protocol == "CMD":
            return await self._exec(shlex.split(probe.cmd or ""), probe)
        address = await self._container_address()
        if probe.protocol == "HTTP":
            path = probe.path or "/"
            if address is None:
                url = f"http://127.0.0.1:{probe.port}{path}"
                return await self._exec(["wget", "-q", "-O", "/dev/null", url], probe)
            async with _direct_client() as client:
                url = f"http://{address}:{probe.port}{path}"
                return 200 <= (await client.get(url)).status_code < 400
        if address is None:
            return await self._exec(["nc", "-z", "127.0.0.1", str(probe.port)], probe)
        _, writer = await asyncio.open_connection(address, probe.port)
        writer.close()
        return True

    async def _container_address(self) -> str | None:
        """Where the worker reaches the container; None: only from inside it."""
        if self._address is None:
            self._address = await self.containers.address(self.container_id)
        return self._address

    async def _exec(self, command: list[str], probe: HealthProbe) -> bool:
        code = await self.containers.exec(self.container_id, command, probe.timeout_seconds)
        return code == 0


def _direct_client() -> httpx.AsyncClient:
    """A client for plain HTTP to the container: no proxy from the environment (it would not
    reach this machine's loopback or its containers), and no TLS context, whose certificate
    loading costs some 50 ms of CPU at every probe."""
    return httpx.AsyncClient(verify=False, trust_env=False)


def describe(probe: HealthProbe) -> str:
    if probe.protocol == "CMD":
        return f"CMD {probe.cmd}"
    if probe.protocol == "HTTP":
        return f"HTTP GET :{probe.port}{probe.path or '/'}"
    return f"TCP :{probe.port}"
