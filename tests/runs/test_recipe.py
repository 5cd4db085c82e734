"""Which entrypoint and command each configType gives, and how labels are made (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.runs.recipe import labels_of, process_of


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, (None, None)),
        ({"docker": {"configType": "default"}}, (None, None)),
        (
            {"docker": {"configType": "customCommand", "customCommand": "npm run 'a b'"}},
            (None, ["npm", "run", "a b"]),
        ),
        (
            {"docker": {"configType": "customEntrypoint", "customEntrypoint": "/bin/app -v"}},
            (["/bin/app", "-v"], []),
        ),
        (
            {
                "docker": {
                    "configType": "customEntrypointCustomCommand",
                    "customEntrypoint": "sh",
                    "customCommand": "-c 'echo hi'",
                }
            },
            (["sh"], ["-c", "echo hi"]),
        ),
        ({"buildpack": {"configType": "default"}}, (None, None)),
        (
            {"buildpack": {"configType": "customProcess", "customProcess": "worker"}},
            (["/cnb/process/worker"], []),
        ),
        (
            {"buildpack": {"configType": "customCommand", "customCommand": "rake db:migrate"}},
            (["/cnb/lifecycle/launcher"], ["rake", "db:migrate"]),
        ),
        (
            {
                "buildpack": {
                    "configType": "customEntrypointCustomCommand",
                    "customEntrypoint": "/bin/bash",
                    "customCommand": "-lc run",
                }
            },
            (["/bin/bash"], ["-lc", "run"]),
        ),
        (
            {
                "buildpack": {
                    "configType": "originalEntrypointCustomCommand",
                    "customCommand": "web --port 8080",
                }
            },
            (None, ["web", "--port", "8080"]),
        ),
    ],
)
def test_process_of(options: dict[str, Any], expected: tuple[Any, Any]) -> None:
    assert process_of(options) == expected


def test_labels_and_annotations() -> None:
    metadata = {"labels": {"team": "data"}, "annotations": {"note": "x", "obj": {"a": 1}}}

    assert labels_of(metadata) == {
        "team": "data",
        "annotation.note": "x",
        "annotation.obj": '{"a": 1}',
    }
