"""AES-GCM sealing of secret values: round trips, tamper and context checks, key handling."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dockyard.config import Settings
from dockyard.secrets import crypto
from dockyard.secrets.crypto import (
    KEY_FILE,
    SecretBox,
    SecretKeyError,
    decode_key,
    key_id,
    new_key_text,
    read_key_ring,
    rotated,
    write_key_file,
)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([decode_key(new_key_text())])


def test_round_trip_and_ciphertext_hides_value(box: SecretBox) -> None:
    sealed = box.seal_json({"TOKEN": "hunter2"}, context="job:abc")
    assert "hunter2" not in sealed
    assert box.open_json(sealed, context="job:abc") == {"TOKEN": "hunter2"}
    assert box.seal(b"x") != box.seal(b"x")  # fresh nonce each time


def test_wrong_context_or_tampering_fails(box: SecretBox) -> None:
    sealed = box.seal(b"value", context="a")
    with pytest.raises(SecretKeyError):
        box.open(sealed, context="b")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SecretKeyError):
        box.open(flipped, context="a")
    with pytest.raises(SecretKeyError):
        box.open("garbage", context="a")


def test_key_ring_opens_old_values_and_seals_with_the_new_key() -> None:
    old, new = decode_key(new_key_text()), decode_key(new_key_text())
    sealed_with_old = SecretBox([old]).seal(b"v")
    ring = SecretBox([new, old])
    assert ring.open(sealed_with_old) == b"v"
    assert ring.needs_resealing(sealed_with_old)
    assert not ring.needs_resealing(ring.seal(b"v"))
    with pytest.raises(SecretKeyError, match="rotated"):
        SecretBox([new]).open(sealed_with_old)


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    sealed = SecretBox.from_settings(settings).seal(b"v")
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert SecretBox.from_settings(settings).open(sealed) == b"v"


def test_configured_key_wins_and_is_checked(tmp_path: Path) -> None:
    key = new_key_text()
    box = SecretBox.from_settings(Settings(data_dir=tmp_path, secret_key=key))
    assert not (tmp_path / KEY_FILE).exists()
    assert SecretBox([decode_key(key)]).open(box.seal(b"v")) == b"v"
    with pytest.raises(SecretKeyError):
        decode_key("c2hvcnQ=")
    with pytest.raises(SecretKeyError):
        decode_key("not base64!")


def test_a_box_on_the_key_file_seals_with_a_rotated_key_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process rotates the key file: a running box seals with the new key once it
    next looks (at most RECHECK_SECONDS later), and opens what it sealed before."""
    settings = Settings(data_dir=tmp_path)
    running = SecretBox.from_settings(settings)
    before = running.seal(b"before")
    ring = rotated(read_key_ring(tmp_path / KEY_FILE))
    write_key_file(tmp_path / KEY_FILE, ring)
    assert running.sealing_key_id != key_id(ring.keys[0])  # not yet looked
    monkeypatch.setattr(crypto, "RECHECK_SECONDS", 0.0)
    after = running.seal(b"after")
    assert after.split(".")[1] == key_id(ring.keys[0]) == running.sealing_key_id
    assert read_key_ring(tmp_path / KEY_FILE) == ring and ring.generation == 1
    assert ring.rotated_at is not None
    fresh = SecretBox.from_settings(settings)
    assert fresh.open(before) == b"before" and fresh.open(after) == b"after"
