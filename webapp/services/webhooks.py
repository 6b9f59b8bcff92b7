"""Webhooks: lab platforms hear about progress without asking.

A subscription names a target URL, the events it wants and optionally one lab and class. Events are
written to an outbox (:class:`WebhookEvent`) by :func:`on_attempt`, inside the transaction that records the
attempt causing them, so a crash between the attempt and the delivery loses nothing. After the commit,
:func:`kick` asks the background jobs (RQ with Redis, the process's pool otherwise; see :mod:`.jobs`) to
deliver that attendee's events; every web and worker process also runs :func:`sweep` on a timer
(:func:`start_sweeper`), which picks up retries that are due and events a crashed process left unsent.

Deliveries follow the Standard Webhooks specification (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``) with a ``whsec_`` secret generated
here, shown once and stored encrypted. Each event keeps one ``webhook-id`` over all its tries, so a receiver
that saw it already can drop it. Per subscription and attendee, events go out in the order they happened:
a later one waits while an earlier one is being retried.

Retries (exponential backoff with jitter, ``Retry-After`` honoured) on 5xx, 408, 429, timeouts and connection
errors, for ``WEBHOOK_RETRY_HOURS``; any other answer but 2xx stops after the first try. A subscription is
disabled after ``WEBHOOK_DISABLE_AFTER_FAILURES`` failed tries in a row, with the reason. Targets are checked
against SSRF when saved and again, resolved, before every send (:func:`check_target`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import or_, select, update

from .. import crypto
from ..extensions import db
from ..models import Attendee, StepSummary, WebhookDelivery, WebhookEvent, WebhookSubscription, utcnow
from .errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

STEP_STATUS_CHANGED = "step.status_changed"
ATTENDEE_COMPLETED = "attendee.completed"
ATTENDEE_STUCK = "attendee.stuck"
SCORE_CHANGED = "score.changed"
EVENTS = (STEP_STATUS_CHANGED, ATTENDEE_COMPLETED, ATTENDEE_STUCK, SCORE_CHANGED)
MAX_SUBSCRIPTIONS = 100
MAX_PER_DRAIN = 200  # events one drain sends before it leaves the rest to the next kick or sweep
LEASE_EXTRA_SECONDS = 5  # a sender that died frees its event after twice the send timeout and this
# Cloud metadata endpoints: refused even when private targets are allowed.
METADATA_ADDRESSES = {ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")}


class UnsafeTarget(ValueError):
    """A webhook URL labgrader refuses to send to (scheme, or an address that is not public)."""


# -- subscriptions ------------------------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_of(sub: WebhookSubscription) -> str:
    return crypto.decrypt_json(sub.secret_blob)["secret"]


def _clean(url: str | None, events: list[str] | None) -> None:
    if url is not None:
        try:
            check_url(url)
        except UnsafeTarget as exc:
            raise InvalidInput("url", str(exc)) from None
    if events is not None:
        if not events:
            raise InvalidInput("events", f"name at least one of {', '.join(EVENTS)}")
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            raise InvalidInput("events", f"unknown event '{unknown[0]}': the events are {', '.join(EVENTS)}")


def create(url: str, events: list[str], *, lab_id: str | None = None, cohort: str | None = None,
           description: str = "", created_by: str | None = None) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (the only time the secret is returned)."""
    _clean(url, events)
    if db.session.query(WebhookSubscription).count() >= MAX_SUBSCRIPTIONS:
        raise InvalidInput("url", f"at most {MAX_SUBSCRIPTIONS} webhook subscriptions may exist")
    secret = new_secret()
    sub = WebhookSubscription(url=url, events=list(dict.fromkeys(events)), lab_id=lab_id or None,
                              cohort=cohort or None, description=description or "",
                              secret_blob=crypto.encrypt_json({"secret": secret}), created_by=created_by,
                              enabled=True, consecutive_failures=0)
    db.session.add(sub)
    db.session.commit()
    return sub, secret


def get(sub_id: int) -> WebhookSubscription:
    sub = db.session.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound(f"no webhook subscription {sub_id}")
    return sub


def all_subscriptions() -> list[WebhookSubscription]:
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def update_subscription(sub: WebhookSubscription, **changes: Any) -> WebhookSubscription:
    """Change ``url``, ``events``, ``lab``, ``cohort``, ``description`` or ``enabled``. A disabled subscription
    gets no new events; re-enabling clears the reason and the failure count, and the events still waiting are
    sent."""
    _clean(changes.get("url"), changes.get("events"))
    for name in ("url", "events", "description"):
        if changes.get(name) is not None:
            setattr(sub, name, changes[name])
    if "lab" in changes:
        sub.lab_id = changes["lab"] or None
    if "cohort" in changes:
        sub.cohort = changes["cohort"] or None
    if changes.get("enabled") is not None:
        if changes["enabled"] and not sub.enabled:
            sub.consecutive_failures, sub.disabled_reason = 0, None
        elif not changes["enabled"]:
            sub.disabled_reason = sub.disabled_reason or "disabled through the API"
        sub.enabled = bool(changes["enabled"])
    db.session.commit()
    return sub


def delete(sub: WebhookSubscription) -> None:
    db.session.delete(sub)
    db.session.commit()


def events_of(sub: WebhookSubscription, limit: int = 50) -> list[WebhookEvent]:
    return list(db.session.scalars(select(WebhookEvent).filter_by(subscription_id=sub.id)
                                   .order_by(WebhookEvent.id.desc()).limit(limit)))


def deliveries_of(sub: WebhookSubscription, limit: int = 50) -> list[tuple[WebhookDelivery, WebhookEvent]]:
    rows = db.session.execute(
        select(WebhookDelivery, WebhookEvent).join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == sub.id)
        .order_by(WebhookDelivery.attempted_at.desc(), WebhookDelivery.id.desc()).limit(limit))
    return [(d, e) for d, e in rows]


def redeliver(sub: WebhookSubscription, msg_id: str) -> WebhookEvent:
    """Send an event again, under the same ``webhook-id`` (receivers that kept it may drop it)."""
    event = db.session.scalar(select(WebhookEvent).filter_by(subscription_id=sub.id, msg_id=msg_id))
    if event is None:
        raise NotFound(f"webhook subscription {sub.id} has no event '{msg_id}'")
    now = utcnow()
    event.state, event.next_attempt_at, event.last_error, event.lease_until = "pending", now, None, None
    event.retry_until = now + timedelta(hours=float(current_app.config["WEBHOOK_RETRY_HOURS"]))
    db.session.commit()
    kick(event.attendee_key)
    return event


# -- events into the outbox ---------------------------------------------------------------------------------


def attendee_key(attendee: Attendee) -> str:
    return f"{attendee.lab_id}/{attendee.external_id}"


# (wants, then): when an attempt changes the score of an attendee ``wants(attendee)`` accepts, ``then(attendee,
# change)`` runs in the attempt's transaction with score.changed's data (the LTI tool's grade passback).
_score_hooks: list[tuple[Callable[[Attendee], bool], Callable[[Attendee, dict], None]]] = []


def on_score_change(wants: Callable[[Attendee], bool], then: Callable[[Attendee, dict], None]) -> None:
    """Register a score hook (idempotent): see :data:`_score_hooks`."""
    if (wants, then) not in _score_hooks:
        _score_hooks.append((wants, then))


Audience = tuple[list[WebhookSubscription], list[Callable[[Attendee, dict], None]]]


def audience(attendee: Attendee) -> Audience:
    """Who hears of ``attendee``'s attempts: the webhook subscriptions and the score hooks that want them.
    Read before the attempt's transaction starts writing, to keep that transaction short."""
    return _subscribers(attendee), [then for wants, then in _score_hooks if wants(attendee)]


def on_attempt(attendee: Attendee, result: Any, data: dict, previous: str | None, summary: StepSummary,
               trigger: str, heard_by: Audience) -> int:
    """Add to the session (the caller commits, with the attempt) the events this attempt causes; returns
    how many. ``previous`` is the step's status before the attempt, ``summary`` the step's summary after it,
    ``heard_by`` the attendee's :func:`audience`."""
    subs, hooks = heard_by
    if not subs and not hooks:
        return 0
    base = {"lab": attendee.lab_id, "attendee": attendee.external_id,
            "class": attendee.cohort.name if attendee.cohort else None,
            "display_name": attendee.display_name}
    found: list[tuple[str, dict]] = []
    if summary.status != previous:
        found.append((STEP_STATUS_CHANGED, {**base, "step": result.step, "task": result.task,
                                            "previous_status": previous, "status": summary.status,
                                            "trigger": trigger, "result": data}))
    stuck_after = int(current_app.config["STUCK_AFTER_FAILS"])
    # The FAIL that made the run of fails reach the limit: an automatic check's FAIL lengthens no run
    # (services.validation._fold), so it never sends this either.
    if (trigger != "auto" and summary.status == "FAIL" and result.status.value == "FAIL"
            and summary.consecutive_fails == stuck_after):
        found.append((ATTENDEE_STUCK, {**base, "step": result.step, "task": result.task,
                                       "reason": f"{summary.consecutive_fails} FAILs in a row on Task "
                                                 f"{result.task}", "message": summary.message}))
    if summary.status == "PASS" and previous != "PASS" and _complete(attendee):
        found.append((ATTENDEE_COMPLETED, {**base, "completed_at": _iso(result.started_at)}))
    change = _score_change(attendee, result, previous, summary)
    if change is not None:
        found.append((SCORE_CHANGED, {**base, "step": result.step, "task": result.task, **change}))
        for then in hooks:
            then(attendee, found[-1][1])
    return add_events(attendee, subs, found)


def _score_change(attendee: Attendee, result: Any, previous: str | None, summary: StepSummary) -> dict | None:
    """The score before and after this attempt, when it changed (``services.progress.score``'s rule, from the
    summaries: a PASS, or a step that passed once when the lab keeps credit; out-of-date PASSes still count)."""
    from . import labs

    pack = labs.pack(attendee.lab_id)
    rows = {s.step_id: s for s in db.session.scalars(select(StepSummary).filter_by(attendee_id=attendee.id))}
    total = sum(spec.weight for spec in pack.steps)
    if not total:
        return None

    def credited(status: str | None, first_passed: datetime | None) -> bool:
        return status == "PASS" or (pack.keep_credit and first_passed is not None)

    after = before = 0.0
    for spec in pack.steps:
        row = rows.get(spec.id)
        now_credit = row is not None and credited(row.status, row.first_passed_at)
        if spec.id == summary.step_id:
            earlier = row.first_passed_at if row.first_passed_at and row.first_passed_at < result.started_at else None
            then_credit = credited(previous, earlier)
        else:
            then_credit = now_credit
        after += spec.weight * now_credit
        before += spec.weight * then_credit
    old, new = round(100 * before / total, 1), round(100 * after / total, 1)
    if old == new:
        return None
    mark = pack.pass_mark
    return {"previous_score": old, "score": new, "pass_mark": mark,
            "passes": None if mark is None else new >= mark}


def add_events(attendee: Attendee, subs: list[WebhookSubscription], found: list[tuple[str, dict]]) -> int:
    """Outbox rows (not committed) for each subscription wanting each event."""
    now = utcnow()
    until = now + timedelta(hours=float(current_app.config["WEBHOOK_RETRY_HOURS"]))
    count = 0
    for kind, data in found:
        for sub in subs:
            if kind not in sub.events:
                continue
            msg_id = "msg_" + secrets.token_urlsafe(18)
            payload = {"type": kind, "timestamp": _iso(now), "data": data}
            db.session.add(WebhookEvent(msg_id=msg_id, subscription_id=sub.id, attendee_key=attendee_key(attendee),
                                        type=kind, payload=payload, created_at=now, state="pending", tries=0,
                                        next_attempt_at=now, retry_until=until))
            count += 1
    return count


def _subscribers(attendee: Attendee) -> list[WebhookSubscription]:
    subs = list(db.session.scalars(select(WebhookSubscription).filter_by(enabled=True)))
    if not subs:
        return []  # most presses: the attendee's class is not even loaded
    cohort = attendee.cohort.name if attendee.cohort else None
    return [s for s in subs if (s.lab_id in (None, attendee.lab_id)) and (s.cohort is None or s.cohort == cohort)]


def _complete(attendee: Attendee) -> bool:
    from . import labs

    steps = {s.id for s in labs.pack(attendee.lab_id).steps}
    passed = set(db.session.scalars(select(StepSummary.step_id).filter_by(attendee_id=attendee.id, status="PASS")))
    return bool(steps) and steps <= passed


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- delivery -----------------------------------------------------------------------------------------------


def kick(key: str) -> None:
    """After a commit that added events for attendee ``key``: deliver them in the background now."""
    from . import jobs

    try:
        jobs.submit(deliver_for, key)
    except Exception:  # the sweep sends them anyway; the attempt that caused them is recorded
        log.exception("could not start the delivery of webhook events for %s", key)


def deliver_for(key: str) -> int:
    """Deliver the due events of attendee ``key``, to each subscription in order; returns how many were sent
    successfully. A background job (module-level, its argument a string, so it pickles for RQ)."""
    sub_ids = db.session.scalars(select(WebhookEvent.subscription_id).distinct()
                                 .filter_by(attendee_key=key, state="pending"))
    sent = 0
    for sub_id in list(sub_ids):
        sent += _drain(sub_id, key)
    return sent


def sweep(limit: int = 200) -> int:
    """Deliver what is due everywhere: retries whose time came, events no process sent (it crashed)."""
    now = utcnow()
    pairs = db.session.execute(
        select(WebhookEvent.subscription_id, WebhookEvent.attendee_key).distinct()
        .join(WebhookSubscription, WebhookSubscription.id == WebhookEvent.subscription_id)
        .where(WebhookEvent.state == "pending", WebhookEvent.next_attempt_at <= now,
               WebhookSubscription.enabled.is_(True),
               or_(WebhookEvent.lease_until.is_(None), WebhookEvent.lease_until < now))
        .limit(limit)).all()
    db.session.rollback()
    return sum(_drain(sub_id, key) for sub_id, key in pairs)


def _drain(sub_id: int, key: str) -> int:
    """Send the pending events of one subscription and attendee, oldest first, until one must wait."""
    sent = 0
    for _ in range(MAX_PER_DRAIN):
        db.session.rollback()  # a fresh look at the outbox each time
        event = db.session.scalar(select(WebhookEvent).filter_by(subscription_id=sub_id, attendee_key=key,
                                                                 state="pending").order_by(WebhookEvent.id).limit(1))
        if event is None:
            return sent
        sub = db.session.get(WebhookSubscription, sub_id)
        now = utcnow()
        if sub is None or not sub.enabled or event.next_attempt_at > now or not _claim(event.id, now):
            db.session.rollback()
            return sent
        db.session.refresh(event)
        ok = _send(sub, event)
        sent += ok
        if not ok and event.state == "pending":
            return sent  # later events of this attendee wait for this one
    return sent


def _claim(event_id: int, now: datetime) -> bool:
    """Hold the event for one send (so two processes never send it at once); commits."""
    lease = now + timedelta(seconds=2 * float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"]) + LEASE_EXTRA_SECONDS)
    done = db.session.execute(
        update(WebhookEvent).where(WebhookEvent.id == event_id, WebhookEvent.state == "pending",
                                   or_(WebhookEvent.lease_until.is_(None), WebhookEvent.lease_until < now))
        .values(lease_until=lease).execution_options(synchronize_session=False))
    db.session.commit()
    return done.rowcount == 1


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of Standard Webhooks: ``v1,`` and the base64 HMAC-SHA256 of
    ``id.timestamp.body`` keyed with the secret's bytes (the base64 after ``whsec_``)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def _send(sub: WebhookSubscription, event: WebhookEvent) -> bool:
    """One try; records it, updates the event and the subscription, commits. True when delivered."""
    import requests

    cfg = current_app.config
    body = json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    stamp = int(time.time())
    headers = {"webhook-id": event.msg_id, "webhook-timestamp": str(stamp),
               "webhook-signature": sign(secret_of(sub), event.msg_id, stamp, body),
               "content-type": "application/json", "user-agent": "labgrader-webhooks/1"}
    started = time.monotonic()
    code: int | None = None
    retry_after: float | None = None
    error: str | None = None
    retry = False
    try:
        address = check_target(sub.url, allow_private=bool(cfg["WEBHOOK_ALLOW_PRIVATE_TARGETS"]))
        with requests.Session() as session:
            session.trust_env = False  # no proxy from the environment: the address checked is the one used
            url = pin(session, sub.url, address)
            response = session.post(url, data=body, headers=headers, allow_redirects=False,
                                    timeout=float(cfg["WEBHOOK_TIMEOUT_SECONDS"]))
            code = response.status_code
            response.close()
        if 200 <= code < 300:
            pass
        elif code >= 500 or code in (408, 429):
            retry, error = True, f"HTTP {code}"
            retry_after = _retry_after(response.headers.get("Retry-After"))
        else:
            error = f"HTTP {code}: not retried (only 5xx, 408 and 429 are)"
    except UnsafeTarget as exc:
        error = f"refused to send: {exc}"
    except requests.Timeout:
        retry, error = True, f"no answer within {cfg['WEBHOOK_TIMEOUT_SECONDS']} seconds"
    except requests.RequestException as exc:
        retry, error = True, f"could not connect ({type(exc).__name__})"
    latency = int((time.monotonic() - started) * 1000)
    now = utcnow()
    ok = error is None
    db.session.add(WebhookDelivery(event_id=event.id, subscription_id=sub.id, attempted_at=now, ok=ok,
                                   status_code=code, latency_ms=latency, error=error))
    event.tries += 1
    event.lease_until = None
    event.last_error = error
    if ok:
        event.state, event.delivered_at = "delivered", now
        sub.consecutive_failures = 0
    else:
        sub.consecutive_failures += 1
        delay = _backoff(event.tries, retry_after)
        if retry and now + timedelta(seconds=delay) <= event.retry_until:
            event.next_attempt_at = now + timedelta(seconds=delay)
        else:
            event.state = "failed"
            if retry:
                event.last_error = f"given up after {event.tries} tries: {error}"
        limit = int(cfg["WEBHOOK_DISABLE_AFTER_FAILURES"])
        if limit and sub.consecutive_failures >= limit and sub.enabled:
            sub.enabled = False
            sub.disabled_reason = (f"disabled at {_iso(now)} after {sub.consecutive_failures} failed deliveries in "
                                   f"a row (the last: {error}); fix the receiver, then PATCH enabled=true")
            log.warning("webhook subscription %s disabled: %s", sub.id, sub.disabled_reason)
    db.session.commit()
    log.info("webhook %s %s to subscription %s: %s (%d ms)", event.msg_id, event.type, sub.id,
             "delivered" if ok else error, latency)
    return ok


def _backoff(tries: int, retry_after: float | None) -> float:
    cfg = current_app.config
    base, cap = float(cfg["WEBHOOK_RETRY_BASE_SECONDS"]), float(cfg["WEBHOOK_RETRY_MAX_SECONDS"])
    delay = min(cap, base * 2 ** (tries - 1)) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
    if retry_after is not None:
        delay = max(delay, min(cap, retry_after))
    return delay


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


# -- SSRF -----------------------------------------------------------------------------------------------------


def check_url(url: str) -> None:
    """The URL's shape (at registration): https (http only when private targets are allowed), a host, no
    credentials in it. Raises :class:`UnsafeTarget`."""
    allow = bool(current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"])
    if len(url) > 2000:
        raise UnsafeTarget("the URL is longer than 2000 characters")
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow and parts.scheme == "http"):
        raise UnsafeTarget("the URL must start with https://")
    if not parts.hostname:
        raise UnsafeTarget("the URL names no host")
    if parts.username or parts.password:
        raise UnsafeTarget("the URL must not carry a user name or password")
    if not allow:
        _check_addresses(parts.hostname, parts.port or 443, resolve=False)


def check_target(url: str, *, allow_private: bool) -> str:
    """Before each send: the host's addresses, resolved now, are all public (unless ``allow_private``);
    metadata endpoints are refused always. Returns the address to connect to (see :func:`pin`). Raises
    :class:`UnsafeTarget`."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise UnsafeTarget("the URL must start with https://")
    if not parts.hostname:
        raise UnsafeTarget("the URL names no host")
    return _check_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), resolve=True,
                            allow_private=allow_private)[0]


def _pinned_adapter(hostname: str):
    from requests.adapters import HTTPAdapter

    class Pinned(HTTPAdapter):
        """Connects wherever the URL says (the checked address), while TLS sends the host name (SNI) and
        verifies the certificate against it, as a request to the name would."""

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["server_hostname"] = hostname
            kwargs["assert_hostname"] = hostname
            super().init_poolmanager(*args, **kwargs)

    return Pinned()


def pin(session: Any, url: str, address: str) -> str:
    """``url`` rewritten to connect to ``address`` (the one :func:`check_target` passed), with the request's
    ``Host`` and, for https, TLS still naming the URL's host: a name that resolves elsewhere by the time of
    the connection (DNS rebinding) is never asked again. Mounts what it needs on the requests ``session``."""
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    pinned = parts._replace(netloc=netloc).geturl()
    session.headers["Host"] = parts.netloc
    if parts.scheme == "https":
        session.mount(f"https://{netloc}", _pinned_adapter(parts.hostname or ""))
    return pinned


def _check_addresses(host: str, port: int, *, resolve: bool, allow_private: bool = False) -> list[str]:
    """The host's addresses (resolved when ``resolve``), each checked; raises :class:`UnsafeTarget`."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        if not resolve:
            if host.lower() in ("localhost",) or host.lower().endswith(".localhost"):
                raise UnsafeTarget(f"'{host}' is a loopback name") from None
            return []  # a name: resolved, and checked, at send time
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise UnsafeTarget(f"'{host}' does not resolve ({exc})") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None)
        address = mapped or address
        if address in METADATA_ADDRESSES:
            raise UnsafeTarget(f"{address} is a cloud metadata address")
        if not allow_private and (not address.is_global or address.is_multicast):
            raise UnsafeTarget(f"'{host}' resolves to {address}, which is not a public address")
    return [str(a) for a in addresses]


# -- the sweeper ----------------------------------------------------------------------------------------------

_SWEEPER = "labgrader.webhook_sweeper"


def start_sweeper(app: Flask) -> threading.Thread | None:
    """Run :func:`sweep` every ``WEBHOOK_SWEEP_SECONDS`` in a daemon thread of this process (idempotent).
    Every web and worker process runs one: the claims keep them from sending an event twice at once."""
    entry = app.extensions.get(_SWEEPER)
    if entry is not None and entry[0].is_alive():  # (a forked child has the entry but not the thread)
        return entry[0]
    stop = threading.Event()
    interval = max(0.05, float(app.config["WEBHOOK_SWEEP_SECONDS"]))

    def loop() -> None:
        while not stop.wait(interval):
            with app.app_context():
                try:
                    sweep()
                except Exception:
                    log.exception("webhook sweep failed; trying again in %s s", interval)
                finally:
                    db.session.remove()

    thread = threading.Thread(target=loop, name="labgrader-webhooks", daemon=True)
    app.extensions[_SWEEPER] = (thread, stop)
    thread.start()
    return thread


def stop_sweeper(app: Flask, timeout: float = 5.0) -> None:
    entry = app.extensions.pop(_SWEEPER, None)
    if entry is not None:
        entry[1].set()
        entry[0].join(timeout)
