"""Faults of the local registry `dockyard up` runs (Debian's docker-registry, storing under
`<data dir>/registry/data`), injected from outside the way a real machine fails it: the process
killed, kept down (its port taken, so it cannot come back), or its storage full (a tmpfs of a
fixed size mounted there). Each one a context manager or a call a long bench mode can loop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

LOCAL_REGISTRY_USER = "dockyard"
BACK_WITHIN_SECONDS = 20.0


def registry_state_dir(data_dir: Path) -> Path:
    return data_dir / "registry"


def registry_pid(data_dir: Path) -> int | None:
    """The process serving the installation's registry (its command names its config)."""
    config = str(registry_state_dir(data_dir) / "config.yml").encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if argv[1:3] == [b"serve", config]:
                return int(entry.name)
    return None


def registry_gone(data_dir: Path, within: float = 5.0) -> bool:
    """Whether no process serves the installation's registry (within `within` seconds)."""
    deadline = time.monotonic() + within
    while registry_pid(data_dir) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def kill_registry(data_dir: Path) -> int:
    """SIGKILL the installation's registry (a crash, the OOM killer); its pid."""
    pid = registry_pid(data_dir)
    assert pid is not None, f"no registry process serves {data_dir}"
    os.kill(pid, signal.SIGKILL)
    return pid


def registry_answers(address: str) -> bool:
    try:
        return httpx.get(f"http://{address}/v2/", timeout=2).status_code in (200, 401)
    except httpx.HTTPError:
        return False


def wait_until_registry_answers(address: str, within: float = BACK_WITHIN_SECONDS) -> None:
    deadline = time.monotonic() + within
    while not registry_answers(address):
        assert time.monotonic() < deadline, f"the registry at {address} did not come back"
        time.sleep(0.1)


@contextlib.contextmanager
def registry_down(data_dir: Path, address: str) -> Iterator[None]:
    """The registry killed and kept down for the block: its port is taken by a listener that
    resets every connection, so clients get no answer and no restart can bind it. After the
    block the port is free again; the registry is back once `dockyard up` has started it."""
    host, port = address.rsplit(":", 1)
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
    deadline = time.monotonic() + BACK_WITHIN_SECONDS
    try:
        while True:  # a restart may win the port back between a kill and the bind
            _kill_if_running(data_dir)
            try:
                holder.bind((host, int(port)))
                break
            except OSError:
                assert time.monotonic() < deadline, f"{address} stayed taken"
                time.sleep(0.02)
        holder.listen()
        threading.Thread(target=_reset_each_connection, args=(holder,), daemon=True).start()
        assert not registry_answers(address)
        yield
    finally:
        with contextlib.suppress(OSError):  # wakes the accepting thread
            holder.shutdown(socket.SHUT_RDWR)
        holder.close()
    wait_until_registry_answers(address)


def _kill_if_running(data_dir: Path) -> None:
    pid = registry_pid(data_dir)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _reset_each_connection(listener: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the listener closed
        while True:
            connection, _ = listener.accept()
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()


@contextlib.contextmanager
def registry_storage_of(data_dir: Path, megabytes: int) -> Iterator[Path]:
    """The registry's storage on a tmpfs of `megabytes` for the block (mounted before
    `dockyard up` starts the registry; unmounted after, lazily if still in use)."""
    storage = registry_state_dir(data_dir) / "data"
    storage.mkdir(parents=True)
    os.chmod(registry_state_dir(data_dir), 0o700)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700", "tmpfs", str(storage)],
        check=True,
    )
    try:
        yield storage
    finally:
        subprocess.run(["umount", "--lazy", str(storage)], check=True)


def resize_registry_storage(storage: Path, megabytes: int) -> None:
    """Space freed (or taken) under the running registry: the tmpfs gets a new size."""
    subprocess.run(["mount", "-o", f"remount,size={megabytes}m", str(storage)], check=True)


def registry_login(data_dir: Path) -> tuple[str, str]:
    return LOCAL_REGISTRY_USER, (registry_state_dir(data_dir) / "password").read_text().strip()


def registry_tags(data_dir: Path, address: str, repository: str) -> list[str]:
    """The tags the registry lists for `repository` (none when it does not know it)."""
    response = httpx.get(
        f"http://{address}/v2/{repository}/tags/list", auth=registry_login(data_dir), timeout=10
    )
    if response.status_code == 404:
        return []
    response.raise_for_status()
    return list(response.json().get("tags") or [])
