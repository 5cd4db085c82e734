"""A second Docker engine of the tests' own, to restart at will: the machine's engine serves
everyone else's tests and is never touched.

`SecondEngine` runs a containerd and a dockerd under one temp dir (sockets, data root, exec
root, pidfile), on a bridge of its own (`br-dyfaults`, 100.69.0.1/24, out of the main
engine's 100.66.0.0/24 and 100.67.0.0/16) and no iptables rules. It has no address pool
(`--default-address-pool`): a dockerd with one, restarted without live-restore, deletes the
host's `docker0` (moby's "clear stale bridge network" removes the interface by its default
name, whatever `--bridge` says), the main engine's bridge. So it has no networks but its
default bridge either: dockyard on it runs jobs there (DOCKYARD_CONTAINER_NETWORK=bridge).

containerd is a process of its own, as where the two are system services: restarting
dockerd leaves it and the containers' shims running, and whether a running container
outlives the restart is up to dockerd's `--live-restore`. `restart_engine` is the fault: dockerd is
stopped with SIGTERM (an upgrade) or SIGKILL (an OOM kill) and started again.

`second_engine_running` (a module fixture's body) starts one with local/busybox:1 loaded and
tears everything down afterwards: containers, both daemons, mounts, the bridge and the dir.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

DOCKER_CLI = "/usr/bin/docker"
DOCKERD = "/usr/sbin/dockerd"
CONTAINERD = "containerd"
BRIDGE = "br-dyfaults"
BRIDGE_ADDRESS = "100.69.0.1/24"
MAIN_BRIDGE = "docker0"
BASE_IMAGE = "local/busybox:1"
ANSWER_SECONDS = 30.0
STOP_SECONDS = 30.0
CONTAINERD_CONFIG = """version = 2
root = "{root}/containerd-root"
state = "{root}/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{root}/containerd.sock"
[ttrpc]
  address = "{root}/containerd.sock.ttrpc"
[debug]
  address = "{root}/containerd-debug.sock"
"""


@dataclass
class SecondEngine:
    root: Path
    live_restore: bool = False
    restarts: int = 0
    dockerd: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    containerd: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def host(self) -> str:
        """The engine's DOCKER_HOST."""
        return f"unix://{self.socket}"

    def start(self) -> None:
        _make_bridge()
        config = self.root / "containerd.toml"
        config.write_text(CONTAINERD_CONFIG.format(root=self.root))
        with (self.root / "containerd.log").open("ab") as log:
            self.containerd = subprocess.Popen(
                [CONTAINERD, "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        self._start_dockerd()
        self._load_base_image()

    def _start_dockerd(self) -> None:
        argv = [
            DOCKERD,
            f"--host={self.host}",
            f"--containerd={self.root / 'containerd.sock'}",
            f"--data-root={self.root / 'data'}",
            f"--exec-root={self.root / 'exec'}",
            f"--pidfile={self.root / 'docker.pid'}",
            f"--config-file={self._daemon_config()}",
            f"--bridge={BRIDGE}",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
            *(["--live-restore"] if self.live_restore else []),
        ]
        with (self.root / "dockerd.log").open("ab") as log:
            self.dockerd = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        self.wait_answering()

    def _daemon_config(self) -> Path:
        """An empty one, so that no /etc/docker/daemon.json of the machine applies."""
        config = self.root / "daemon.json"
        config.write_text("{}\n")
        return config

    def wait_answering(self) -> None:
        deadline = time.monotonic() + ANSWER_SECONDS
        while not self.answers():
            assert self.dockerd is not None
            if self.dockerd.poll() is not None or time.monotonic() > deadline:
                log = (self.root / "dockerd.log").read_text(errors="replace")
                raise RuntimeError(f"the second dockerd did not come up:\n{log[-3000:]}")
            time.sleep(0.1)

    def answers(self) -> bool:
        with contextlib.suppress(docker.errors.DockerException, OSError), self.client() as api:
            return bool(api.ping())
        return False

    def client(self) -> docker.APIClient:
        return docker.APIClient(base_url=self.host, timeout=30)

    def _load_base_image(self) -> None:
        saved = subprocess.Popen([DOCKER_CLI, "save", BASE_IMAGE], stdout=subprocess.PIPE)
        loaded = subprocess.run(
            [DOCKER_CLI, "--host", self.host, "load"], stdin=saved.stdout, capture_output=True
        )
        assert saved.wait() == 0 and loaded.returncode == 0, loaded.stderr

    def stop_dockerd(self, sig: signal.Signals) -> None:
        assert self.dockerd is not None
        self.dockerd.send_signal(sig)
        self.dockerd.wait(timeout=STOP_SECONDS)
        self.dockerd = None

    def close(self) -> None:
        """Every container removed, both daemons stopped, their mounts, the bridge and the
        dir gone. A dockerd that is down is started once more (without live-restore: it
        kills the containers it finds running) to remove them."""
        if self.dockerd is None or not self.answers():
            self._restart_for_cleanup()
        if self.answers():
            with self.client() as api:
                for container in api.containers(all=True):
                    with contextlib.suppress(docker.errors.NotFound):
                        api.remove_container(container["Id"], force=True)
        for process in (self.dockerd, self.containerd):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.dockerd = self.containerd = None
        _unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        subprocess.run(["ip", "link", "delete", BRIDGE], capture_output=True)

    def _restart_for_cleanup(self) -> None:
        if self.containerd is None or self.containerd.poll() is not None:
            return
        if self.dockerd is not None:
            self.dockerd.kill()
            self.dockerd.wait()
        self.live_restore = False
        with contextlib.suppress(RuntimeError):
            self._start_dockerd()


def restart_engine(
    engine: SecondEngine, sig: signal.Signals = signal.SIGKILL, *, live_restore: bool | None = None
) -> None:
    """The fault: stop the engine's dockerd with `sig` (SIGTERM: an upgrade, SIGKILL: an OOM
    kill) and start it again, with `--live-restore` or without (as it was if None); returns
    once it answers. containerd, and so a running container's process, stays up: a dockerd
    without live-restore kills the containers it finds running when it starts."""
    main_bridge = _has_link(MAIN_BRIDGE)
    engine.stop_dockerd(sig)
    if live_restore is not None:
        engine.live_restore = live_restore
    engine._start_dockerd()
    engine.restarts += 1
    assert _has_link(MAIN_BRIDGE) == main_bridge, "the second dockerd removed the host's docker0"


def _has_link(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def _make_bridge() -> None:
    subprocess.run(["ip", "link", "delete", BRIDGE], capture_output=True)
    for command in (
        ["ip", "link", "add", BRIDGE, "type", "bridge"],
        ["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE],
        ["ip", "link", "set", BRIDGE, "up"],
    ):
        subprocess.run(command, check=True, capture_output=True)


def _unmount_under(root: Path) -> None:
    """What the daemons left mounted under `root` (overlays, shm, network namespaces),
    deepest first."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "--lazy", mount], capture_output=True)


@contextlib.contextmanager
def second_engine_running() -> Iterator[SecondEngine]:
    """A started SecondEngine for the block (a module's fixture: it takes a few seconds),
    torn down after; the test is skipped where dockerd or containerd is not installed, or
    without root."""
    if shutil.which(CONTAINERD) is None or not Path(DOCKERD).exists():
        pytest.skip("dockerd and containerd are not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        pytest.skip("a Docker engine of the tests' own needs root")
    # Short: a unix socket's path has at most 107 bytes.
    engine = SecondEngine(Path(tempfile.mkdtemp(prefix="dyfaults-", dir="/tmp")))
    try:
        engine.start()
        yield engine
    finally:
        engine.close()
