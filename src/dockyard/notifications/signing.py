"""Signatures of webhook deliveries, as Stripe and GitHub sign theirs.

`X-Dockyard-Signature: sha256=<hex>` is the HMAC-SHA256, under the integration's secret, of
`<timestamp>.<raw body>`, where `<timestamp>` is the `X-Dockyard-Timestamp` header (Unix
seconds of this attempt). A receiver recomputes it over the bytes it got, compares in constant
time and refuses timestamps far from its clock (a replayed request keeps its old timestamp,
which the signature covers).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Dockyard-Signature"
TIMESTAMP_HEADER = "X-Dockyard-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
