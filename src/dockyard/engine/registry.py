"""The OCI registry: a client for its HTTP API, image pushes through the docker CLI, and
Debian's docker-registry as a local one."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ipaddress
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import bcrypt
import docker
import docker.errors
import httpx
import structlog

from dockyard.engine.base import LineSink, RegistryCredentials
from dockyard.engine.containers import auth_config, untag
from dockyard.engine.dockercli import DockerCli, client_config
from dockyard.engine.process import DIE_WITH_PARENT, Completed
from dockyard.engine.retries import REGISTRY_RETRIES, RegistryRetries
from dockyard.errors import EngineUnavailable, Invalid

log = structlog.get_logger(__name__)

REGISTRY_BINARY = "docker-registry"
RESTART_PAUSE_SECONDS = 0.5
# How a registry stopped on purpose exits (the operator, or a stop of `dockyard up`'s process
# group): not a crash, it is not started again.
STOPPED = frozenset({-signal.SIGTERM, -signal.SIGINT})
HTPASSWD_REALM = "dockyard"
# distribution checks the bcrypt hash on every request (no session): at bcrypt's default cost
# (12) each one took about 0.5 s here, at 4 a few ms. The password is random (dockyard's
# 256 bits, or the operator's `openssl rand -hex 24`): no cost factor changes how guessable
# it is.
HTPASSWD_BCRYPT_ROUNDS = 4
# The grammar of a repository path component and of a tag (distribution's reference grammar).
PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
NEXT_LINK = re.compile(r"<([^>]+)>;\s*rel=\"next\"")
# dockerd's own retry of a layer upload the registry refused (5 tries over 50 s).
LAYER_RETRY = re.compile(r": Retrying in \d+ seconds?$")
# What distribution logs when a write to its storage fails for want of space.
NO_SPACE = "no space left on device"
MANIFEST_MEDIA_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


# The namespace of dockyard's registry where the operator's base images are (`local/<name>`):
# no project may have it as its id, or its images would be every kaniko build's base images.
BASE_IMAGES = "local"


def image_reference(registry: str, project_id: str, name: str, tag: str) -> str:
    """`<registry>/<projectId>/<name>:<tag>`, where a build of `name` (a job or a service) is
    pushed; the tag is the commit sha, or the build id for builds of a bundle."""
    _check_repository(f"{project_id}/{name}")
    _check_tag(tag)
    return f"{registry}/{project_id}/{name}:{tag}"


def _check_repository(repository: str) -> None:
    if not all(PATH_COMPONENT.fullmatch(part) for part in repository.split("/")):
        raise Invalid("image", f"{repository!r} is not a repository name")


def _check_tag(tag: str) -> None:
    if not TAG.fullmatch(tag):
        raise Invalid("image", f"{tag!r} is not an image tag")


def digest_reference(reference: str, digest: str) -> str:
    """`<registry>/<repository>@<digest>` of a tag reference and the digest pushed there: what
    a pull gets whatever the tag names by then."""
    if not DIGEST.fullmatch(digest):
        raise Invalid("image", f"{digest!r} is not a manifest digest")
    return f"{reference.rpartition(':')[0]}@{digest}"


def names_registry(image: str, registry: str) -> bool:
    """Whether the image reference `image` (its first path component a registry host, as
    docker reads it; a `http(s)://` prefix allowed) is in the registry at `registry`: the same
    host and port, or for a registry on a loopback or unspecified address, any such address
    (127.x.y.z, localhost, [::1], 0.0.0.0) with that port."""
    path = image.split("://", 1)[1] if "://" in image else image
    host_part, slash, _ = path.partition("/")
    if not slash or not ("." in host_part or ":" in host_part or host_part == "localhost"):
        return False  # no registry host: Docker Hub
    image_host, image_port = _host_and_port(host_part)
    registry_host, registry_port = _host_and_port(registry)
    if image_port != registry_port:
        return False
    return image_host == registry_host or (_is_local(image_host) and _is_local(registry_host))


def _host_and_port(address: str) -> tuple[str, int | None]:
    parsed = urlsplit(f"//{address}")
    try:
        port = parsed.port
    except ValueError:
        port = None
    return (parsed.hostname or "").lower(), port


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class Manifest(NamedTuple):
    digest: str
    config_digest: str | None


class HttpRegistry:
    """The registry's HTTP API, with basic auth when it takes a login (distribution's
    htpasswd auth checks it on every request)."""

    def __init__(self, address: str, login: RegistryCredentials | None = None) -> None:
        self.address = address
        self.base_url = f"http://{address}"
        self.auth = httpx.BasicAuth(login.username, login.password) if login else None

    def _check(self, response: httpx.Response) -> None:
        # distribution answers /v2/ with 200, or 401 when auth is on: both mean "up".
        if response.status_code not in (200, 401):
            raise EngineUnavailable(
                f"Registry at {self.address} answered /v2/ with {response.status_code}"
            )

    async def ping(self) -> None:
        """EngineUnavailable unless the registry answers, and takes the login if there is one."""
        try:
            async with httpx.AsyncClient(timeout=5, auth=self.auth) as client:
                response = await client.get(f"{self.base_url}/v2/")
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"Registry at {self.address} did not answer: {exc}") from exc
        if self.auth is not None and response.status_code == 401:
            raise EngineUnavailable(f"Registry at {self.address} refuses dockyard's login")
        self._check(response)

    async def manifest_exists(self, repository: str, tag: str) -> bool:
        """Whether `repository:tag` (e.g. `project/job`, a sha) has a manifest here."""
        return await self.digest(repository, tag) is not None

    async def repositories(self) -> list[str]:
        """Every repository of the registry (its catalog, all pages)."""
        found: list[str] = []
        path: str | None = "/v2/_catalog?n=1000"
        while path:
            response = await self._call("GET", path)
            found += response.json().get("repositories") or []
            path = _next_page(response)
        return found

    async def tags(self, repository: str) -> list[str]:
        _check_repository(repository)
        response = await self._call("GET", f"/v2/{repository}/tags/list", missing_ok=True)
        return [] if response.status_code == 404 else list(response.json().get("tags") or [])

    async def digest(self, repository: str, tag: str) -> str | None:
        """The manifest digest `repository:tag` points at, or None when it is gone."""
        response = await self._tag_manifest("HEAD", repository, tag)
        return None if response.status_code == 404 else response.headers["Docker-Content-Digest"]

    async def manifest(self, repository: str, tag: str) -> Manifest | None:
        """The manifest `repository:tag` names (None when the tag is gone), its digest that of
        the bytes the registry holds; an index has no config digest."""
        response = await self._tag_manifest("GET", repository, tag)
        if response.status_code == 404:
            return None
        digest = f"sha256:{hashlib.sha256(response.content).hexdigest()}"
        if response.headers.get("Docker-Content-Digest") != digest:
            raise EngineUnavailable(f"Registry at {self.address} sent {tag} not as it holds it")
        config = response.json().get("config") or {}
        return Manifest(digest, config.get("digest"))

    async def _tag_manifest(self, method: str, repository: str, tag: str) -> httpx.Response:
        _check_repository(repository)
        _check_tag(tag)
        return await self._call(
            method,
            f"/v2/{repository}/manifests/{tag}",
            headers={"Accept": MANIFEST_MEDIA_TYPES},
            missing_ok=True,
        )

    async def has_manifest(self, repository: str, digest: str) -> bool:
        """Whether the manifest `digest` is in `repository` here."""
        _check_repository(repository)
        if not DIGEST.fullmatch(digest):
            raise Invalid("image", f"{digest!r} is not a manifest digest")
        response = await self._call(
            "HEAD",
            f"/v2/{repository}/manifests/{digest}",
            headers={"Accept": MANIFEST_MEDIA_TYPES},
            missing_ok=True,
        )
        return response.status_code != 404

    async def labels(self, repository: str, digest: str) -> dict[str, str]:
        """The labels in the image config of a single-platform manifest ({} for an index)."""
        _check_repository(repository)
        manifest = await self._call(
            "GET", f"/v2/{repository}/manifests/{digest}", headers={"Accept": MANIFEST_MEDIA_TYPES}
        )
        config_digest = (manifest.json().get("config") or {}).get("digest")
        if not config_digest:
            return {}
        config = await self._call("GET", f"/v2/{repository}/blobs/{config_digest}")
        return dict((config.json().get("config") or {}).get("Labels") or {})

    async def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest and so every tag on it; its blobs go at the next garbage-collect."""
        _check_repository(repository)
        if not DIGEST.fullmatch(digest):
            raise Invalid("image", f"{digest!r} is not a manifest digest")
        await self._call("DELETE", f"/v2/{repository}/manifests/{digest}", missing_ok=True)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response:
        """One request of the registry API; EngineUnavailable unless it succeeds (or is a 404
        that `missing_ok` allows)."""
        try:
            async with httpx.AsyncClient(
                base_url=self.base_url,
                timeout=30,
                follow_redirects=True,
                auth=self.auth,
                verify=_tls_context(),
                trust_env=False,
            ) as client:
                response = await client.request(method, path, headers=headers)
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"Registry at {self.address} did not answer: {exc}") from exc
        if not (response.is_success or (missing_ok and response.status_code == 404)):
            raise EngineUnavailable(
                f"Registry at {self.address} answered {response.status_code} for {method} {path}"
            )
        return response

    def answers(self) -> bool:
        try:
            self._check(httpx.get(f"{self.base_url}/v2/", timeout=2))
        except (httpx.HTTPError, EngineUnavailable):
            return False
        return True


class RegistryLog:
    """The log of the local registry dockyard starts (`start_local_registry`), read for what
    the registry says of its storage: a client only sees a 500."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "registry.log"
        self.storage = state_dir / "data"

    def end(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def storage_full_since(self, offset: int) -> bool:
        """Whether the registry logged a write that found its storage full after `offset`."""
        try:
            with self.path.open("rb") as log:
                log.seek(offset)
                return NO_SPACE.encode() in log.read()
        except FileNotFoundError:
            return False


class DockerPusher:
    """Pushes local images with the docker CLI, whose engine holds them, logged in to the
    registry with `login` (a client configuration of its own per push). A push that would
    change nothing (the registry's tag already names this very image) is skipped. With the
    `registry_log` of a local registry, a push its full storage refuses fails at once,
    naming the cause, instead of after dockerd's own retries."""

    def __init__(
        self,
        docker_host: str,
        login: RegistryCredentials | None = None,
        retries: RegistryRetries = REGISTRY_RETRIES,
        registry_log: RegistryLog | None = None,
    ) -> None:
        self.docker = DockerCli(docker_host)
        self.docker_host = docker_host
        self.login = login
        self.retries = retries
        self.registry_log = registry_log

    @functools.cached_property
    def api(self) -> docker.APIClient:
        return docker.APIClient(base_url=self.docker_host)

    async def push(self, image: str, reference: str, *, on_line: LineSink | None = None) -> str:
        """Tag `image` (an id or a tag) as `reference` and push it; the pushed digest.
        A push to a registry that does not answer is tried again (`retries`), and resumes
        rather than starts over: it only uploads the layers the registry lacks."""
        for value in (image, reference):
            if not value or value.startswith("-"):
                raise Invalid("image", f"{value!r} is not an image reference")
        if image != reference:
            tagged = await self.docker.run(["tag", image, reference], on_line=on_line)
            if not tagged.ok:
                raise EngineUnavailable(f"Cannot tag {image} as {reference}: {_last_lines(tagged)}")
        if digest := await self._already_pushed(reference):
            return held_already(reference, digest, on_line)
        with tempfile.TemporaryDirectory(prefix="dockyard-push-") as scratch:
            config_dir = client_config(Path(scratch), [self.login] if self.login else [])
            pushed = await self.retries.call(
                lambda: self._push_once(reference, config_dir, on_line),
                EngineUnavailable,
                "pushing",
                on_line,
            )
        for line in reversed(pushed.tail):
            if match := PUSHED_DIGEST.search(line):
                return match[1]
        raise EngineUnavailable(f"Push of {reference} reported no digest")

    async def _push_once(
        self, reference: str, config_dir: Path | None, on_line: LineSink | None
    ) -> Completed:
        """One `docker push`; EngineUnavailable when it fails. Stopped as soon as dockerd
        retries a layer the registry refused for its full storage."""
        since = self.registry_log.end() if self.registry_log else 0
        full = asyncio.Event()

        def relay(line: str) -> None:
            if on_line is not None:
                on_line(line)
            if LAYER_RETRY.search(line) and self._storage_full(since):
                full.set()

        pushing = asyncio.ensure_future(
            self.docker.run(["push", reference], on_line=relay, config_dir=config_dir)
        )
        stopping = asyncio.ensure_future(full.wait())
        try:
            await asyncio.wait({pushing, stopping}, return_when=asyncio.FIRST_COMPLETED)
            pushing.cancel()  # when the registry's storage is full: dockerd would retry
            await asyncio.wait({pushing})
        finally:
            stopping.cancel()
            pushing.cancel()
        if not pushing.cancelled():
            pushed = pushing.result()
            if pushed.ok:
                return pushed
        if self._storage_full(since):
            assert self.registry_log is not None
            raise EngineUnavailable(
                f"Push of {reference} failed: the registry's storage is full ({NO_SPACE} "
                f"under {self.registry_log.storage})"
            )
        raise EngineUnavailable(f"Push of {reference} failed: {_last_lines(pushed)}")

    def _storage_full(self, since: int) -> bool:
        return self.registry_log is not None and self.registry_log.storage_full_since(since)

    async def untag(self, reference: str) -> None:
        """Through the Engine API: a `docker rmi` process costs a build ~30 ms more."""

        def remove() -> None:
            try:
                untag(self.api, reference, force=True)
            except docker.errors.DockerException as exc:
                raise EngineUnavailable(f"Cannot untag {reference}: {exc}") from exc

        await asyncio.to_thread(remove)

    async def _already_pushed(self, reference: str) -> str | None:
        """The digest `reference` has in its registry if that manifest is one this engine
        pushed of this very image (a rebuild that changed nothing: same image id); else
        None. The engine records a repo digest per push of an image, and asks the registry
        (as a pull would) which manifest the tag names."""

        def look() -> str | None:
            try:
                image = self.api.inspect_image(reference)  # type: ignore[no-untyped-call]
                remote = self.api.inspect_distribution(  # type: ignore[no-untyped-call]
                    reference, auth_config=auth_config(self.login)
                )
            except docker.errors.DockerException:
                return None  # unknown here or there: push, which reports any real failure
            digest: str = remote.get("Descriptor", {}).get("digest", "")
            name = reference.rpartition(":")[0]
            return digest if f"{name}@{digest}" in (image.get("RepoDigests") or []) else None

        return await asyncio.to_thread(look)


def held_already(reference: str, digest: str, on_line: LineSink | None) -> str:
    """`digest`, once the log says the push of `reference` is skipped: the registry has it."""
    if on_line is not None:
        on_line(f"{reference}: the registry holds this image already, digest: {digest}")
    return digest


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The verifying TLS context of registry calls (dockyard's registry speaks plain HTTP, but
    may redirect blob reads to HTTPS storage), made once: loading the CA bundle took ~50 ms,
    more than a call to the registry itself. No proxy from the environment is used either,
    which httpx would read per client: a proxy would see the registry's login."""
    return httpx.create_ssl_context()


def _next_page(response: httpx.Response) -> str | None:
    """The next page of a paginated registry answer, from its `Link: <...>; rel="next"`."""
    match = NEXT_LINK.search(response.headers.get("Link", ""))
    return match[1] if match else None


def collect_garbage(state_dir: Path) -> str:
    """Delete the blobs no manifest of the local registry under `state_dir` uses any more.
    Only safe while that registry is not serving (distribution's garbage-collect is offline)."""
    config = state_dir / "config.yml"
    binary = shutil.which(REGISTRY_BINARY)
    # A registry killed during its first push may have repositories/ but no blobs/ yet;
    # garbage-collect fails on either missing.
    stored = state_dir / "data" / "docker" / "registry" / "v2"
    if binary is None or not config.exists():
        return "no local registry"
    if not ((stored / "repositories").is_dir() and (stored / "blobs").is_dir()):
        return "nothing stored yet"
    done = subprocess.run(
        [binary, "garbage-collect", str(config)], capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise EngineUnavailable(f"registry garbage-collect failed: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "nothing to collect"


def _last_lines(completed: Completed) -> str:
    return " ".join(list(completed.tail)[-3:]) or "no output"


def is_loopback_address(address: str) -> bool:
    host = address.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def registry_config(address: str, storage: Path, htpasswd: Path) -> str:
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {storage}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: {address}\n"
        f"auth:\n  htpasswd:\n    realm: {HTPASSWD_REALM}\n    path: {htpasswd}\n"
    )


def write_htpasswd(path: Path, login: RegistryCredentials) -> None:
    """The htpasswd file (bcrypt, 0600) that lets only `login` in."""
    hashed = bcrypt.hashpw(login.password.encode(), bcrypt.gensalt(HTPASSWD_BCRYPT_ROUNDS))
    line = f"{login.username}:{hashed.decode()}\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(line)


def start_local_registry(
    address: str, state_dir: Path, login: RegistryCredentials, wait_seconds: float = 15
) -> subprocess.Popen[bytes]:
    """Start Debian's docker-registry (distribution) bound to `address`, storing under
    `state_dir` and letting only `login` in (htpasswd auth), and wait until it answers. It
    dies with the thread that started it, even by SIGKILL."""
    if not is_loopback_address(address):
        raise EngineUnavailable(f"Refusing to start a local registry on non-loopback {address}")
    binary = shutil.which(REGISTRY_BINARY)
    if binary is None:
        raise EngineUnavailable(
            f"No registry answers at {address} and {REGISTRY_BINARY} is not installed "
            "(apt-get install docker-registry)"
        )
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    htpasswd = state_dir / "htpasswd"
    write_htpasswd(htpasswd, login)
    config = state_dir / "config.yml"
    config.write_text(registry_config(address, state_dir / "data", htpasswd))
    log = (state_dir / "registry.log").open("ab")
    process = subprocess.Popen(
        [*DIE_WITH_PARENT, binary, "serve", str(config)], stdout=log, stderr=log
    )
    registry = HttpRegistry(address)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if registry.answers():
            return process
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise EngineUnavailable(
        f"Local registry did not come up at {address}; see {state_dir / 'registry.log'}"
    )


class LocalRegistry:
    """The local registry `dockyard up` runs: started again whenever it crashes (an error,
    the OOM killer's SIGKILL), until `stop()` or a SIGTERM or SIGINT stops it. While it
    cannot start (its port taken), it is tried again every RESTART_PAUSE_SECONDS."""

    def __init__(self, address: str, state_dir: Path, login: RegistryCredentials) -> None:
        self.address = address
        self.state_dir = state_dir
        self.login = login
        self.stopping = threading.Event()
        self.lock = threading.Lock()  # held to start or stop a process: none starts after stop
        self.process = start_local_registry(address, state_dir, login)
        self.watcher = threading.Thread(target=self._restart_on_exit, daemon=True)
        self.watcher.start()

    def _restart_on_exit(self) -> None:
        while not self.stopping.is_set():
            code = self.process.wait()
            if self.stopping.is_set() or code in STOPPED:
                return
            log.warning("local registry exited; starting it again", code=code)
            while not self._started_again():
                self.stopping.wait(RESTART_PAUSE_SECONDS)

    def _started_again(self) -> bool:
        with self.lock:
            if self.stopping.is_set():
                return True
            try:
                self.process = start_local_registry(self.address, self.state_dir, self.login)
            except EngineUnavailable as exc:
                log.warning("local registry did not start", error=exc.message)
                return False
            return True

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            self.process.terminate()
            self.process.wait(timeout=10)
        self.watcher.join(timeout=10)
