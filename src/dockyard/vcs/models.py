"""The self-hosted VCS table: the team's own git servers (GitLab EE, GitHub Enterprise, Gitea,
or a plain git server), which git sources name by `selfHostedVcsId` and VCS links belong to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UtcDateTime, utcnow


class SelfHostedVcs(Base):
    """A git server of the team's own. `id` is the slug of its name (the dockyard routes' id),
    `uid` the 24 hex digits git sources and links name it by (`selfHostedVcsId`); `vcs_type`
    is its kind of server (`gitlab-ee`, `github-ghe`, `gitea`), None for a plain git server."""

    __tablename__ = "self_hosted_vcs"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    vcs_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    vcs_url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
