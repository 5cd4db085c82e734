"""`dockyard backup` and `dockyard restore`: one tar.gz archive (mode 0600, it holds the key
ring) of a consistent database snapshot, the key file, the local registry's storage (or, for
an external registry, the image and digest of every successful build) and `manifest.json`
(version, schema revision, database kind, when, what is in it, each member's sha256).

A backup runs while builds and runs go on: the database snapshot is taken first, the registry
storage copied after it, so every build the snapshot calls successful has its image there. Not
saved: source caches and build cache, made again on demand, and build directories."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dockyard import __version__
from dockyard.backup.database import BackupError, kind_of, refuse_occupied, restore, snapshot
from dockyard.builds import repository as builds
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from dockyard.engine.registry import HttpRegistry
from dockyard.errors import EngineUnavailable
from dockyard.migrations import schema_revisions, unknown_revisions
from dockyard.secrets.credentials import local_registry_dir, registry_login, starts_local_registry
from dockyard.secrets.crypto import KEY_FILE

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = {"sqlite": "database/dockyard.db", "postgresql": "database/dockyard.pgdump"}
KEY = f"keys/{KEY_FILE}"
CONFIGURED_KEY = "keys/configured-key"
IMAGES = "registry/images.json"
REGISTRY = "registry/local/"
# Of the local registry's directory: its log, and uploads under way (never a whole image).
REGISTRY_SKIPPED = re.compile(r"(^registry\.log$|(^|/)_uploads(/|$))")
# A registry link file holds a digest; one being written by a push still under way may not.
LINK = re.compile(rb"sha256:[0-9a-f]{64}")
NOT_INCLUDED = [
    "source caches (<data dir>/git-cache) and BuildKit's build cache: made again on demand",
    "build directories of builds under way (<data dir>/builds)",
]
CHUNK = 1 << 20


@dataclass
class Restored:
    lines: list[str] = field(default_factory=list)
    missing_images: list[str] = field(default_factory=list)


def backup(settings: Settings, path: Path, *, include_configured_key: bool = False) -> list[str]:
    """Write the archive to `path` (mode 0600); the lines saying what it holds."""
    url = settings.resolved_database_url
    kind = kind_of(url)
    current, _ = schema_revisions(url)
    if not current:
        raise BackupError("no dockyard database to back up: run `dockyard migrate` first")
    if unknown_revisions(current):
        raise BackupError("the database is newer than this dockyard: back it up with its own")
    path = path.expanduser().resolve()
    staged = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    members: dict[str, str] = {}
    included: dict[str, Any] = {}
    try:
        with (
            os.fdopen(descriptor, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz") as archive,
            tempfile.TemporaryDirectory(dir=path.parent, prefix=".dockyard-backup-") as work,
        ):
            dumped = Path(work) / "database"
            snapshot(url, dumped)
            members[DATABASE[kind]] = _add_file(archive, DATABASE[kind], dumped)
            included["database"] = kind
            if kind == "sqlite":
                current, _ = schema_revisions(f"sqlite:///{dumped}")
            included["key"] = _add_key(archive, members, settings, include_configured_key)
            included["registry"] = _add_registry(archive, members, settings, dumped, kind)
            included["notIncluded"] = NOT_INCLUDED
            manifest = {
                "format": FORMAT,
                "dockyardVersion": __version__,
                "schemaRevisions": sorted(current),
                "databaseKind": kind,
                "createdAt": utcnow().isoformat(),
                "included": included,
                "members": members,
            }
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
        os.replace(staged, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
    return _described(path, manifest)


def _described(path: Path, manifest: dict[str, Any]) -> list[str]:
    included = manifest["included"]
    registry = included["registry"]
    lines = [
        f"wrote {path} (mode 0600: it holds the key ring, keep it like a secret)",
        f"  database: {manifest['databaseKind']}, schema {', '.join(manifest['schemaRevisions'])}",
        f"  key: {included['key']}",
        f"  registry: {registry['kind']}, {registry['count']} "
        + ("files" if registry["kind"] == "local" else "images listed to verify after restore"),
    ]
    return lines + [f"  not included: {what}" for what in included["notIncluded"]]


def _add_key(
    archive: tarfile.TarFile, members: dict[str, str], settings: Settings, configured: bool
) -> str:
    if settings.secret_key is None:
        members[KEY] = _add_file(archive, KEY, settings.data_dir / KEY_FILE)
        return f"key file {KEY_FILE}"
    if configured:
        keys = "".join(f"{text.strip()}\n" for text in settings.secret_key.split(",") if text)
        members[CONFIGURED_KEY] = _add_bytes(archive, CONFIGURED_KEY, keys.encode())
        return "DOCKYARD_SECRET_KEY (included on request)"
    return (
        "not included: DOCKYARD_SECRET_KEY is configured outside the data dir; the operator "
        "must keep it (without it no secret opens)"
    )


def _add_registry(
    archive: tarfile.TarFile, members: dict[str, str], settings: Settings, dumped: Path, kind: str
) -> dict[str, Any]:
    state = local_registry_dir(settings)
    if starts_local_registry(settings) and state.is_dir():
        count = 0
        for file, name in _registry_files(state):
            with contextlib.suppress(FileNotFoundError):  # gc deleted it meanwhile
                members[REGISTRY + name] = _add_file(archive, REGISTRY + name, file)
                count += 1
        return {"kind": "local", "count": count}
    url = f"sqlite+aiosqlite:///{dumped}" if kind == "sqlite" else settings.resolved_database_url
    images = asyncio.run(run_in_session(url, builds.successful_images))
    listed = [{"build": build, "image": image, "digest": digest} for build, image, digest in images]
    members[IMAGES] = _add_bytes(archive, IMAGES, json.dumps(listed, indent=2).encode())
    return {"kind": "external", "registry": settings.registry, "count": len(listed)}


def _registry_files(state: Path) -> Iterator[tuple[Path, str]]:
    for file in sorted(state.rglob("*")):
        name = file.relative_to(state).as_posix()
        if file.is_symlink() or not file.is_file() or REGISTRY_SKIPPED.search(name):
            continue
        if file.name == "link" and not LINK.fullmatch(file.read_bytes()):
            continue
        yield file, name


class _Hashing(io.RawIOBase):
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.sha.update(chunk)
        return chunk


def _add_file(archive: tarfile.TarFile, name: str, file: Path) -> str:
    with file.open("rb") as handle:
        info = tarfile.TarInfo(name)
        info.size = os.fstat(handle.fileno()).st_size
        info.mode = 0o600
        info.mtime = int(os.fstat(handle.fileno()).st_mtime)
        hashing = _Hashing(handle)
        archive.addfile(info, hashing)
        return hashing.sha.hexdigest()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> str:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(utcnow().timestamp())
    archive.addfile(info, io.BytesIO(data))
    return hashlib.sha256(data).hexdigest()


def read_manifest(path: Path) -> dict[str, Any]:
    """The archive's manifest, once every member's checksum matched it (BackupError if not)."""
    manifest: dict[str, Any] | None = None
    found: dict[str, str] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if not member.isfile():
                    raise BackupError(f"{path}: {member.name!r} is not a regular file")
                handle = archive.extractfile(member)
                assert handle is not None
                if member.name == MANIFEST:
                    manifest = json.loads(handle.read())
                    continue
                sha = hashlib.sha256()
                while chunk := handle.read(CHUNK):
                    sha.update(chunk)
                found[member.name] = sha.hexdigest()
    except (tarfile.TarError, OSError, EOFError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path} is not a readable dockyard backup: {exc}") from exc
    if manifest is None or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} has no dockyard backup manifest ({MANIFEST})")
    listed: dict[str, str] = manifest["members"]
    wrong = sorted(name for name in set(listed) | set(found) if listed.get(name) != found.get(name))
    if wrong:
        raise BackupError(
            f"{path} does not match its manifest (tampered or damaged): checksum of "
            f"{', '.join(wrong[:5])}{' ...' if len(wrong) > 5 else ''}"
        )
    return manifest


def restore_archive(settings: Settings, path: Path) -> Restored:
    """Put the archive's database, key and registry storage back into an empty data dir and
    database; for an external registry, check the listed images answer."""
    manifest = read_manifest(path)
    url = settings.resolved_database_url
    kind = kind_of(url)
    newer = unknown_revisions(frozenset(manifest["schemaRevisions"]))
    if newer:
        raise BackupError(
            f"the archive's schema ({', '.join(newer)}) is newer than this dockyard "
            f"({__version__}): restore it with dockyard {manifest['dockyardVersion']} or newer"
        )
    if manifest["databaseKind"] != kind:
        raise BackupError(
            f"the archive holds a {manifest['databaseKind']} database but DOCKYARD_DATABASE_URL "
            f"is {kind}: restore into the same kind"
        )
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"the data dir {data_dir} is not empty: restore into an empty one")
    refuse_occupied(url)
    settings.ensure_data_dir()
    done = Restored()
    with (
        tarfile.open(path, "r:gz") as archive,
        tempfile.TemporaryDirectory(prefix=".dockyard-restore-", dir=data_dir.parent) as work,
    ):
        database = DATABASE[kind]
        archive.extract(database, work, filter="data")
        restore(url, Path(work) / database)
        done.lines.append(
            f"restored the {kind} database (schema {', '.join(manifest['schemaRevisions'])}, "
            f"dockyard {manifest['dockyardVersion']}, backed up {manifest['createdAt']})"
        )
        done.lines.append(_restore_key(archive, manifest, settings))
        registry = manifest["included"]["registry"]
        if registry["kind"] == "local":
            _extract_under(archive, REGISTRY, local_registry_dir(settings))
            done.lines.append(f"restored the local registry's storage ({registry['count']} files)")
        else:
            handle = archive.extractfile(IMAGES)
            assert handle is not None
            done.missing_images = asyncio.run(_missing_images(settings, json.load(handle)))
            done.lines.append(
                f"{registry['count'] - len(done.missing_images)} of {registry['count']} images "
                f"of successful builds answer at {settings.registry}"
            )
    current, heads = schema_revisions(url)
    if current != heads:
        done.lines.append("the schema is older than this dockyard's: run `dockyard migrate`")
    return done


def _restore_key(archive: tarfile.TarFile, manifest: dict[str, Any], settings: Settings) -> str:
    members = manifest["members"]
    name = KEY if KEY in members else CONFIGURED_KEY if CONFIGURED_KEY in members else None
    if name is None:
        return (
            "no key in the archive: set DOCKYARD_SECRET_KEY to the key kept when it was made "
            "(without it no secret opens)"
        )
    handle = archive.extractfile(name)
    assert handle is not None
    target = settings.data_dir / KEY_FILE
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(handle.read())
    line = f"restored the key ring into {target} (0600)"
    if settings.secret_key is not None:
        line += "; DOCKYARD_SECRET_KEY is set and is used instead of it"
    return line


def _extract_under(archive: tarfile.TarFile, prefix: str, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    for member in archive.getmembers():
        if member.name.startswith(prefix):
            member = member.replace(name=member.name[len(prefix) :])
            archive.extract(member, target, filter="data")


async def _missing_images(settings: Settings, listed: list[dict[str, Any]]) -> list[str]:
    """The listed images whose digest the registry does not answer for."""
    registry = HttpRegistry(settings.registry, registry_login(settings))
    missing = []
    for image in listed:
        reference, digest = image["image"], image["digest"]
        repository = reference.split("/", 1)[1].rsplit(":", 1)[0]
        try:
            found = digest is not None and await registry.has_manifest(repository, digest)
        except EngineUnavailable:
            found = False
        if not found:
            missing.append(f"{reference}@{digest}")
    return missing
