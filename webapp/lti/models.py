"""The tables of the LTI 1.3 tool: platform registrations, the tool's key pairs, the short-lived OIDC
state and nonces, course contexts and the line items scores are posted to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import Attendee, Cohort, UTCDateTime, utcnow


class LtiPlatform(db.Model):
    """One LMS registration (issuer + client id): where its login, token and key endpoints are, and which
    deployments of labgrader in it may launch."""

    __tablename__ = "lti_platforms"
    __table_args__ = (sa.UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    issuer: Mapped[str] = mapped_column(sa.String(500))
    client_id: Mapped[str] = mapped_column(sa.String(255))
    deployment_ids: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    auth_login_url: Mapped[str] = mapped_column(sa.String(2000))
    auth_token_url: Mapped[str] = mapped_column(sa.String(2000))
    key_set_url: Mapped[str] = mapped_column(sa.String(2000))
    auth_audience: Mapped[str | None] = mapped_column(sa.String(2000))
    # Origins allowed to frame labgrader's pages for this platform's launches (frame-ancestors).
    frame_origins: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LtiKey(db.Model):
    """A key pair of the tool (RS256): the newest unretired one signs; retired ones stay in the JWKS until
    ``drop_after`` so platforms holding a cached copy still verify what was signed before a rotation."""

    __tablename__ = "lti_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(sa.String(100), unique=True)
    public_pem: Mapped[str] = mapped_column(sa.Text)
    private_blob: Mapped[bytes] = mapped_column(sa.LargeBinary)  # encrypted (webapp.crypto)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    drop_after: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LtiStoreEntry(db.Model):
    """pylti1p3's launch data storage, shared by every instance: OIDC nonces (deleted when used, so a launch
    cannot be replayed), validated launches (for deep linking's second step), with an expiry."""

    __tablename__ = "lti_store"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LtiContext(db.Model):
    """A course of a platform that launched one lab: the class it maps to and its roster service (NRPS)."""

    __tablename__ = "lti_contexts"
    __table_args__ = (sa.UniqueConstraint("platform_id", "context_id", "lab_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(sa.String(255))
    lab_id: Mapped[str] = mapped_column(sa.ForeignKey("labs.id", ondelete="CASCADE"))
    cohort_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    memberships_url: Mapped[str | None] = mapped_column(sa.String(2000))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    platform: Mapped[LtiPlatform] = relationship()
    cohort: Mapped[Cohort | None] = relationship()


class LtiGradeTarget(db.Model):
    """Where an attendee's score goes: the line item of the resource link they launched, as that LMS user."""

    __tablename__ = "lti_grade_targets"
    __table_args__ = (sa.UniqueConstraint("attendee_id", "platform_id", "lineitem_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id", ondelete="CASCADE"), index=True)
    platform_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(sa.String(255))  # the LMS user (the id_token's sub)
    lineitem_url: Mapped[str] = mapped_column(sa.String(2000))
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    pending_score: Mapped[float | None] = mapped_column()  # a score waiting to be posted (None: nothing waits)
    pending_data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)  # its score.changed data
    last_score: Mapped[float | None] = mapped_column()  # the last score the platform accepted
    tries: Mapped[int] = mapped_column(default=0)  # failed posts of the pending score so far
    last_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    attendee: Mapped[Attendee] = relationship()
    platform: Mapped[LtiPlatform] = relationship()


class LtiLearner(db.Model):
    """An LMS user who launched as an attendee: the roster on the grid tells them from those who have not."""

    __tablename__ = "lti_learners"
    __table_args__ = (sa.UniqueConstraint("platform_id", "user_id", "attendee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(sa.ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(sa.String(255))
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id", ondelete="CASCADE"), index=True)
    last_launch_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
