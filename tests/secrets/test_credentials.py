"""Registry logins named by id resolve from DOCKYARD_REGISTRY_CREDENTIALS, or say what to set;
dockyard's own login is the operator's, or for a registry it starts one generated once."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dockyard.config import Settings
from dockyard.engine.base import RegistryCredentials
from dockyard.errors import Invalid
from dockyard.secrets.credentials import (
    CredentialsNotConfigured,
    refuse_own_registry,
    registry_login,
    registry_logins,
)


def test_known_and_unknown_ids() -> None:
    settings = Settings(
        registry_credentials={"ghcr": {"registry": "ghcr.io", "username": "u", "password": "p"}}
    )
    assert registry_logins(settings, ["ghcr"]) == [RegistryCredentials("ghcr.io", "u", "p")]
    assert registry_logins(settings, []) == []
    with pytest.raises(CredentialsNotConfigured, match="DOCKYARD_REGISTRY_CREDENTIALS"):
        registry_logins(settings, ["nope"])


def test_a_registry_dockyard_starts_gets_one_password_for_every_process(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, registry="127.0.0.1:5999")
    with ThreadPoolExecutor(8) as pool:
        logins = set(pool.map(lambda _: registry_login(settings), range(16)))
    (login,) = logins
    assert login is not None and login.registry == "127.0.0.1:5999"
    path = tmp_path / "registry" / "password"
    assert path.read_text() == login.password and len(login.password) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in path.parent.iterdir()] == ["password"]  # no drafts left


def test_an_operators_registry_takes_the_login_of_the_settings(tmp_path: Path) -> None:
    given = Settings(
        data_dir=tmp_path,
        registry="registry.internal:5000",
        registry_autostart=False,
        registry_username="ci",
        registry_password="s3cret",
    )
    assert registry_login(given) == RegistryCredentials("registry.internal:5000", "ci", "s3cret")
    assert "s3cret" not in repr(given)
    plain = Settings(data_dir=tmp_path, registry="registry.internal:5000")
    assert registry_login(plain) is None  # not loopback: never started, no auth known
    assert not (tmp_path / "registry").exists()


@pytest.mark.parametrize(
    ("image", "refused"),
    [
        ("127.0.0.1:5000/other/job:abc", True),
        ("localhost:5000/other/job@sha256:" + "a" * 64, True),
        ("LOCALHOST:5000/other/job:abc", True),
        ("127.1.2.3:5000/other/job:abc", True),
        ("0.0.0.0:5000/other/job:abc", True),
        ("[::1]:5000/other/job:abc", True),
        ("http://127.0.0.1:5000/other/job:abc", True),
        ("127.0.0.1:5001/other/job:abc", False),
        ("127.0.0.1/other/job:abc", False),
        ("registry.example.com:5000/other/job:abc", False),
        ("local/busybox:1", False),
        ("busybox:1", False),
    ],
)
def test_external_images_may_not_name_dockyards_registry(image: str, refused: bool) -> None:
    if refused:
        with pytest.raises(Invalid, match=r"use deployment\.internal") as raised:
            refuse_own_registry(image, "127.0.0.1:5000")
        assert raised.value.path == "deployment.external.imagePath"
    else:
        refuse_own_registry(image, "127.0.0.1:5000")


def test_a_registry_by_name_is_that_name_and_port() -> None:
    with pytest.raises(Invalid):
        refuse_own_registry("Registry.Internal:5000/p/j:t", "registry.internal:5000")
    refuse_own_registry("127.0.0.1:5000/p/j:t", "registry.internal:5000")
