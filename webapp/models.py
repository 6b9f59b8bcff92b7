"""The database model: labs, classes (cohorts), attendees, attempts, per-step summaries, API keys, proctors.

Datetimes are timezone-aware UTC everywhere (:class:`UTCDateTime` restores the zone SQLite drops).
Attendee secrets live only in ``Attendee.secret_blob``, encrypted (see :mod:`webapp.crypto`).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_session_version() -> int:
    return secrets.randbelow(2**30) + 1


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Lab(db.Model):
    """A lab pack known to this service (id = the pack's id)."""

    __tablename__ = "labs"

    id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    version: Mapped[str] = mapped_column(sa.String(50), default="")


proctor_cohorts = sa.Table(
    "proctor_cohorts",
    db.metadata,
    sa.Column("proctor_id", sa.ForeignKey("proctors.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("cohort_id", sa.ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
)


class Cohort(db.Model):
    """A class taking one lab together (the unit a proctor watches)."""

    __tablename__ = "cohorts"
    __table_args__ = (sa.UniqueConstraint("lab_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[str] = mapped_column(sa.ForeignKey("labs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The class's automatic checks (``services.autocheck``): None follows the lab's lab.yaml ``auto_check``.
    auto_check: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    lab: Mapped[Lab] = relationship()


class Attendee(db.Model):
    """One student in one lab. ``injects`` holds non-secret values only; ``azure`` the non-secret
    credential fields; ``secret_blob`` the encrypted secret injects and the Azure client secret."""

    __tablename__ = "attendees"
    __table_args__ = (sa.UniqueConstraint("lab_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[str] = mapped_column(sa.ForeignKey("labs.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    cohort_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="SET NULL"), index=True)
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    injects: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    secret_blob: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    azure: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    link_version: Mapped[int] = mapped_column(default=1)
    # The attendee's user id in an LMS that launches labgrader (LTI ``sub``): maps their launches to them
    # (webapp.lti.launches).
    lms_user_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lab: Mapped[Lab] = relationship()
    cohort: Mapped[Cohort | None] = relationship()

    def __repr__(self) -> str:  # never the secrets
        return f"<Attendee {self.id} {self.lab_id}/{self.external_id}>"


class Attempt(db.Model):
    """One Validate press (or API call, or sweep) and its redacted StepResult."""

    __tablename__ = "attempts"
    __table_args__ = (sa.Index("ix_attempts_attendee_step_started", "attendee_id", "step_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(sa.String(100))
    task: Mapped[str] = mapped_column(sa.String(20), default="")
    status: Mapped[str] = mapped_column(sa.String(10))
    message: Mapped[str] = mapped_column(sa.Text, default="")
    hint: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    trigger: Mapped[str] = mapped_column(sa.String(10))
    triggered_by: Mapped[str | None] = mapped_column(sa.String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(default=0)
    azure_calls: Mapped[int] = mapped_column(default=0)

    attendee: Mapped[Attendee] = relationship()


class StepSummary(db.Model):
    """Where one attendee stands on one step: what the proctor grid shows, kept current by each attempt.

    ``status`` is the latest verdict about the student's work (an ERROR, which is labgrader's trouble,
    does not replace it); ``last_status`` is the latest attempt's status whatever it was.
    """

    __tablename__ = "step_summaries"

    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True)
    step_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(10))
    last_status: Mapped[str] = mapped_column(sa.String(10))
    message: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    fails: Mapped[int] = mapped_column(default=0)
    consecutive_fails: Mapped[int] = mapped_column(default=0)
    first_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # never cleared: the step's credit
    failing_checks: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON, default=list)
    # What verdicts rest on (``StepResult.observed``: fact -> identity of the training resource, project,
    # iterations), so a PASS whose resources have changed since stops counting (services.progress).
    judged_on: Mapped[dict[str, str | None] | None] = mapped_column(sa.JSON)  # of the result that set ``status``
    observed: Mapped[dict[str, list] | None] = mapped_column(sa.JSON)  # fact -> [identity, when]: newest seen

    attendee: Mapped[Attendee] = relationship()


class AttendeeStanding(db.Model):
    """What a class view needs of one attendee that takes all their summaries to work out, kept current by
    ``services.standings`` whenever one of their summaries is written: the steps whose PASS is out of date
    (``services.progress.out_of_date``). The class grid counts, sorts and filters a whole class from these
    and light summary columns, without reading each summary's observations."""

    __tablename__ = "attendee_standings"

    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True)
    out_of_date: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # step ids, sorted
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(db.Model):
    """A bearer key for the platform API. Only its SHA-256 is stored; ``prefix`` finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class LoginSession(db.Model):
    """One signed-in browser: a student's (opened by a launch link) or a proctor's. The signed session cookie
    carries a random id whose SHA-256 is this row's key; signing out deletes the row, so a copy of the cookie
    opens nothing afterwards, on any instance. Exactly one of ``attendee_id`` and ``proctor_id`` is set."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    attendee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attendees.id", ondelete="CASCADE"), index=True)
    proctor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proctors.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Proctor(db.Model):
    """A person who watches classes. Admins see every class; others the classes granted to them."""

    __tablename__ = "proctors"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Stored in the proctor's session at sign-in; bumping it (a new password) ends every session signed in
    # before. A new account starts at a random value, so a session of a removed account whose id a new
    # account reuses (SQLite reuses the highest id) does not match it.
    session_version: Mapped[int] = mapped_column(default=new_session_version, server_default="0")

    cohorts: Mapped[list[Cohort]] = relationship(secondary=proctor_cohorts, order_by=Cohort.id)

    def __repr__(self) -> str:
        return f"<Proctor {self.id} {self.email}>"


class DoctorCheck(db.Model):
    """The last ``labgrader doctor`` run for one attendee (``validator.doctor.DoctorReport`` as JSON): whether
    labgrader's Azure identity can grade their lab. The class grid marks attendees whose check failed."""

    __tablename__ = "doctor_checks"

    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(10))  # PASS or FAIL
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_by: Mapped[str | None] = mapped_column(sa.String(200))  # who asked: a proctor's email, an API key's name

    attendee: Mapped[Attendee] = relationship()


class WebhookSubscription(db.Model):
    """A lab platform's webhook: where to send which events (optionally of one lab and class only). The
    signing secret (``whsec_...``) is stored encrypted in ``secret_blob`` and shown once, at creation."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    lab_id: Mapped[str | None] = mapped_column(sa.String(100))
    cohort: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    secret_blob: Mapped[bytes] = mapped_column(sa.LargeBinary)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(sa.String(200))


class WebhookEvent(db.Model):
    """The outbox: one event for one subscription, written in the transaction of the attempt that caused it
    and delivered afterwards (``webapp.services.webhooks``), in ``id`` order per subscription and attendee.
    ``msg_id`` is the ``webhook-id`` every try of this event carries."""

    __tablename__ = "webhook_events"
    __table_args__ = (sa.Index("ix_webhook_events_pending", "state", "next_attempt_at"),
                      sa.Index("ix_webhook_events_sub_attendee", "subscription_id", "attendee_key", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    msg_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    attendee_key: Mapped[str] = mapped_column(sa.String(310))  # lab/external id: the unit of ordering
    type: Mapped[str] = mapped_column(sa.String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(sa.String(10), default="pending")  # pending, delivered, failed
    tries: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retry_until: Mapped[datetime] = mapped_column(UTCDateTime)  # given up (state failed) after this
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a sender holds it until then
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(db.Model):
    """One try of sending one event: the subscription's delivery log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.Index("ix_webhook_deliveries_sub_at", "subscription_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(default=False)
    status_code: Mapped[int | None] = mapped_column()
    latency_ms: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)


class AutoCheck(db.Model):
    """One attendee's automatic checks (``services.autocheck``): when they were last active, when their
    unfinished steps are next validated, and the credentials that failed (skipped until they change)."""

    __tablename__ = "auto_checks"

    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id", ondelete="CASCADE"), primary_key=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # opened the guide, or validated
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: due as soon as they are active
    running_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a check holds the attendee until then
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_calls: Mapped[int] = mapped_column(default=0)  # Azure calls the last check made
    # ``Attendee.updated_at`` when their credentials failed: skipped while the attendee record is unchanged.
    blocked_on: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_reason: Mapped[str | None] = mapped_column(sa.Text)


class AutoCheckRun(db.Model):
    """One automatic check's Azure calls, charged to its class (``scope``) when it starts (an estimate) and
    corrected when it ends: the ledger behind the per-class ceiling of calls per minute."""

    __tablename__ = "auto_check_runs"
    __table_args__ = (sa.Index("ix_auto_check_runs_scope_at", "scope", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(320))
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    calls: Mapped[int] = mapped_column()
    done: Mapped[bool] = mapped_column(default=False)
