"""A hostile project's remotes: repository, bundle and webhook URLs that try to reach this
machine, a private network or another repository on the server. One address policy checks
every remote and the connection goes to the address that was checked; git follows no
redirect; an insteadOf mapping never leads outside its root. On the real git binary and real
HTTP servers on 127.0.0.x."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import socket
import ssl
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from dockyard.engine.bundles import fetch_bundle
from dockyard.engine.fetches import (
    PinnedTransport,
    RefusedTarget,
    check_host,
)
from dockyard.engine.git import GitClient
from dockyard.errors import BuildFailed, GitError
from tests.conftest import assert_error
from tests.gitrepos import HOST_URL, GitRepo
from tests.helpers import minimal_service
from tests.notifications.conftest import webhook
from tests.security.remotes import (
    Listener,
    Rebinding,
    answer,
    free_port,
    git_http_backend,
    serving,
    twins,
)

pytestmark = pytest.mark.anyio

PUBLIC = "93.184.215.14"
REFUSED_MESSAGE = (
    "an address of this machine or a private network; allow it in DOCKYARD_FETCH_ALLOW"
)


# ---- the policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.000.000.001",  # the C resolver and curl read leading zeros as octal
        "0177.0.0.1",
        "2130706433",  # 127.0.0.1 as one number
        "0x7f.1",
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "100.100.100.200",  # CGNAT/shared: a cloud metadata service lives there
        "100.64.0.1",
        "169.254.169.254",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "0.0.0.0",
        "0.1.2.3",  # "this network"
        "192.0.0.8",
        "192.0.2.1",  # documentation
        "198.18.0.1",  # benchmarking
        "224.0.0.1",  # multicast
        "ff02::1",
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "fe80::1",
        "fc00::1",
        "2001:db8::1",
        "::",
    ],
)
def test_addresses_that_are_not_global_are_refused(host: str) -> None:
    with pytest.raises(RefusedTarget, match=REFUSED_MESSAGE):
        check_host(host, 443, [], resolver=lambda *_: pytest.fail("a literal needs no DNS"))


@pytest.mark.parametrize("host", [PUBLIC, "2606:4700:4700::1111", f"::ffff:{PUBLIC}"])
def test_global_addresses_pass(host: str) -> None:
    target = check_host(host, 443, [])
    assert target.address == ipaddress.ip_address(host)


def test_fetch_allow_names_networks_and_hosts() -> None:
    assert str(check_host("100.100.100.200", 80, ["100.64.0.0/10"]).address) == "100.100.100.200"
    assert str(check_host("::ffff:127.0.0.1", 80, ["127.0.0.0/8"]).address) == "::ffff:7f00:1"
    local = check_host("git.internal.test", 22, ["git.internal.test"], lambda *_: [_ip("10.0.0.5")])
    assert str(local.address) == "10.0.0.5"
    with pytest.raises(RefusedTarget):
        check_host("10.0.0.1", 80, ["127.0.0.0/8"])


def test_a_name_is_refused_when_any_of_its_addresses_is() -> None:
    def two(host: str, port: int) -> list[Any]:
        return [_ip(PUBLIC), _ip("10.0.0.1")]

    with pytest.raises(RefusedTarget, match=r"is 10\.0\.0\.1"):
        check_host("mixed.example.test", 443, [], two)


def _ip(text: str) -> Any:
    return ipaddress.ip_address(text)


# ---- refused before any connection ---------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[Listener]:
    started = Listener()
    try:
        yield started
    finally:
        started.close()


DISGUISED_LOOPBACK = [
    "https://127.000.000.001:{port}/acme/app",
    "https://[::ffff:127.0.0.1]:{port}/acme/app",
    "http://2130706433:{port}/acme/app",
    "http://0x7f.1:{port}/acme/app",
]


@pytest.mark.parametrize("template", DISGUISED_LOOPBACK)
async def test_git_refuses_disguised_loopback_without_connecting(
    template: str, listener: Listener, tmp_path: Path
) -> None:
    url = template.format(port=listener.port)
    git = GitClient(timeout=10)
    with pytest.raises(GitError, match=REFUSED_MESSAGE):
        await git.resolve(url, "main")
    with pytest.raises(GitError, match=REFUSED_MESSAGE):
        await git.checkout(url, "a" * 40, tmp_path / "checkout")
    assert listener.connections == 0


@pytest.mark.parametrize("template", DISGUISED_LOOPBACK)
async def test_bundles_refuse_disguised_loopback_without_connecting(
    template: str, listener: Listener, tmp_path: Path
) -> None:
    url = template.format(port=listener.port) + ".tar"
    # httpx itself refuses some spellings (`127.000.000.001`) as invalid: refused all the same.
    with pytest.raises(BuildFailed, match="The bundle URL is refused"):
        await _fetch(url, tmp_path, allow=[])
    assert listener.connections == 0


async def test_the_metadata_address_is_refused_for_git_bundles_and_webhooks(
    tmp_path: Path,
) -> None:
    url = "http://100.100.100.200/latest/meta-data"
    with pytest.raises(GitError, match=f"100.100.100.200 is 100.100.100.200, {REFUSED_MESSAGE}"):
        await GitClient(timeout=10).resolve(url, "main")
    with pytest.raises(GitError, match=REFUSED_MESSAGE):
        await GitClient(timeout=10).resolve("git@100.100.100.200:acme/app", "main")
    with pytest.raises(BuildFailed, match=REFUSED_MESSAGE):
        await _fetch(url, tmp_path, allow=[])
    async with httpx.AsyncClient(transport=PinnedTransport([])) as client:
        with pytest.raises(RefusedTarget, match=REFUSED_MESSAGE):
            await client.post(url, content=b"{}")


def test_the_api_refuses_a_metadata_webhook(client: TestClient, project: str) -> None:
    body = webhook("Metadata", "http://100.100.100.200/hook", "trigger:build:start")
    refused = client.post(f"/v1/projects/{project}/notifications", json=body)
    assert_error(refused, 400, "webhook")
    assert "DOCKYARD_FETCH_ALLOW" in refused.json()["error"]["message"]


def test_the_api_refuses_a_metadata_bundle(client: TestClient, project: str) -> None:
    created = client.post(f"/v1/projects/{project}/services/build", json=minimal_service())
    assert created.status_code == 200, created.text
    url = f"/v1/projects/{project}/services/minimal-service/build"
    refused = client.post(url, json={"bundleUrl": "http://100.100.100.200/source.tar"})
    assert_error(refused, 400, "bundleUrl")
    assert client.get(url).json()["data"]["builds"] == []


async def _fetch(url: str, tmp_path: Path, *, allow: list[str], **kw: Any) -> Path:
    dest = tmp_path / "bundle"
    await fetch_bundle(
        url, dest, max_bytes=1 << 20, timeout=10, allow=allow, on_line=lambda _: None, **kw
    )
    return dest


# ---- redirects -----------------------------------------------------------------------------


async def test_git_follows_no_redirect(tmp_path: Path) -> None:
    with serving("127.0.0.1", answer(200, b"")) as elsewhere:
        target = f"http://127.0.0.1:{elsewhere.port}/acme/app.git/info/refs"
        redirect = answer(302, Location=f"{target}?service=git-upload-pack")
        with serving("127.0.0.2", redirect) as redirector:
            # Both addresses allowed: only the redirect rule may stop git here.
            git = GitClient(allow=["127.0.0.0/8"], timeout=10)
            with pytest.raises(GitError):
                await git.resolve(f"http://127.0.0.2:{redirector.port}/acme/app", "main")
            assert redirector.seen, "git never asked the redirecting server"
    assert elsewhere.seen == []


async def test_bundles_follow_no_redirect(tmp_path: Path) -> None:
    with serving("127.0.0.1", answer(200, _tar({"Dockerfile": b"FROM scratch\n"}))) as elsewhere:
        redirect = answer(301, Location=f"http://127.0.0.1:{elsewhere.port}/x.tar")
        with (
            serving("127.0.0.2", redirect) as redirector,
            pytest.raises(BuildFailed, match="HTTP 301"),
        ):
            await _fetch(
                f"http://127.0.0.2:{redirector.port}/x.tar", tmp_path, allow=["127.0.0.0/8"]
            )
    assert elsewhere.seen == []


# ---- the connection goes to the checked address (DNS rebinding) ----------------------------


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_git_pins_the_address_it_checked() -> None:
    """The resolver answers a public address, then loopback: git is given the first."""
    rebinding = Rebinding(PUBLIC, "127.0.0.1")
    git = GitClient(resolver=rebinding)

    https = git.remote("https://git.rebind.test/acme/app")
    assert ("http.curloptResolve", f"git.rebind.test:443:{PUBLIC}") in https.config
    assert https.location == "https://git.rebind.test/acme/app"
    assert rebinding.calls == 1

    for url in ("ssh://git@git.rebind.test/acme/app", "git@git.rebind.test:acme/app"):
        ssh = Rebinding(PUBLIC, "127.0.0.1")
        command = GitClient(resolver=ssh).remote(url).ssh_command()
        assert command.split() == [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            f"HostName={PUBLIC}",
            "-o",
            "HostKeyAlias=git.rebind.test",
        ]
        assert ssh.calls == 1

    daemon = GitClient(resolver=Rebinding(PUBLIC, "127.0.0.1")).remote(
        "git://git.rebind.test:9418/acme/app"
    )
    assert daemon.location == f"git://{PUBLIC}:9418/acme/app"


async def test_git_over_http_connects_to_the_checked_address(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "served")
    sha = repo.commit({"hello.txt": "served by 127.0.0.2\n"})
    with twins(git_http_backend(repo.root), answer(500)) as (checked, rebound):
        rebinding = Rebinding("127.0.0.2", "127.0.0.1")
        git = GitClient(allow=["127.0.0.2/32"], resolver=rebinding, timeout=30)
        # The name is in no DNS: git reaches it only through the pinned address.
        url = f"http://git.rebind.test:{checked.port}/acme/app"
        assert await git.resolve(url, "main") == sha
        assert rebinding.calls == 1
        assert checked.seen and all(
            host == f"git.rebind.test:{checked.port}" for *_, host in checked.seen
        )
        assert rebound.seen == []

        pinned = GitClient(allow=["127.0.0.2/32"], resolver=lambda *_: [_ip("127.0.0.2")])
        await pinned.checkout(url, sha, tmp_path / "checkout")
        assert (tmp_path / "checkout" / "hello.txt").read_text() == "served by 127.0.0.2\n"
        assert rebound.seen == []


async def test_bundles_connect_to_the_checked_address(tmp_path: Path) -> None:
    bundle = _tar({"Dockerfile": b"FROM scratch\n"})
    with twins(answer(200, bundle), answer(200, _tar({"rebound": b"x"}))) as (checked, rebound):
        rebinding = Rebinding("127.0.0.2", "127.0.0.1")
        url = f"http://bundles.rebind.test:{checked.port}/source.tar"
        dest = await _fetch(url, tmp_path, allow=["127.0.0.2/32"], resolver=rebinding)
        assert sorted(os.listdir(dest)) == ["Dockerfile"]
        assert checked.seen == [("GET", "/source.tar", f"bundles.rebind.test:{checked.port}")]
        assert rebound.seen == []


async def test_webhooks_connect_to_the_checked_address() -> None:
    with twins(answer(204), answer(204)) as (checked, rebound):
        transport = PinnedTransport(["127.0.0.2/32"], resolver=Rebinding("127.0.0.2", "127.0.0.1"))
        async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
            url = f"http://hooks.rebind.test:{checked.port}/hook"
            assert (await client.post(url, content=b"{}")).status_code == 204
            with pytest.raises(RefusedTarget, match=r"is 127\.0\.0\.1"):  # the next lookup rebinds
                await client.post(url, content=b"{}")
        assert checked.seen == [("POST", "/hook", f"hooks.rebind.test:{checked.port}")]
        assert rebound.seen == []


# ---- repository URLs that climb out of the insteadOf root ----------------------------------


@pytest.fixture
def mapped(tmp_path: Path) -> tuple[GitRepo, GitRepo]:
    """`acme/app` under the mapped root `<tmp>/git/`, and a second bare repository beside that
    root (as another project's source would be) at `<tmp>/outside/secret.git`."""
    inside = GitRepo(tmp_path / "git")
    inside.commit({"hello.txt": "inside\n"})
    outside = GitRepo(tmp_path, "outside/secret")
    outside.commit({"secret.txt": "another project's source\n"})
    return inside, outside


CLIMBING = [
    "../outside/secret",
    "acme/../../outside/secret",
    "acme/app/../../../outside/secret",
    "%2e%2e/outside/secret",
    "%2E%2e/outside/secret",
    ".%2e/outside/secret",
    "..%2foutside%2fsecret",
    "%252e%252e/outside/secret",  # encoded twice
    "..\\outside\\secret",
    "./acme/app",
]


@pytest.mark.parametrize("path", CLIMBING)
async def test_a_url_cannot_climb_out_of_its_mapped_root(
    path: str, mapped: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    inside, outside = mapped
    git = GitClient(inside.insteadof)
    url = f"{HOST_URL}{path}"
    with pytest.raises(GitError, match="Invalid repository URL"):
        await git.resolve(url, "main")
    with pytest.raises(GitError, match="Invalid repository URL"):
        await git.checkout(url, outside.head_of("main") or "", tmp_path / "checkout")
    assert not (tmp_path / "checkout" / "secret.txt").exists()


async def test_a_symlink_in_the_mapped_root_cannot_lead_outside(
    mapped: tuple[GitRepo, GitRepo], tmp_path: Path
) -> None:
    inside, outside = mapped
    (inside.root / "elsewhere").symlink_to(outside.bare.parent)
    git = GitClient(inside.insteadof)
    with pytest.raises(GitError, match="leads outside the root"):
        await git.resolve(f"{HOST_URL}elsewhere/secret", "main")
    assert await git.resolve(inside.url, "main") == inside.head_of("main")


def test_the_longest_insteadof_prefix_wins(tmp_path: Path) -> None:
    git = GitClient({HOST_URL: f"{tmp_path}/all/", f"{HOST_URL}acme/": f"{tmp_path}/acme/"})
    assert git.remote(f"{HOST_URL}acme/app").location == f"{tmp_path}/acme/app"
    assert git.remote(f"{HOST_URL}other/app").location == f"{tmp_path}/all/other/app"


def test_a_mapping_to_a_url_passes_the_address_policy() -> None:
    git = GitClient({HOST_URL: "https://127.0.0.1/mirror/"})
    with pytest.raises(GitError, match=REFUSED_MESSAGE):
        git.remote(f"{HOST_URL}acme/app")


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("deployment.vcs.projectUrl", "job"),
        ("vcsData.projectUrl", "service"),
    ],
)
def test_the_api_refuses_a_url_that_climbs(
    client: TestClient, project: str, field: str, body: str
) -> None:
    url = f"{HOST_URL}acme/../../outside/secret"
    if body == "job":
        request: dict[str, Any] = {
            "name": "climbing",
            "billing": {"deploymentPlan": "nf-compute-20"},
            "backoffLimit": 0,
            "deployment": {
                "vcs": {"projectUrl": url, "projectType": "github", "projectBranch": "main"}
            },
        }
        path = f"/v1/projects/{project}/jobs/manual"
    else:
        request = {
            "name": "climbing",
            "billing": {"buildPlan": "nf-compute-200-8"},
            "vcsData": {"projectUrl": url, "projectType": "github"},
            "buildSettings": {
                "dockerfile": {"dockerFilePath": "/Dockerfile", "dockerWorkDir": "/"}
            },
        }
        path = f"/v1/projects/{project}/services/build"
    refused = client.post(path, json=request)
    assert_error(refused, 400, field)
    assert "'..'" in refused.json()["error"]["message"]


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[tuple[GitRepo, int]]:
    """`git daemon` on 127.0.0.2 serving `acme/app`."""
    repo = GitRepo(tmp_path / "daemon")
    repo.commit({"hello.txt": "over git://\n"})
    port = free_port("127.0.0.2")
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--listen=127.0.0.2",
            f"--port={port}",
            "--reuseaddr",
            "--export-all",
            f"--base-path={repo.root}",
            str(repo.root),
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.2", port), 1):
                break
            time.sleep(0.05)
        yield repo, port
    finally:
        daemon.terminate()
        daemon.wait(10)


async def test_git_protocol_connects_to_the_checked_address(
    git_daemon: tuple[GitRepo, int],
) -> None:
    repo, port = git_daemon
    rebinding = Rebinding("127.0.0.2", "127.0.0.1")
    git = GitClient(allow=["127.0.0.2/32"], resolver=rebinding, timeout=30)
    # The name is in no DNS: git reaches the daemon only at the checked address.
    assert await git.resolve(f"git://git.daemon.test:{port}/acme/app.git", "main") == (
        repo.head_of("main")
    )
    assert rebinding.calls == 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for `hooks.tls.test` alone: its cert and key files."""
    root = tmp_path_factory.mktemp("tls")
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hooks.tls.test",
            "-addext",
            "subjectAltName=DNS:hooks.tls.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_is_verified_for_the_name_at_the_checked_address(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    with serving("127.0.0.2", answer(204)) as server:
        served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        served.load_cert_chain(cert, key)
        server.http.socket = served.wrap_socket(server.http.socket, server_side=True)
        trusted = ssl.create_default_context(cafile=str(cert))
        transport = PinnedTransport(
            ["127.0.0.2/32"], verify=trusted, resolver=lambda *_: [_ip("127.0.0.2")]
        )
        async with httpx.AsyncClient(transport=transport) as client:
            ok = await client.post(f"https://hooks.tls.test:{server.port}/hook", content=b"{}")
            assert ok.status_code == 204
            # Same address, another name: the certificate does not name it.
            with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                await client.post(f"https://other.tls.test:{server.port}/hook", content=b"{}")
        assert server.seen == [("POST", "/hook", f"hooks.tls.test:{server.port}")]
