"""Vendor the dashboard's one front-end library: htmx, from its npm tarball.

    python3 scripts/vendor-ui.py

Downloads the pinned tarball from the npm registry, checks it against its pinned sha512
`integrity` (the value npm's package-lock records), and writes `dist/htmx.min.js` to
src/dockyard/ui/static/vendor/ (not committed). Idempotent: a file already there whose content
came from the pinned tarball (its stamp beside it says so) is left alone. Standard library
only, so it runs before the virtualenv exists. The dashboard works without the file (plain
forms, no live refresh).
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "htmx.org"
VERSION = "2.0.11"
INTEGRITY = "sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=="  # noqa: E501 (a pinned hash is one token)
TARBALL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
MEMBER = "package/dist/htmx.min.js"
TARGET = Path(__file__).resolve().parents[1] / "src/dockyard/ui/static/vendor/htmx.min.js"
STAMP = TARGET.with_name(TARGET.name + ".version")
TIMEOUT_SECONDS = 60


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def extract(tarball: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"vendor-ui: {MEMBER} missing from {TARBALL}")
        return member.read()


def main() -> None:
    if TARGET.exists() and STAMP.exists() and STAMP.read_text().strip() == INTEGRITY:
        return
    with urllib.request.urlopen(TARBALL, timeout=TIMEOUT_SECONDS) as response:
        tarball = response.read()
    if integrity_of(tarball) != INTEGRITY:
        raise SystemExit(f"vendor-ui: {TARBALL} does not match its pinned integrity")
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(extract(tarball))
    STAMP.write_text(INTEGRITY + "\n")
    print(f"vendor-ui: {PACKAGE} {VERSION} -> {TARGET}", file=sys.stderr)


if __name__ == "__main__":
    main()
