"""Linux cgroups, read and made by path: a build's own cgroup (its process tree placed in it)
and the counters of any cgroup (CPU, memory, disk, and the network of the namespaces its
processes run in), on cgroup v1 (one hierarchy per controller, as Debian's Docker 20.10
engine here uses) and v2 (one unified hierarchy)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dockyard.engine.base import ResourceUsage
from dockyard.errors import EngineUnavailable

ROOT = Path("/sys/fs/cgroup")
# The v1 controllers a sample reads, and the one whose cgroup.procs lists a cgroup's processes.
V1_CONTROLLERS = ("cpuacct", "memory", "blkio")
V1_PROCS = "memory"


def unified() -> bool:
    return (ROOT / "cgroup.controllers").is_file()


@dataclass(frozen=True)
class Cgroup:
    """One cgroup by its path in the hierarchies (`/docker/buildkit/<step>`)."""

    path: str

    def dirs(self) -> list[Path]:
        """Its directory in each hierarchy read (v2: the one)."""
        relative = self.path.strip("/")
        if unified():
            return [ROOT / relative]
        return [ROOT / controller / relative for controller in V1_CONTROLLERS]

    def _dir(self, controller: str) -> Path:
        base = ROOT if unified() else ROOT / controller
        return base / self.path.strip("/")

    def child(self, name: str) -> Cgroup:
        return Cgroup(f"{self.path.rstrip('/')}/{name}")

    def children(self) -> list[str]:
        """The names of its child cgroups (none when it does not exist)."""
        top = self._dir(V1_PROCS)
        with contextlib.suppress(FileNotFoundError):
            return sorted(entry.name for entry in top.iterdir() if entry.is_dir())
        return []

    def pids(self) -> list[int]:
        with contextlib.suppress(OSError):
            return [int(pid) for pid in (self._dir(V1_PROCS) / "cgroup.procs").read_text().split()]
        return []

    def all_pids(self) -> list[int]:
        """Its processes and those of its descendants (runc nests a step's cgroup in it)."""
        found: list[int] = []
        for procs in self._dir(V1_PROCS).glob("**/cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                found += [int(pid) for pid in procs.read_text().split()]
        return found

    def create(self) -> None:
        for directory in self.dirs():
            directory.mkdir(parents=True, exist_ok=True)

    def add(self, pid: int) -> None:
        """Move process `pid` (all its threads) into the cgroup; its children are born in it."""
        for directory in self.dirs():
            (directory / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        """Remove it and its children (those the runtime made for a build's steps), deepest
        first; one that still has a process stays."""
        for directory in self.dirs():
            for nested in sorted(directory.glob("**/"), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    nested.rmdir()

    def usage(self) -> ResourceUsage:
        """Its counters now, its descendants' included (EngineUnavailable when it is gone)."""
        try:
            usage = _usage_v2(self._dir("")) if unified() else _usage_v1(self)
        except (OSError, ValueError, KeyError) as exc:
            raise EngineUnavailable(f"cgroup {self.path} not read: {exc}") from exc
        received, sent = network_of(self.all_pids())
        return dataclasses.replace(usage, network_rx_bytes=received, network_tx_bytes=sent)


def network_of(pids: list[int]) -> tuple[int, int]:
    """Bytes received and sent on the interfaces (loopback aside) of the network namespaces
    these processes run in, each namespace counted once; the worker's own namespace (buildah
    itself, a step of a build on the host's network) is not the build's to count."""
    seen = {_namespace("self")}
    received = sent = 0
    for pid in pids:
        try:
            namespace = _namespace(str(pid))
            if namespace in seen:
                continue
            devices = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
        except OSError:  # the process has ended
            continue
        seen.add(namespace)
        for device in devices:
            name, _, counters = device.partition(":")
            fields = counters.split()
            if name.strip() != "lo" and len(fields) >= 9:
                received += int(fields[0])
                sent += int(fields[8])
    return received, sent


def _namespace(pid: str) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def own(name: str) -> Cgroup:
    """The cgroup `name` below this process's own (in the memory hierarchy, on v1): a child
    it may create and move its children into (OSError when it has none)."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    by_controllers = {line.split(":", 2)[1]: line.split(":", 2)[2] for line in lines}
    if unified():
        return Cgroup(by_controllers[""]).child(name)
    for controllers, path in by_controllers.items():
        if V1_PROCS in controllers.split(","):
            return Cgroup(path).child(name)
    raise FileNotFoundError(f"this process has no {V1_PROCS} cgroup")


def _stat(path: Path) -> dict[str, int]:
    """A flat keyed file (`memory.stat`, `cpu.stat`) as numbers."""
    pairs = (line.split() for line in path.read_text().splitlines())
    return {pair[0]: int(pair[1]) for pair in pairs if len(pair) == 2}


def _usage_v1(cgroup: Cgroup) -> ResourceUsage:
    memory = cgroup._dir("memory")
    used = int((memory / "memory.usage_in_bytes").read_text())
    inactive = _stat(memory / "memory.stat").get("total_inactive_file", 0)
    disk = {"Read": 0, "Write": 0}
    io = (cgroup._dir("blkio") / "blkio.throttle.io_service_bytes_recursive").read_text()
    for line in io.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in disk:
            disk[fields[1]] += int(fields[2])
    return _resource_usage(
        cpu_seconds=int((cgroup._dir("cpuacct") / "cpuacct.usage").read_text()) / 1e9,
        memory_bytes=max(used - inactive, 0),
        memory_peak_bytes=int((memory / "memory.max_usage_in_bytes").read_text()),
        disk=(disk["Read"], disk["Write"]),
    )


def _usage_v2(directory: Path) -> ResourceUsage:
    used = int((directory / "memory.current").read_text())
    inactive = _stat(directory / "memory.stat").get("inactive_file", 0)
    peak = directory / "memory.peak"  # kernels from 5.19
    read = written = 0
    for line in (directory / "io.stat").read_text().splitlines():
        counters = dict(field.split("=", 1) for field in line.split()[1:])
        read += int(counters.get("rbytes", 0))
        written += int(counters.get("wbytes", 0))
    return _resource_usage(
        cpu_seconds=_stat(directory / "cpu.stat")["usage_usec"] / 1e6,
        memory_bytes=max(used - inactive, 0),
        memory_peak_bytes=int(peak.read_text()) if peak.is_file() else None,
        disk=(read, written),
    )


def _resource_usage(
    *, cpu_seconds: float, memory_bytes: int, memory_peak_bytes: int | None, disk: tuple[int, int]
) -> ResourceUsage:
    return ResourceUsage(
        at=datetime.now(UTC),
        cpu_seconds=cpu_seconds,
        memory_bytes=memory_bytes,
        memory_peak_bytes=memory_peak_bytes,
        memory_limit_bytes=None,
        network_rx_bytes=0,
        network_tx_bytes=0,
        disk_read_bytes=disk[0],
        disk_write_bytes=disk[1],
    )
