"""A real OpenSSH server (`/usr/sbin/sshd -D -e`) on 127.0.0.1 for the tests: git over ssh to
the bare repositories under `root`, for the deploy keys authorized (public keys alone, no
passwords), as the user running the tests (root in CI: `PermitRootLogin prohibit-password`,
`StrictModes no`). Its host key is made afresh in a temporary dir; `new_host_key()` restarts it
with another one, as a server whose key changed. Its log lines are in `output`."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"
# Debian's sshd runs its unprivileged child chrooted here and refuses to start without it.
PRIVSEP_DIR = Path("/run/sshd")
READY_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SshServer:
    def __init__(self, root: Path, state: Path) -> None:
        self.root = root
        self.state = state
        self.user = getpass.getuser()
        self.port = _free_port()
        self.output: list[str] = []
        self.authorized = state / "authorized_keys"
        self._process: subprocess.Popen[str] | None = None
        state.mkdir(parents=True, exist_ok=True)
        os.chmod(state, 0o700)
        self.authorized.write_text("")
        self._make_host_key()

    @property
    def host_key(self) -> str:
        """The public host key, `type base64`."""
        return " ".join((self.state / "host_key.pub").read_text().split()[:2])

    def authorize(self, public_key: str) -> None:
        with self.authorized.open("a") as keys:
            keys.write(public_key.strip() + "\n")

    def revoke(self, public_key: str) -> None:
        wanted = public_key.split()[:2]
        kept = [
            line for line in self.authorized.read_text().splitlines() if line.split()[:2] != wanted
        ]
        self.authorized.write_text("".join(f"{line}\n" for line in kept))

    def new_host_key(self) -> None:
        """Restart with a new host key on the same port."""
        self.stop()
        self._make_host_key()
        self.start()

    def _make_host_key(self) -> None:
        for name in ("host_key", "host_key.pub"):
            (self.state / name).unlink(missing_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.state / "host_key")],
            check=True,
        )

    def _config(self) -> Path:
        config = self.state / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"ListenAddress 127.0.0.1:{self.port}",
                    f"HostKey {self.state / 'host_key'}",
                    f"PidFile {self.state / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.authorized}",
                    f"AllowUsers {self.user}",
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "AllowAgentForwarding no",
                    "AllowTcpForwarding no",
                    "X11Forwarding no",
                    "PermitTTY no",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        return config

    def start(self) -> None:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        self._process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self._config())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, args=(self._process,), daemon=True).start()
        self._wait_ready()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.output.append(line.rstrip("\n"))

    def _wait_ready(self) -> None:
        """Until the server greets a connection with its banner."""
        deadline = time.monotonic() + READY_SECONDS
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError("sshd exited: " + "\n".join(self.output))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("sshd did not answer: " + "\n".join(self.output)) from None
                time.sleep(0.02)  # a wait for the port to open, checked each time

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._process = None

    def __enter__(self) -> SshServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
