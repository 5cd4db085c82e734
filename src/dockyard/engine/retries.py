"""How long dockyard waits for a registry that does not answer: one policy for the pushes of
builds and the pulls of job runs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from dockyard.engine.base import LineSink
from dockyard.errors import DockyardError

# What the docker CLI and the engine say when the registry did not answer (down, restarting,
# overloaded, or hung: dockerd gives up on a registry silent for 25 s): worth another try.
# Anything else (refused login, a bad manifest, a full disk, an unknown image) is final.
UNREACHABLE = re.compile(
    r"connection refused|connection reset|broken pipe|i/o timeout|no route to host|\bEOF\b|"
    r"TLS handshake timeout|Client\.Timeout exceeded|"
    r"50[234] (?:Bad Gateway|Service Unavailable|Gateway Timeout)",
    re.IGNORECASE,
)
REGISTRY_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)  # seconds before each further try: 15 s at most

T = TypeVar("T")
E = TypeVar("E", bound=DockyardError)


def unreachable(message: str) -> bool:
    return UNREACHABLE.search(message) is not None


@dataclass(frozen=True)
class RegistryRetries:
    """Tried again after each delay while the registry does not answer."""

    delays: tuple[float, ...] = REGISTRY_RETRY_DELAYS

    @classmethod
    def scaled(cls, scale: float) -> RegistryRetries:
        return cls(tuple(delay * scale for delay in REGISTRY_RETRY_DELAYS))

    @property
    def tries(self) -> int:
        return len(self.delays) + 1

    async def call(
        self,
        attempt: Callable[[], Awaitable[T]],
        failure: type[E],
        doing: str,
        on_line: LineSink | None = None,
    ) -> T:
        """`attempt()`, again after each delay while it raises a `failure` saying the registry
        did not answer (each retry announced to `on_line` as "`doing` again in N s"); then
        that `failure`, "registry unavailable after N tries". Any other error at once."""
        tried = 0
        while True:
            try:
                return await attempt()
            except failure as exc:
                tried += 1
                if not unreachable(exc.message):
                    raise
                if tried == self.tries:
                    raise failure(
                        f"registry unavailable after {self.tries} tries: {exc.message}"
                    ) from exc
            delay = self.delays[tried - 1]
            if on_line is not None:
                on_line(f"The registry did not answer; {doing} again in {delay:g} s")
            await asyncio.sleep(delay)


REGISTRY_RETRIES = RegistryRetries()
