"""What redact_url keeps of a URL: scheme, host, port and path; never a credential."""

from __future__ import annotations

import pytest

from dockyard.engine.urls import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://b.example/x.tar", "https://b.example/x.tar"),
        (
            "https://s3.example/b/x.tar?X-Amz-Signature=abc&X-Amz-Credential=k",
            "https://s3.example/b/x.tar?*****",
        ),
        ("https://user:tok@git.example:8443/a#frag", "https://*****@git.example:8443/a#*****"),
        (
            "https://hooks.slack.com/services/T0/B0/sEcReT",
            "https://hooks.slack.com/services/T0/B0/*****",
        ),
        ("http://[::1/a", "*****"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_secret_path_masks_the_last_segment() -> None:
    assert redact_url("https://chat.example/hooks/k3y", secret_path=True) == (
        "https://chat.example/hooks/*****"
    )
