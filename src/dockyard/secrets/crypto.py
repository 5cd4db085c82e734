"""Secret values at rest: AES-256-GCM under the installation key.

A sealed value is ``v1.<key id>.<base64url(nonce | ciphertext)>``; the key id (the first
bytes of the key's SHA-256) lets a key ring hold old keys while values are re-sealed after a
rotation. The keys are ``DOCKYARD_SECRET_KEY`` (base64 of 32 bytes; several, comma-separated,
the sealing one first) or, when unset, the key file in the data dir (one key per line, the
sealing one first), made on first use with mode 0600.

The key file's first line records its generation and when it was last rotated. A box on the
key file checks the file before sealing (at most every RECHECK_SECONDS) and reloads it when it
changed, so every running process seals with a new key within that time of a rotation; a box
meeting a key id it lacks reads its keys again too. `secrets retire` waits a settle time after
the rotation for writes sealed just before the reload to land, so it drops no key that a
value still being written was sealed with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.errors import DockyardError

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_FILE = "secret.key"
# How often a box on the key file looks for a rotation before it seals.
RECHECK_SECONDS = 1.0
HEADER = re.compile(r"^# dockyard key ring: generation (\d+), rotated (\S+)")


class SecretKeyError(DockyardError):
    code = "secret-key-error"


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


def decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as exc:
        raise SecretKeyError("secret key is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise SecretKeyError(f"secret key must be {KEY_BYTES} bytes, got {len(key)}")
    return key


def new_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


@dataclass(frozen=True)
class KeyRing:
    """The keys of the key file (the sealing key first), its generation (1 more at each
    rotation) and when that rotation was (None: never rotated)."""

    keys: list[bytes]
    generation: int = 0
    rotated_at: datetime | None = None


def read_key_ring(path: Path) -> KeyRing:
    """The key file's ring; a new one-key file (mode 0600) if there is none."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_key_text() + "\n")
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    header = HEADER.match(lines[0]) if lines else None
    keys = [decode_key(line) for line in lines if not line.startswith("#")]
    if header is None:
        return KeyRing(keys)
    return KeyRing(keys, int(header[1]), datetime.fromisoformat(header[2]))


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Replace the key file atomically (mode 0600), the sealing key first."""
    staged = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    header = ""
    if ring.rotated_at is not None:
        when = ring.rotated_at.isoformat()
        header = f"# dockyard key ring: generation {ring.generation}, rotated {when}\n"
    with os.fdopen(descriptor, "w") as handle:
        handle.write(header + "".join(base64.b64encode(key).decode() + "\n" for key in ring.keys))
    os.replace(staged, path)


def rotated(ring: KeyRing) -> KeyRing:
    """The ring with a new sealing key in front, one generation on."""
    return KeyRing([decode_key(new_key_text()), *ring.keys], ring.generation + 1, utcnow())


def file_stamp(path: Path) -> tuple[int, int, int]:
    """What changes when the key file is replaced or rewritten."""
    status = path.stat()
    return status.st_ino, status.st_mtime_ns, status.st_size


def keys_of(settings: Settings) -> list[bytes]:
    if settings.secret_key:
        return [decode_key(text) for text in settings.secret_key.split(",") if text.strip()]
    return read_key_ring(settings.data_dir / KEY_FILE).keys


class SecretBox:
    """Seals and opens secret values; the first key seals, every key may open."""

    def __init__(
        self,
        keys: Sequence[bytes],
        reload: Callable[[], Sequence[bytes]] | None = None,
        stamp: Callable[[], object] | None = None,
    ) -> None:
        """`reload` reads the keys again; `stamp`, when given, tells (by changing) that they
        changed, and is asked before sealing at most every RECHECK_SECONDS."""
        self._reload = reload
        self._stamp = stamp
        self._seen = stamp() if stamp is not None else None
        self._checked = time.monotonic()
        self._use(keys)

    def _use(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise SecretKeyError("a secret box needs at least one key")
        self._sealing_key = keys[0]
        self._keys = {key_id(key): AESGCM(key) for key in keys}

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secret_key:
            return cls(keys_of(settings))
        path = settings.data_dir / KEY_FILE
        keys = keys_of(settings)
        return cls(keys, reload=lambda: keys_of(settings), stamp=lambda: file_stamp(path))

    def _follow_rotation(self) -> None:
        """Reload the keys when their stamp moved (checked at most every RECHECK_SECONDS)."""
        if self._stamp is None or self._reload is None:
            return
        now = time.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return
        self._checked = now
        stamp = self._stamp()
        if stamp != self._seen:
            self._use(self._reload())
            self._seen = stamp

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    @property
    def sealing_key_id(self) -> str:
        return key_id(self._sealing_key)

    def seal(self, plaintext: bytes, *, context: str = "") -> str:
        """Encrypt; `context` is authenticated, so a value only opens where it was sealed."""
        self._follow_rotation()
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = self._keys[self.sealing_key_id].encrypt(nonce, plaintext, context.encode())
        payload = base64.urlsafe_b64encode(nonce + ciphertext).decode().rstrip("=")
        return f"{VERSION}.{self.sealing_key_id}.{payload}"

    def open(self, sealed: str, *, context: str = "") -> bytes:
        try:
            version, kid, payload = sealed.split(".", 2)
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        except (ValueError, binascii.Error) as exc:
            raise SecretKeyError("not a sealed secret value") from exc
        if version == VERSION and kid not in self._keys and self._reload is not None:
            self._use(self._reload())
        if version != VERSION or kid not in self._keys:
            raise SecretKeyError(f"no key {kid!r} to open this secret (was the key rotated?)")
        try:
            return self._keys[kid].decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag as exc:
            raise SecretKeyError("secret value failed authentication") from exc

    def seal_json(self, value: Any, *, context: str = "") -> str:
        return self.seal(json.dumps(value, separators=(",", ":")).encode(), context=context)

    def open_json(self, sealed: str, *, context: str = "") -> Any:
        return json.loads(self.open(sealed, context=context))

    def needs_resealing(self, sealed: str) -> bool:
        return sealed.split(".", 2)[1:2] != [self.sealing_key_id]
