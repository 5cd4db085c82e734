"""The VCS links table: the team's accounts on git servers, which fetch private repositories."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow, when_created


class VcsLink(Base):
    """A team-level link to an account on a git server. `id` is the slug of its name (the
    dockyard routes' id), `uid` the 24 hex digits jobs and services name it by (`vcsLinkId`).
    `kind` says how git authenticates: `token` (HTTPS basic auth with `login` and the token
    sealed in `sealed_secret`) or `ssh` (a deploy key: the OpenSSH private key sealed in
    `sealed_secret`, its `public_key` shown, `login` the ssh user, `host_key` the server's
    pinned public host key, recorded on first use when not given)."""

    __tablename__ = "vcs_links"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="token")
    vcs_service: Mapped[str] = mapped_column(String(32))
    vcs_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    vcs_url: Mapped[str] = mapped_column(String(500))
    login: Mapped[str] = mapped_column(String(100))
    sealed_secret: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    host_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The uid of the self-hosted VCS (vcs/models.py) the link is an account on, if any.
    self_hosted_vcs_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=when_created, onupdate=utcnow)
