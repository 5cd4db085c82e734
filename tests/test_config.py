"""Settings come from DOCKYARD_* env, then the TOML file named by DOCKYARD_CONFIG, then defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockyard.cli.main import app
from dockyard.config import (
    BuildNetwork,
    ContainerNetwork,
    ContainerRuntime,
    InvalidSettings,
    RunEngine,
    Settings,
    load_settings,
)
from dockyard.worker.loop import containment_warnings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DOCKYARD_CONFIG",
        "DOCKYARD_DATA_DIR",
        "DOCKYARD_DATABASE_URL",
        "DOCKER_HOST",
        "DOCKYARD_REGISTRY",
        "DOCKYARD_LISTEN",
        "DOCKYARD_GIT_INSTEADOF",
        "DOCKYARD_CONTAINER_NETWORK",
        "DOCKYARD_BUILD_NETWORK",
        "DOCKYARD_RUN_ENGINE",
        "DOCKYARD_CONTAINER_RUNTIME",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = Settings()
    assert settings.data_dir == tmp_path / ".local" / "share" / "dockyard"
    assert settings.resolved_database_url == (
        f"sqlite+aiosqlite:///{tmp_path}/.local/share/dockyard/dockyard.db"
    )
    assert (settings.listen_host, settings.listen_port) == ("127.0.0.1", 8088)
    assert settings.registry == "127.0.0.1:5000"
    assert settings.docker_host == "unix:///var/run/docker.sock"
    assert settings.base_url == "http://127.0.0.1:8088"
    assert settings.container_network is ContainerNetwork.PROJECT
    assert settings.build_network is BuildNetwork.DEFAULT
    assert containment_warnings(settings) == []
    assert settings.container_runtime is ContainerRuntime.RUNC


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOCKYARD_LISTEN", "0.0.0.0:9000")
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/other.sock")
    monkeypatch.setenv("DOCKYARD_CONTAINER_NETWORK", "none")
    monkeypatch.setenv("DOCKYARD_CONTAINER_RUNTIME", "runsc")
    monkeypatch.setenv("DOCKYARD_MAX_CONCURRENT_BUILDS", "5")
    monkeypatch.setenv("DOCKYARD_GIT_INSTEADOF", '{"https://git.example.test/": "/srv/git/"}')
    monkeypatch.setenv("DOCKYARD_DATABASE_URL", "postgresql+psycopg://u:p@db/dockyard")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.listen_port == 9000
    assert settings.docker_host == "unix:///tmp/other.sock"
    assert settings.container_network is ContainerNetwork.NONE
    assert settings.container_runtime is ContainerRuntime.RUNSC
    assert settings.max_concurrent_builds == 5
    assert settings.git_insteadof == {"https://git.example.test/": "/srv/git/"}
    assert settings.resolved_database_url == "postgresql+psycopg://u:p@db/dockyard"


def test_config_file_below_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "dockyard.toml"
    config.write_text(
        'registry = "127.0.0.1:6000"\nmax_concurrent_runs = 7\n'
        '[git_insteadof]\n"https://git.example.test/" = "/srv/git/"\n'
    )
    monkeypatch.setenv("DOCKYARD_CONFIG", str(config))
    monkeypatch.setenv("DOCKYARD_MAX_CONCURRENT_RUNS", "3")
    settings = Settings()
    assert settings.registry == "127.0.0.1:6000"
    assert settings.max_concurrent_runs == 3
    assert settings.git_insteadof == {"https://git.example.test/": "/srv/git/"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DOCKYARD_LISTEN", "8088"),
        ("DOCKYARD_REGISTRY", "http://127.0.0.1:5000"),
        ("DOCKYARD_CONTAINER_NETWORK", "overlay"),
        ("DOCKYARD_BUILD_NETWORK", "project"),
        ("DOCKYARD_CONTAINER_RUNTIME", "kata"),
        ("DOCKYARD_MAX_CONCURRENT_BUILDS", "0"),
        ("DOCKYARD_GIT_INSTEADOF", "not json"),
        ("DOCKYARD_REGISTRY_USERNAME", "dockyard"),  # without its password
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InvalidSettings, match="invalid settings"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("DOCKYARD_MAX_CONCURENT_RUNS", "DOCKYARD_MAX_CONCURRENT_RUNS"),
        ("DOCKYARD_DATABASE_ULR", "DOCKYARD_DATABASE_URL"),
        ("DOCKYARD_SECRETKEY", "DOCKYARD_SECRET_KEY"),
    ],
)
def test_a_misspelled_variable_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, meant: str
) -> None:
    monkeypatch.setenv(name, "3")
    with pytest.raises(InvalidSettings, match=f"{name} is not a setting: did you mean {meant}"):
        load_settings()


def test_variables_of_the_cli_and_the_tests_are_no_typos(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DOCKYARD_URL", "DOCKYARD_TOKEN", "DOCKYARD_PROJECT", "DOCKYARD_TEST_X"):
        monkeypatch.setenv(name, "1")
    assert load_settings().max_concurrent_runs >= 1


def test_a_config_file_key_that_is_no_setting_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "dockyard.toml"
    config.write_text('max_concurent_runs = 7\nfavourite_colour = "blue"\n')
    monkeypatch.setenv("DOCKYARD_CONFIG", str(config))
    with pytest.raises(InvalidSettings) as refused:
        load_settings()
    assert "max_concurent_runs is not a setting: did you mean max_concurrent_runs?" in str(
        refused.value
    )
    assert f"favourite_colour is not a setting ({config})" in str(refused.value)


@pytest.mark.parametrize(
    ("changes", "warned"),
    [
        ({"container_network": ContainerNetwork.HOST}, "DOCKYARD_CONTAINER_NETWORK=host"),
        ({"build_network": BuildNetwork.HOST}, "DOCKYARD_BUILD_NETWORK=host"),
        ({"run_engine": RunEngine.SWARM}, "job runs on the swarm use the host network"),
    ],
)
def test_settings_that_leave_jobs_uncontained_are_warned_of(
    changes: dict[str, object], warned: str
) -> None:
    [warning] = containment_warnings(Settings(**changes))
    assert warning.startswith(warned)


def test_dockyard_config_prints_each_value_and_its_source_with_secrets_elided(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "dockyard.toml"
    config.write_text(
        'max_concurrent_runs = 7\nlisten = "127.0.0.1:1"\n'
        '[registry_credentials.acme]\nregistry = "r.test:5000"\nusername = "puller"\n'
        'password = "file-password-1"\n'
    )
    monkeypatch.setenv("DOCKYARD_CONFIG", str(config))
    monkeypatch.setenv("DOCKYARD_LISTEN", "127.0.0.1:9000")  # above the file's
    monkeypatch.setenv("DOCKYARD_DATABASE_URL", "postgresql+psycopg://dk:db-password-2@db/dk")
    monkeypatch.setenv("DOCKYARD_SECRET_KEY", "a-configured-key-3")
    monkeypatch.setenv("DOCKYARD_WEBHOOK_SECRETS", '{"https://git.test/a": "hook-secret-4"}')
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/other.sock")
    result = CliRunner().invoke(app, ["config", "--json"])
    assert result.exit_code == 0, result.output
    for secret in ("file-password-1", "db-password-2", "a-configured-key-3", "hook-secret-4"):
        assert secret not in result.stdout
    shown = {item["name"]: item for item in json.loads(result.stdout)}
    assert set(shown) == set(Settings.model_fields)
    assert shown["listen"] == {
        "name": "listen",
        "variable": "DOCKYARD_LISTEN",
        "value": "127.0.0.1:9000",
        "source": "environment",
        "from": "DOCKYARD_LISTEN",
    }
    assert shown["max_concurrent_runs"]["value"] == 7
    assert (shown["max_concurrent_runs"]["source"], shown["max_concurrent_runs"]["from"]) == (
        "file",
        str(config),
    )
    assert shown["max_concurrent_builds"]["source"] == "default"
    assert shown["max_concurrent_builds"]["from"] is None
    assert shown["docker_host"]["from"] == "DOCKER_HOST"
    assert shown["database_url"]["value"] == "postgresql+psycopg://dk:***@db/dk"
    assert shown["secret_key"]["value"] == "***"
    assert shown["key_settle_seconds"]["value"] == 60.0  # a number, not a secret
    assert shown["webhook_secrets"]["value"] == {"https://git.test/a": "***"}
    login = shown["registry_credentials"]["value"]["acme"]
    assert login == {"registry": "r.test:5000", "username": "puller", "password": "***"}

    table = CliRunner().invoke(app, ["config"])  # names whole at any width
    assert table.exit_code == 0 and "db-password-2" not in table.stdout
    assert "DOCKYARD_MAX_CONCURRENT_RUNS" in table.stdout and str(config) in table.stdout
