"""git through the real binary: resolve a ref to a sha, check a commit out into a build dir.

Every call runs `git` with an argument list and a neutral configuration: no system or global
config (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`), no `GIT_*` variable inherited,
no terminal prompt. Settings are passed as git's environment config (`GIT_CONFIG_COUNT`,
`GIT_CONFIG_KEY_n`, `GIT_CONFIG_VALUE_n`), which means the same as `-c key=value` but cannot be
misparsed when a value holds `=`:

- each entry of `DOCKYARD_GIT_INSTEADOF` maps a URL prefix (git's rule: the longest that
  matches) to a replacement, applied here and not by git, so `https://git.example.test/acme/app`
  reaches `/srv/git/acme/app` with `{"https://git.example.test/": "/srv/git/"}`. The rest of
  the URL is kept as written, a `.git` suffix neither added nor removed: git's local transport
  and the usual git servers accept `acme/app` for a repository stored as `acme/app.git`. A
  local path must stay inside its mapped root once resolved (symlinks followed); a URL must
  name no `.` or `..` path segment, written plainly or encoded, nor a backslash.
- only http(s), ssh and git remotes are allowed, and local paths (git's `file` protocol) only
  for URLs that an insteadOf prefix maps, so a user's URL can never read the server's disk.
- every network remote passes the address policy of engine/fetches.py (DOCKYARD_FETCH_ALLOW),
  and git connects to the address that was checked: http(s) through
  `http.curloptResolve=<host>:<port>:<address>` without redirects or proxies, ssh with
  `-o HostName=<address> -o HostKeyAlias=<host>`, git:// to the address itself.

A VCS link's credentials reach git without entering an argument list, a URL or a config file:
a token through the credential helper below (from that git process's environment), an ssh
deploy key as a file of mode 0600 in a private temporary dir that is removed when the git
command ends (or fails, or is cancelled), named by `GIT_SSH_COMMAND` (`-i <file>`) with the
link's pinned host key as the only known host (`StrictHostKeyChecking=yes`, no config file,
no agent): a server whose host key changed is refused.

User input never becomes an option: URLs and refs that start with `-` are refused, refs must
pass `git check-ref-format`, shas are 40 hex digits, and `--` ends the options where git takes
it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

from dockyard.engine import process
from dockyard.engine.base import Credentials, GitCredentials, LineSink, SshKey
from dockyard.engine.fetches import (
    DEFAULT_PORTS,
    RefusedTarget,
    Resolver,
    Target,
    check_host,
    literal_address,
    system_resolver,
)
from dockyard.engine.paths import nearly_full, resolved_within
from dockyard.errors import NO_SPACE_ERRNOS, DiskFull, EngineUnavailable, GitError

GIT = "git"
SSH_KEYSCAN = "ssh-keyscan"
# The host key types recorded on first use, the preferred first.
HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa")
DEFAULT_TIMEOUT_SECONDS = 600.0
SHA = re.compile(r"[0-9a-fA-F]{40}")
REMOTE_PROTOCOLS = ("https", "http", "ssh", "git")
SSH_COMMAND = "ssh -o BatchMode=yes"
URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# git's scp-like ssh syntax, `[user@]host:path` (a `/` before the `:` makes it a local path).
SCP_LIKE = re.compile(r"(?:[^@/:]+@)?(\[[^\]/]+\]|[^:/\[]+):(.*)", re.DOTALL)
# Percent-escapes of `.`, `/`, `\` and `%` itself (a double encoding): a server that decodes
# them would see segments or separators the URL does not show.
ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c|25)", re.IGNORECASE)
PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})
ERROR_LINE_PREFIXES = ("fatal:", "error:")
# What git (protocol v0 and v2) answers when a wanted commit or ref is not on the server.
MISSING_OBJECT_MARKERS = (
    "not our ref",
    "unadvertised object",
    "couldn't find remote ref",
    "no such remote ref",
)
# How git words a write that found no space (in English: its errors are read with LC_ALL=C).
NO_SPACE_MARKERS = ("no space left on device", "out of diskspace", "disk quota exceeded")
# How git words a server's refusal of the credentials it had, or its asking for ones it had not.
AUTH_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "http basic: access denied",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
    "permission denied (publickey",
)
# How ssh words a server whose host key it does not know (not the one a VCS link pinned).
HOST_KEY_MARKERS = ("host key verification failed",)
# The credential helper git runs (through sh): it answers `get` with the login and token of
# the environment of that one git process, and ignores `store` and `erase`. The values never
# reach an argument list, a URL or a config file.
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'printf \'username=%s\\npassword=%s\\n\' "$DOCKYARD_GIT_USERNAME" "$DOCKYARD_GIT_TOKEN"; }; f'
)
# Variables naming a program that could ask a person for a password.
ASKPASS_VARIABLES = frozenset({"SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "DISPLAY"})
PULL_REQUEST_REFS = {
    "github": "refs/pull/{number}/head",
    # Gitea, Forgejo and GitHub Enterprise: a self-hosted GitLab is configured as "gitlab".
    "self-hosted": "refs/pull/{number}/head",
    "gitlab": "refs/merge-requests/{number}/head",
    "bitbucket": "refs/pull-requests/{number}/from",
    "azure": "refs/pull/{number}/merge",
}


def pull_request_ref(provider: str, number: int) -> str:
    """The ref a provider (a `projectType`) publishes a pull request's head under."""
    if number < 1:
        raise GitError(f"A pull request number is positive, not {number}")
    try:
        return PULL_REQUEST_REFS[provider].format(number=number)
    except KeyError:
        raise GitError(f"Pull requests of {provider} repositories cannot be fetched") from None


class MissingObject(GitError):
    """The remote has no such commit or ref."""


class GitAuthFailed(GitError):
    """The server asked for credentials that git had not, or refused the ones it had."""


class HostKeyRefused(GitAuthFailed):
    """The ssh server showed a host key that is not a known one (a VCS link's: not the one it
    pinned): git did not talk to it."""


@dataclass(frozen=True)
class SshTarget:
    """The ssh server of a remote: `host` as the URL names it, the checked `address` ssh
    connects to, its port and the user the URL names (None: the credentials' username)."""

    host: str
    address: str
    port: int
    user: str | None


@dataclass(frozen=True)
class Remote:
    """A repository URL made ready for git: `location` is what git is given (the URL, or the
    local path an insteadOf prefix maps it to), with the settings that pin its address."""

    url: str
    location: str
    local: bool = False
    config: tuple[tuple[str, str], ...] = ()
    ssh: SshTarget | None = None

    def ssh_command(self, key: SshFiles | None = None) -> str:
        """`GIT_SSH_COMMAND`: ssh to the checked address (its host key still looked up under
        the name); with `key`, that key alone against that host key alone."""
        if self.ssh is None:
            return SSH_COMMAND
        argv = ["ssh", "-o", "BatchMode=yes"]
        argv += ["-o", f"HostName={self.ssh.address}", "-o", f"HostKeyAlias={self.ssh.host}"]
        if key is not None:
            argv[1:1] = ["-F", "none"]  # no config file: nothing but what is said here
            for option in (
                "IdentitiesOnly=yes",
                "IdentityAgent=none",
                f"UserKnownHostsFile={key.known_hosts}",
                f"GlobalKnownHostsFile={os.devnull}",
                "StrictHostKeyChecking=yes",
                "UpdateHostKeys=no",
            ):
                argv += ["-o", option]
            argv += ["-i", str(key.identity)]
            if self.ssh.user is None:
                argv += ["-l", key.username]
        return shlex.join(argv)


@dataclass(frozen=True)
class SshFiles:
    """A deploy key's files for one git command (see `_ssh_files`)."""

    identity: Path
    known_hosts: Path
    username: str


@contextmanager
def _ssh_files(key: SshKey) -> Iterator[SshFiles]:
    """The private key (mode 0600) and a known_hosts file holding only the pinned host key,
    in a private temporary dir (mode 0700) removed on the way out, whatever the way."""
    folder = Path(tempfile.mkdtemp(prefix="dockyard-ssh-"))
    try:
        identity = folder / "identity"
        descriptor = os.open(identity, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key.private_key)
        known_hosts = folder / "known_hosts"
        # The file is this command's alone, so the pinned key stands for any name.
        known_hosts.write_text(f"* {key.host_key}\n" if key.host_key else "")
        yield SshFiles(identity, known_hosts, key.username)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _emit(on_line: LineSink | None, line: str) -> None:
    if on_line is not None:
        on_line(line)


class GitClient:
    def __init__(
        self,
        insteadof: Mapping[str, str] | None = None,
        *,
        allow: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.insteadof = dict(insteadof or {})
        self.allow = list(allow)
        self.resolver = resolver
        self._cache_locks: dict[Path, asyncio.Lock] = {}
        self.timeout = timeout

    def mapped(self, url: str) -> str:
        """`url` rewritten by the longest matching insteadOf prefix (no check, no lookup)."""
        prefixes = [prefix for prefix in self.insteadof if url.startswith(prefix)]
        if not prefixes:
            return url
        prefix = max(prefixes, key=len)
        return self.insteadof[prefix] + url[len(prefix) :]

    async def resolve(self, url: str, ref: str, *, credentials: Credentials | None = None) -> str:
        """The sha `ref` (a branch name or a full ref such as `refs/pull/7/head`) points at."""
        _check_url(url)
        full_ref = await self._full_ref(ref)
        for sha, name in await self._ls_remote(url, credentials, refs=[full_ref]):
            if name == full_ref:
                return sha
        raise GitError(f"{_describe_ref(ref)} does not exist in {url}")

    async def branches(self, url: str, *, credentials: Credentials | None = None) -> dict[str, str]:
        """Every branch of `url` (name: sha), as `git ls-remote --heads` lists them."""
        _check_url(url)
        listing = await self._ls_remote(url, credentials, options=["--heads"])
        return {
            name.removeprefix("refs/heads/"): sha
            for sha, name in listing
            if name.startswith("refs/heads/")
        }

    async def host_key(self, url: str) -> str:
        """The public host key (`type base64`) the ssh server of `url` shows at its checked
        address, as `ssh-keyscan` reads it: what a VCS link pins on first use."""
        _check_url(url)
        remote = await asyncio.to_thread(self.remote, url)
        if remote.ssh is None:
            raise GitError(f"{url} is not an ssh repository URL")
        server = remote.ssh
        argv = [SSH_KEYSCAN, "-T", "10", "-p", str(server.port), "-t", "ed25519,ecdsa,rsa"]
        try:
            scanned = await process.run(
                [*argv, "--", server.address],
                env={"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C"},
                timeout=self.timeout,
            )
        except TimeoutError:
            raise GitError(f"ssh-keyscan of {server.host} did not finish") from None
        except FileNotFoundError as exc:
            raise EngineUnavailable(f"ssh-keyscan is not installed ({exc})") from exc
        keys = {
            fields[1]: f"{fields[1]} {fields[2]}"
            for line in scanned.stdout
            if len(fields := line.split()) >= 3 and not line.startswith("#")
        }
        for key_type in HOST_KEY_TYPES:
            if key_type in keys:
                return keys[key_type]
        said = _error_summary(scanned.tail)
        raise GitError(f"Cannot read the ssh host key of {server.host}:{server.port} ({said})")

    async def _ls_remote(
        self,
        url: str,
        credentials: Credentials | None,
        *,
        options: Sequence[str] = (),
        refs: Sequence[str] = (),
    ) -> list[tuple[str, str]]:
        remote = await asyncio.to_thread(self.remote, url)
        listing = await self._run(
            ["ls-remote", *options, "--", remote.location, *refs],
            remote=remote,
            credentials=credentials,
            check=False,
        )
        if not listing.ok:
            _raise_for(url, f"Cannot list the refs of {url}", listing.tail)
        pairs = (line.partition("\t") for line in listing.stdout)
        return [(sha, name) for sha, _, name in pairs]

    async def checkout(
        self,
        url: str,
        sha: str,
        dest: Path,
        *,
        full_clone: bool = False,
        keep_git_dir: bool = False,
        ref: str | None = None,
        on_line: LineSink | None = None,
        cache: Path | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        """The tree of commit `sha` into the empty (or absent) dir `dest`. Shallow (the commit
        alone) unless `full_clone` (its whole history). `ref`, a PR ref, is fetched first: a
        server may serve a commit reachable only from it by that ref alone.

        With `cache` (a bare repository kept between calls, for one source) and neither a
        full clone nor the git dir wanted, the commit is fetched into the cache only when it
        is not there yet, and its tree written out from there: a rebuild of a commit fetches
        nothing. A cache that cannot serve (another process fetching into it) is passed by.

        DiskFull when the disk has no space left for it: `dest` is removed again, and so are
        the objects a fetch into the cache had begun to write."""
        _check_url(url)
        sha = _check_sha(sha)
        full_ref = await self._full_ref(ref) if ref is not None else None
        try:
            await self._checkout(
                url, sha, full_ref, dest, full_clone, keep_git_dir, on_line, cache, credentials
            )
        except (GitError, OSError) as exc:
            if isinstance(exc, MissingObject | GitAuthFailed) or not _no_space_left(dest, exc):
                raise
            await asyncio.to_thread(shutil.rmtree, dest, True)
            said = f" (git: {exc.message})" if isinstance(exc, GitError) else ""
            raise DiskFull(f"no space left on device for the checkout{said}") from None

    async def _checkout(
        self,
        url: str,
        sha: str,
        full_ref: str | None,
        dest: Path,
        full_clone: bool,
        keep_git_dir: bool,
        on_line: LineSink | None,
        cache: Path | None,
        credentials: Credentials | None,
    ) -> None:
        _prepare_empty_dir(dest)
        if cache is not None and not (full_clone or keep_git_dir):
            fetched = await self._checkout_from_cache(
                url, sha, full_ref, dest, cache, on_line, credentials
            )
            if fetched:
                return
            await asyncio.to_thread(shutil.rmtree, dest, True)  # what the cache wrote of it
            _prepare_empty_dir(dest)
        # No template dir: its sample hooks are never used and copying them is slow.
        await self._run(["init", "--quiet", "--template="], cwd=dest, failure="git init failed")
        depth = [] if full_clone else ["--depth=1"]
        await self._fetch_commit(url, sha, full_ref, depth, dest, on_line, credentials)
        await self._run(
            ["checkout", "--detach", sha],
            cwd=dest,
            on_line=on_line,
            failure=f"Cannot check out {sha}",
        )
        if not keep_git_dir:
            await asyncio.to_thread(shutil.rmtree, dest / ".git")

    async def _fetch_commit(
        self,
        url: str,
        sha: str,
        full_ref: str | None,
        depth: list[str],
        repo: Path,
        on_line: LineSink | None,
        credentials: Credentials | None,
    ) -> None:
        if full_ref is None:
            await self._fetch(url, sha, depth, repo, on_line, credentials)
            return
        await self._fetch(url, full_ref, depth, repo, on_line, credentials)
        if not await self._has_commit(repo, sha):
            await self._fetch(url, sha, depth, repo, on_line, credentials)

    async def _checkout_from_cache(
        self,
        url: str,
        sha: str,
        full_ref: str | None,
        dest: Path,
        cache: Path,
        on_line: LineSink | None,
        credentials: Credentials | None,
    ) -> bool:
        """`sha`'s tree into `dest` through the bare repository `cache`; False when the cache
        failed (the caller then fetches afresh, which reports a real problem itself)."""
        index = dest.parent / f".{dest.name}.index"
        earlier_leftovers = _unfinished_objects(cache)
        try:
            async with self._cache_locks.setdefault(cache, asyncio.Lock()):
                if not (cache / "HEAD").exists():
                    cache.mkdir(parents=True, exist_ok=True)
                    await self._run(["init", "--quiet", "--bare", "--template="], cwd=cache)
                if await self._has_commit(cache, sha):
                    _emit(on_line, f"Commit {sha} is in the source cache already")
                else:
                    await self._fetch_commit(
                        url, sha, full_ref, ["--depth=1"], cache, on_line, credentials
                    )
            # A private index: the cache's own is shared by every build of this source.
            into_dest = [f"--git-dir={cache}", f"--work-tree={dest}"]
            await self._run(
                [*into_dest, "checkout", "--force", sha, "--", "."],
                env={"GIT_INDEX_FILE": str(index)},
                failure=f"Cannot check out {sha}",
            )
        except (MissingObject, GitAuthFailed):
            raise
        except GitError as exc:
            if _no_space_left(cache, exc):
                for leftover in _unfinished_objects(cache) - earlier_leftovers:
                    leftover.unlink(missing_ok=True)
                raise
            _emit(on_line, f"The source cache could not serve ({exc.message}); fetching afresh")
            return False
        finally:
            index.unlink(missing_ok=True)
        os.utime(cache)  # when it last served, which `dockyard gc` reads
        return True

    async def changes(
        self,
        url: str,
        sha: str,
        base: str | None,
        cache: Path,
        *,
        credentials: Credentials | None = None,
    ) -> tuple[list[str], str]:
        """The files changed from commit `base` to `sha` (without a base: by `sha` itself)
        and the message of `sha`, read from the remote through the bare repository `cache`,
        kept between calls so later fetches are small. A pull request's base is compared
        from its merge base with `sha`, as the providers show a pull request's changes."""
        _check_url(url)
        sha = _check_sha(sha)
        wanted = [sha] if base is None else [sha, _check_sha(base)]
        if not (cache / "HEAD").exists():
            cache.mkdir(parents=True, exist_ok=True)
            await self._run(["init", "--quiet", "--bare", "--template="], cwd=cache)
        for commit in wanted:
            if not await self._has_commit(cache, commit):
                await self._fetch(url, commit, [], cache, None, credentials)
        diff = (
            ["diff", "--name-only", "-z", f"{base}...{sha}"]
            if base is not None
            else ["diff-tree", "--root", "--no-commit-id", "--name-only", "-r", "-z", sha]
        )
        files = await self._run(diff, cwd=cache, failure="Cannot list the changed files")
        message = await self._run(
            ["log", "-1", "--format=%B", sha], cwd=cache, failure="Cannot read the message"
        )
        return _nul_separated(files.stdout), "\n".join(message.stdout)

    async def _fetch(
        self,
        url: str,
        what: str,
        depth: list[str],
        dest: Path,
        on_line: LineSink | None,
        credentials: Credentials | None,
    ) -> None:
        remote = await asyncio.to_thread(self.remote, url)
        fetched = await self._run(
            ["fetch", "--no-tags", *depth, "--", remote.location, what],
            remote=remote,
            credentials=credentials,
            cwd=dest,
            on_line=on_line,
            check=False,
        )
        if fetched.ok:
            return
        if _mentions_missing_object(fetched.tail):
            thing = f"Commit {what}" if SHA.fullmatch(what) else _describe_ref(what)
            raise MissingObject(f"{thing} does not exist in {url}")
        _raise_for(url, f"Cannot fetch {what} from {url}", fetched.tail)

    async def _has_commit(self, repo: Path, sha: str) -> bool:
        found = await self._run(["cat-file", "-e", f"{sha}^{{commit}}"], cwd=repo, check=False)
        return found.ok

    async def _full_ref(self, ref: str) -> str:
        if not ref or ref.startswith("-"):
            raise GitError(f"Invalid ref {ref!r}: a ref never starts with '-' or is empty")
        full_ref = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
        valid = await self._run(["check-ref-format", full_ref], check=False)
        if not valid.ok:
            raise GitError(f"Invalid ref {ref!r}: not a valid git ref name")
        return full_ref

    async def _run(
        self,
        args: Sequence[str],
        *,
        remote: Remote | None = None,
        credentials: Credentials | None = None,
        cwd: Path | None = None,
        on_line: LineSink | None = None,
        check: bool = True,
        failure: str = "git failed",
        env: Mapping[str, str] | None = None,
    ) -> process.Completed:
        # In `cwd` git looks for its repository there only, never in a parent dir: a broken
        # repo (a half-written cache) must fail, not be mistaken for an enclosing one.
        ceiling = {"GIT_CEILING_DIRECTORIES": str(cwd.resolve().parent)} if cwd else {}
        deploy_key = credentials if isinstance(credentials, SshKey) else None
        try:
            with _ssh_files(deploy_key) if deploy_key else _no_files() as key:
                completed = await process.run(
                    [GIT, *args],
                    env=self._env(remote, credentials, key) | ceiling | dict(env or {}),
                    cwd=cwd,
                    on_line=on_line,
                    timeout=self.timeout,
                )
        except TimeoutError:
            of = f" of {remote.url}" if remote else ""
            raise GitError(f"git {args[0]}{of} did not finish within {self.timeout:g} s") from None
        except FileNotFoundError as exc:
            raise EngineUnavailable(f"git is not installed ({exc})") from exc
        if check and not completed.ok:
            raise GitError(f"{failure}: {_error_summary(completed.tail)}")
        return completed

    def remote(self, url: str) -> Remote:
        """`url` ready for git: mapped by the longest matching insteadOf prefix, kept inside
        the mapped root, its host checked by the address policy. GitError when refused.
        (Blocking: it may ask the resolver.)"""
        _check_url(url)
        prefixes = [prefix for prefix in self.insteadof if url.startswith(prefix)]
        if not prefixes:
            return self._network(url, url)
        prefix = max(prefixes, key=len)
        replacement = self.insteadof[prefix]
        location = replacement + url[len(prefix) :]
        if replacement.startswith(("/", "file://")):
            return _local(url, replacement.removeprefix("file://"), location)
        if problem := url_path_problem(location):
            raise GitError(f"Invalid repository URL {url!r}: it maps to one with {problem}")
        return self._network(url, location)

    def _network(self, url: str, location: str) -> Remote:
        """A remote git reaches over the network, pinned to the address that was checked; any
        other location is left to git, which refuses its protocol."""
        if URL_SCHEME.match(location):
            try:
                parts = urlsplit(location)
                port = parts.port
            except ValueError:
                raise GitError(f"Invalid repository URL {url!r}") from None
            scheme = parts.scheme.lower()
            if scheme not in REMOTE_PROTOCOLS or not parts.hostname:
                return Remote(url, location)
            target = self._checked(url, parts.hostname, port or DEFAULT_PORTS[scheme])
            return _pinned(url, location, parts, scheme, target)
        if scp_like := SCP_LIKE.fullmatch(location):
            port = DEFAULT_PORTS["ssh"]
            target = self._checked(url, scp_like[1], port)
            user = location.partition("@")[0] if "@" in location.split(":", 1)[0] else None
            return Remote(url, location, ssh=_ssh_target(target, port, user))
        return Remote(url, location)

    def _checked(self, url: str, host: str, port: int) -> Target:
        try:
            return check_host(host, port, self.allow, self.resolver)
        except RefusedTarget as exc:
            raise GitError(f"The repository URL {url} is refused: {exc.message}") from None

    def _env(
        self,
        remote: Remote | None,
        credentials: Credentials | None = None,
        key: SshFiles | None = None,
    ) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("GIT_", "DOCKYARD_GIT_"))
            and name.lower() not in PROXY_VARIABLES
            and name not in ASKPASS_VARIABLES
        }
        env.update(
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_TERMINAL_PROMPT="0",
            GIT_SSH_COMMAND=remote.ssh_command(key) if remote else SSH_COMMAND,
            LC_ALL="C",  # errors are matched in English
        )
        config = _config(remote)
        if isinstance(credentials, GitCredentials):
            # The empty value first clears every helper configured before (none is: no
            # system or global config), then ours is the only one.
            config += [("credential.helper", ""), ("credential.helper", CREDENTIAL_HELPER)]
            env["DOCKYARD_GIT_USERNAME"] = credentials.username
            env["DOCKYARD_GIT_TOKEN"] = credentials.token
        else:
            config += [("credential.helper", "")]
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (name, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = name
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env


def _config(remote: Remote | None) -> list[tuple[str, str]]:
    local = remote is not None and remote.local
    return [
        ("protocol.allow", "never"),
        *((f"protocol.{name}.allow", "always") for name in REMOTE_PROTOCOLS),
        ("protocol.file.allow", "always" if local else "never"),
        ("http.followRedirects", "false"),
        *(remote.config if remote else ()),
        # A fetch keeps what it receives as one pack, which appears whole or not at all: one
        # that dies (a full disk, a kill) leaves no commit whose files are missing, as
        # unpacking it into loose objects one by one could, commit first.
        ("fetch.unpackLimit", "1"),
        ("init.defaultBranch", "main"),
        ("advice.detachedHead", "false"),
    ]


def _local(url: str, root_text: str, location: str) -> Remote:
    """The repository a mapped URL names on this machine, once resolved inside the mapped root
    (git also tries the path with `.git` appended: that one counts when it exists)."""
    path = Path(location.removeprefix("file://"))
    candidates = [path, path.with_name(f"{path.name}.git")] if path.name else [path]
    chosen = next((candidate for candidate in candidates if candidate.exists()), path)
    found = resolved_within(Path(root_text), chosen)
    if found is None:
        raise GitError(
            f"The repository URL {url} leads outside the root its DOCKYARD_GIT_INSTEADOF "
            "prefix maps to"
        )
    return Remote(url, str(found), local=True)


def _pinned(url: str, location: str, parts: SplitResult, scheme: str, target: Target) -> Remote:
    if scheme == "ssh":
        port = parts.port or DEFAULT_PORTS["ssh"]
        return Remote(url, location, ssh=_ssh_target(target, port, parts.username))
    if scheme == "git":  # git's own protocol: connect to the checked address itself
        netloc = _host_text(target.address) + (f":{parts.port}" if parts.port else "")
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{netloc}" if userinfo else netloc
        return Remote(url, parts._replace(netloc=netloc).geturl())
    if literal_address(target.host) is not None:  # curl connects to it without a lookup
        return Remote(url, location)
    resolve = f"{target.host}:{target.port}:{_host_text(target.address)}"
    return Remote(url, location, config=(("http.curloptResolve", resolve),))


def _host_text(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return f"[{address}]" if address.version == 6 else str(address)


def _ssh_target(target: Target, port: int, user: str | None) -> SshTarget:
    return SshTarget(target.host, str(target.address), port, unquote(user) if user else None)


@contextmanager
def _no_files() -> Iterator[None]:
    yield None


def url_path_problem(url: str) -> str | None:
    """What makes the path of repository URL `url` unsafe, or None: a `.` or `..` segment, a
    percent-encoded `.`, `/`, `\\` or `%`, or a backslash. (A `:` separates segments too,
    as in git's `host:path`.)"""
    if "\\" in url:
        return "a backslash"
    if ENCODED_SEPARATOR.search(url):
        return "a percent-encoded '.', '/', '\\' or '%'"
    if {".", ".."} & set(re.split(r"[/:]", unquote(url))):
        return "a '.' or '..' path segment"
    return None


def _nul_separated(lines: list[str]) -> list[str]:
    return [name for name in "\n".join(lines).split("\0") if name]


def _check_url(url: str) -> None:
    if not url or url.startswith("-") or any(ord(char) < 0x20 for char in url):
        raise GitError(f"Invalid repository URL {url!r}")
    if problem := url_path_problem(url):
        raise GitError(f"Invalid repository URL {url!r}: it has {problem}")


def _check_sha(sha: str) -> str:
    if not SHA.fullmatch(sha):
        raise GitError(f"Invalid commit sha {sha!r}: a sha is 40 hex digits")
    return sha.lower()


def _describe_ref(ref: str) -> str:
    if ref.startswith("refs/heads/"):
        ref = ref.removeprefix("refs/heads/")
    return f"Ref {ref}" if ref.startswith("refs/") else f"Branch {ref}"


def _prepare_empty_dir(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise GitError(f"Checkout dir {dest} is not empty")


def _no_space_left(path: Path, exc: GitError | OSError) -> bool:
    """Whether a write under `path` failed for want of space."""
    if isinstance(exc, OSError):
        return exc.errno in NO_SPACE_ERRNOS
    return any(marker in exc.message.lower() for marker in NO_SPACE_MARKERS) or nearly_full(path)


def _unfinished_objects(repo: Path) -> set[Path]:
    """The objects and packs a fetch into the bare repository `repo` is writing (a fetch that
    died leaves them behind, as large as what it had received)."""
    return set((repo / "objects").rglob("tmp_*"))


def _mentions_missing_object(lines: Iterable[str]) -> bool:
    text = "\n".join(lines)
    return any(marker in text for marker in MISSING_OBJECT_MARKERS)


def _raise_for(url: str, failure: str, tail: Iterable[str]) -> None:
    """Raise the error a failed network command of git means: HostKeyRefused when ssh found
    a host key it does not know (not the one pinned), GitAuthFailed when the server asked for
    credentials or refused them, else a GitError saying `failure`. (ssh's own lines, which git
    passes on, are not `fatal:` lines: they are looked for in the whole tail.)"""
    lines = list(tail)
    said = [line.strip() for line in lines if _marked(line, (*HOST_KEY_MARKERS, *AUTH_MARKERS))]
    summary = " ".join(dict.fromkeys([*said, _error_summary(lines)]))
    if any(_marked(line, HOST_KEY_MARKERS) for line in lines):
        raise HostKeyRefused(f"{url}: ssh did not trust the server's host key ({summary})")
    if said:
        raise GitAuthFailed(f"{url} refused access: {summary}")
    raise GitError(f"{failure}: {summary}")


def _marked(line: str, markers: Iterable[str]) -> bool:
    return any(marker in line.lower() for marker in markers)


def _error_summary(lines: Iterable[str]) -> str:
    tail = list(lines)
    errors = [line for line in tail if line.startswith(ERROR_LINE_PREFIXES)]
    return " ".join(errors or tail[-3:]) or "no output"
