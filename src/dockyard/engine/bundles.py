"""Source bundles: a tar or tar.gz of a source tree fetched over HTTP(S) from an address the
policy of engine/fetches.py accepts (the connection goes to the checked address, redirects are
not followed), size- and time-limited, unpacked with tarfile's `data` filter (no absolute
paths, no `..`, no links or devices out of the tree)."""

from __future__ import annotations

import asyncio
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

from dockyard.engine.base import LineSink
from dockyard.engine.fetches import PinnedTransport, RefusedTarget, Resolver, system_resolver
from dockyard.engine.urls import redact_url
from dockyard.errors import BuildFailed


async def fetch_bundle(
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    timeout: float,
    allow: Sequence[str],
    on_line: LineSink,
    resolver: Resolver = system_resolver,
) -> None:
    """Download `url` (at most `max_bytes`, within `timeout` seconds, from a target the
    address policy accepts with `allow`) and unpack it into `dest`. BuildFailed says what
    went wrong."""
    transport = PinnedTransport(allow, resolver=resolver)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".tar", dir=dest.parent) as archive:
        on_line(f"Fetching bundle {redact_url(url)}")
        try:
            async with asyncio.timeout(timeout):
                size = await _download(url, archive, max_bytes, transport)
        except RefusedTarget as exc:
            raise BuildFailed(f"The bundle URL is refused: {exc.message}") from None
        except httpx.InvalidURL as exc:
            raise BuildFailed(f"The bundle URL is refused: {exc}") from None
        except TimeoutError as exc:
            raise BuildFailed(f"Fetching the bundle took longer than {timeout:.0f} s") from exc
        except httpx.HTTPError as exc:
            raise BuildFailed(f"Fetching the bundle failed: {exc}") from exc
        on_line(f"Fetched {size} bytes; unpacking")
        archive.flush()
        await asyncio.to_thread(_unpack, Path(archive.name), dest)


async def _download(
    url: str,
    archive: tempfile._TemporaryFileWrapper[bytes],
    max_bytes: int,
    transport: PinnedTransport,
) -> int:
    size = 0
    async with (
        httpx.AsyncClient(transport=transport, follow_redirects=False) as client,
        client.stream("GET", url) as response,
    ):
        if response.status_code != 200:
            raise BuildFailed(f"Fetching the bundle answered HTTP {response.status_code}")
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise BuildFailed(f"The bundle is larger than {max_bytes} bytes")
            archive.write(chunk)
    return size


def _unpack(archive: Path, dest: Path) -> None:
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BuildFailed(f"The bundle is not a usable tar or tar.gz archive: {exc}") from exc
