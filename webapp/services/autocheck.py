"""Automatic checks: while an attendee is active, their unfinished steps are validated in the background, so
the proctor grid and the webhook events follow the student's work without a press.

Turned on by the lab (lab.yaml ``auto_check``, :class:`labguide.packs.AutoCheckSettings`) or by the class
(``Cohort.auto_check``, set through the platform API), the class winning. An attendee is active from the
moment they open the guide or are validated (by anyone but these checks) until ``idle_after`` seconds
later. An active attendee with an unfinished step is checked every ``every`` seconds, or ``after_pending``
seconds after a check that found a step PENDING; a finished lab is not checked. Credentials that fail
(unusable, or rejected by Entra ID) stop the checks until the attendee record changes (the platform sends
new ones).

A check is :func:`webapp.services.validation.run_many` with trigger ``auto``: the proctor's "re-validate
all" path, one snapshot for every unfinished step. Auto attempts update what the grid shows but do not
count as the student's attempts (nor toward "stuck after N fails").

Budgets: each Azure call still goes through the validator's per-resource pacing; on top of it, the
checks of one class spend at most ``calls_per_minute`` Azure calls in any minute (the class setting, else
``AUTO_CHECK_CALLS_PER_MINUTE``). A check is admitted only when the class's calls of the last minute
(:class:`AutoCheckRun`, the ledger) plus what the attendee's previous check cost fit under the ceiling; the
ledger then holds the real count.

Scheduling (:func:`tick` decides who is due and submits their checks through :mod:`.jobs`), one tick per
deployment:

- With Redis: a chain of RQ jobs scheduled with RQ's own scheduler (``enqueue_in``; ``labgrader worker``
  runs it), owned through a redis-py lock used as a lease, so however many web instances try to start it,
  one chain ticks (:func:`ensure_chain`, :func:`chain_tick`).
- Without: the process holding an exclusive lock (:class:`Leadership`: a PostgreSQL advisory lock, or a
  file lock in the instance folder for SQLite) ticks, from its scheduler thread; when it ends, another
  process's thread takes the lock over.

Whatever ticks, a check claims its attendee in the database first (``running_until``), so a check is never
run twice at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from checks.outcome import Status
from labguide.packs import AutoCheckSettings, auto_check_settings

from ..extensions import db
from ..models import Attendee, AutoCheck, AutoCheckRun, Cohort, StepSummary, utcnow
from . import jobs, labs
from .errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

TRIGGER = "auto"
WINDOW = timedelta(minutes=1)  # the ceiling is calls per minute
FIRST_ESTIMATE = 20  # calls charged for an attendee's first check (a whole-lab validation makes about this many)
SEEN_EVERY = timedelta(seconds=60)  # opening the guide again within this refreshes nothing
CLASS_FIELDS = ("enabled", *AutoCheckSettings.FIELDS, "calls_per_minute")
LEASE_KEY = "labgrader:autocheck:lease"
TICKS_KEY = "labgrader:autocheck:ticks"  # chain id -> ticks run (operators and tests see which chain ticks)
PG_TICK_LOCK = 0x6C676163  # pg_advisory_lock's first key ("lgac"); the second is the schema's hash


@dataclass(frozen=True)
class Settings:
    """What applies to one attendee: the timings and their class's ceiling of Azure calls per minute."""

    timing: AutoCheckSettings
    calls_per_minute: int


# -- settings -----------------------------------------------------------------------------------------------


def clean_class_setting(value: dict[str, Any]) -> dict[str, Any]:
    """A class's ``auto_check`` as given through the API: ``enabled`` (true, false, or null: follow the lab),
    the timings in seconds and ``calls_per_minute``, each optional. Raises :class:`InvalidInput`."""
    unknown = [k for k in value if k not in CLASS_FIELDS]
    if unknown:
        raise InvalidInput(unknown[0], f"is not an auto_check setting ({', '.join(CLASS_FIELDS)})")
    enabled = value.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidInput("enabled", "must be true, false or null (follow the lab)")
    for key in AutoCheckSettings.FIELDS:  # lab.yaml's rule (labguide.packs.auto_check_settings), per field
        problems: list[tuple[int, str]] = []
        auto_check_settings({key: value[key]} if value.get(key) is not None else {}, problems)
        if problems:
            raise InvalidInput(key, f"must be a positive number of seconds, not {value[key]!r}")
    ceiling = value.get("calls_per_minute")
    if ceiling is not None and (isinstance(ceiling, bool) or not isinstance(ceiling, int) or ceiling < 1):
        raise InvalidInput("calls_per_minute", "must be a whole number of at least 1")
    return {k: value[k] for k in CLASS_FIELDS if value.get(k) is not None}


def set_class_setting(cohort: Cohort, value: dict[str, Any] | None) -> None:
    """Store (and commit) a class's setting; ``None`` or ``{}`` makes the class follow the lab again."""
    cohort.auto_check = clean_class_setting(value or {}) or None
    db.session.commit()


def settings_for(attendee: Attendee) -> Settings | None:
    """The automatic checks that apply to ``attendee`` (their class's setting over the lab's), or None: off."""
    return class_settings(attendee.lab_id, attendee.cohort)


def class_settings(lab_id: str, cohort: Cohort | None) -> Settings | None:
    """The automatic checks of lab ``lab_id``'s class ``cohort`` (None: no class), or None: off."""
    lab = labs.pack(lab_id).auto_check
    override = (cohort.auto_check if cohort else None) or {}
    enabled = override.get("enabled")
    if enabled is False or (enabled is None and lab is None):
        return None
    timing = replace(lab or AutoCheckSettings(),
                     **{k: float(override[k]) for k in AutoCheckSettings.FIELDS if override.get(k) is not None})
    ceiling = int(override.get("calls_per_minute") or current_app.config["AUTO_CHECK_CALLS_PER_MINUTE"])
    return Settings(timing, ceiling)


def scope_of(attendee: Attendee) -> str:
    """The budget an attendee's checks draw from: their class (attendees without one share their lab's)."""
    return f"{attendee.lab_id}/{attendee.cohort_id or ''}"


# -- activity -----------------------------------------------------------------------------------------------


def touch(attendee_id: int, at: datetime | None = None) -> None:
    """The attendee is active at ``at`` (added to the session; the caller commits)."""
    at = at or utcnow()
    # One UPDATE on every press but an attendee's first, no read of the row first (a row this session holds is
    # not refreshed: the callers commit, which expires it).
    moved = db.session.execute(
        update(AutoCheck).where(AutoCheck.attendee_id == attendee_id,
                                or_(AutoCheck.last_seen_at.is_(None), AutoCheck.last_seen_at < at))
        .values(last_seen_at=at).execution_options(synchronize_session=False)).rowcount
    if not moved and db.session.get(AutoCheck, attendee_id) is None:
        db.session.add(AutoCheck(attendee_id=attendee_id, last_seen_at=at, last_calls=0))


def seen(attendee: Attendee) -> None:
    """The attendee opened the guide: active now (written at most once a minute; commits)."""
    state = db.session.get(AutoCheck, attendee.id)
    now = utcnow()
    if state is not None and state.last_seen_at is not None and now - state.last_seen_at < SEEN_EVERY:
        return
    touch(attendee.id, now)
    try:
        db.session.commit()
    except IntegrityError:  # the same attendee's other tab inserted the row first: it is active either way
        db.session.rollback()


# -- the tick -----------------------------------------------------------------------------------------------


def unfinished(attendee: Attendee) -> list[str]:
    """Ids of the attendee's steps not passed now, in lab order."""
    passed = set(db.session.scalars(select(StepSummary.step_id).filter_by(attendee_id=attendee.id,
                                                                            status=Status.PASS.value)))
    return [s.id for s in labs.pack(attendee.lab_id).steps if s.id not in passed]


def spent(scope: str, now: datetime) -> int:
    """Azure calls the automatic checks of ``scope`` may have made in the minute before ``now``: every run
    still going (its estimate) and every run that ended within the minute (its count), since a run's calls
    fall between its start and its end (``at`` is its end once done). A run whose claim expired unfinished
    (its process died) stops counting."""
    lease = timedelta(seconds=jobs.JOB_TIMEOUT_SECONDS)
    going = and_(AutoCheckRun.done.is_(False), AutoCheckRun.at > now - lease)
    return int(db.session.scalar(select(func.coalesce(func.sum(AutoCheckRun.calls), 0))
                                 .where(AutoCheckRun.scope == scope,
                                        or_(going, AutoCheckRun.at > now - WINDOW))) or 0)


@dataclass
class TickReport:
    started: int = 0  # checks submitted
    deferred: int = 0  # due, but their class's ceiling was reached: they wait for a later tick
    skipped_credentials: int = 0


def tick() -> TickReport:
    """Submit the checks that are due (one deployment runs this at a time; see the module's docstring)."""
    now = utcnow()
    report = TickReport()
    # Runs a crashed worker never finished stop counting once their claim has surely expired.
    db.session.execute(delete(AutoCheckRun).where(
        AutoCheckRun.at < now - max(10 * WINDOW, timedelta(seconds=2 * jobs.JOB_TIMEOUT_SECONDS))))
    db.session.commit()
    due = db.session.execute(
        select(AutoCheck, Attendee).join(Attendee, Attendee.id == AutoCheck.attendee_id)
        .where(AutoCheck.last_seen_at >= now - _longest_idle(),  # attendees idle everywhere are not even loaded
               or_(AutoCheck.next_at.is_(None), AutoCheck.next_at <= now),
               or_(AutoCheck.running_until.is_(None), AutoCheck.running_until < now))
        .order_by(AutoCheck.next_at.is_not(None), AutoCheck.next_at)).all()
    for state, who in due:
        attendee_id = who.id
        try:
            _consider(state, who, now, report)
        except Exception:  # one attendee's trouble (their lab pack removed, ...) never stops the others'
            db.session.rollback()
            log.exception("automatic checks: could not consider attendee %s", attendee_id)
    if report.deferred:
        log.info("automatic checks: %d due checks wait for their class's ceiling of Azure calls per minute",
                 report.deferred)
    return report


def _consider(state: AutoCheck, who: Attendee, now: datetime, report: TickReport) -> None:
    """Start the check of one attendee the tick found due, when it applies and fits the class's ceiling."""
    settings = settings_for(who)
    if settings is None or now - state.last_seen_at > timedelta(seconds=settings.timing.idle_after):
        return  # off, or the attendee is idle: checked again once they come back
    if state.blocked_on is not None and state.blocked_on == who.updated_at:
        report.skipped_credentials += 1
        return
    if not unfinished(who):
        state.next_at = now + timedelta(seconds=settings.timing.every)  # done: looked at again rarely
        db.session.commit()
        return
    scope = scope_of(who)
    estimate = min(state.last_calls or FIRST_ESTIMATE, settings.calls_per_minute)
    if spent(scope, now) + estimate > settings.calls_per_minute:
        report.deferred += 1
        return
    lease = now + timedelta(seconds=jobs.JOB_TIMEOUT_SECONDS)
    claimed = db.session.execute(
        update(AutoCheck).where(AutoCheck.attendee_id == who.id,
                                or_(AutoCheck.running_until.is_(None), AutoCheck.running_until < now))
        .values(running_until=lease).execution_options(synchronize_session=False)).rowcount == 1
    if not claimed:
        db.session.rollback()
        return
    run = AutoCheckRun(scope=scope, attendee_id=who.id, at=now, calls=estimate, done=False)
    db.session.add(run)
    db.session.commit()
    try:
        jobs.submit(check, who.id, run.id)
    except Exception:  # the claim expires and a later tick tries again
        log.exception("could not submit the automatic check of attendee %s", who.id)
        return
    report.started += 1


def _longest_idle() -> timedelta:
    """The longest ``idle_after`` any lab or class sets (the default's at least)."""
    seconds = [AutoCheckSettings().idle_after]
    seconds += [p.auto_check.idle_after for p in labs.packs() if p.auto_check is not None]
    seconds += [float(c["idle_after"]) for c in db.session.scalars(select(Cohort.auto_check)
                                                                   .where(Cohort.auto_check.is_not(None)))
                if c and c.get("idle_after") is not None]
    return timedelta(seconds=max(seconds))


def check(attendee_id: int, run_id: int) -> int:
    """Validate the attendee's unfinished steps with trigger ``auto`` (a background job); returns the Azure
    calls made. Records the cost in the ledger and schedules the next check."""
    from validator.azure.budget import CallCounter

    from . import validation

    who = db.session.get(Attendee, attendee_id)
    state = db.session.get(AutoCheck, attendee_id)
    if who is None or state is None:
        return 0
    counter = CallCounter()
    results = []
    try:
        settings = settings_for(who)
        steps = unfinished(who)
        if settings is not None and steps:
            results = validation.run_many(who, steps, trigger=TRIGGER, counter=counter)
    finally:
        db.session.rollback()
        _finish(attendee_id, run_id, counter.total, results)
    return counter.total


def _finish(attendee_id: int, run_id: int, calls: int, results: list) -> None:
    now = utcnow()
    run = db.session.get(AutoCheckRun, run_id)
    if run is not None:
        run.calls, run.done, run.at = calls, True, now
    state = db.session.get(AutoCheck, attendee_id)
    who = db.session.get(Attendee, attendee_id)
    if state is None or who is None:
        db.session.commit()
        return
    try:
        settings = settings_for(who)
    except NotFound:  # the lab pack went away meanwhile
        settings = None
    timing = settings.timing if settings else AutoCheckSettings()
    pending = any(r.status is Status.PENDING for r in results)
    state.next_at = now + timedelta(seconds=timing.after_pending if pending else timing.every)
    state.running_until = None
    state.last_checked_at = now
    if results:
        state.last_calls = calls
    failed = credentials_problem(results)
    if failed:
        state.blocked_on, state.blocked_reason = who.updated_at, failed
        log.warning("automatic checks of %s/%s stop until their credentials change: %s", who.lab_id,
                    who.external_id, failed)
    elif results:
        state.blocked_on = state.blocked_reason = None
    db.session.commit()


def credentials_problem(results: list) -> str | None:
    """Why the attendee's credentials fail, if a result says so: unusable as stored, or rejected by Azure."""
    from . import validation

    for result in results:
        if validation.is_credentials_error(result):
            return "labgrader cannot use the stored credentials"
        for outcome in result.checks:
            if outcome.status is Status.ERROR and (outcome.evidence or {}).get("kind") == "credentials":
                return "Azure rejected the credentials"
    return None


# -- scheduling ---------------------------------------------------------------------------------------------


def ensure_chain() -> bool:
    """With Redis: start the tick chain unless one runs (its lease is held); True when this call started it."""
    from redis.exceptions import RedisError

    from .cache import redis_client

    client = redis_client()
    chain = uuid.uuid4().hex
    lease = client.lock(LEASE_KEY, timeout=_lease_seconds(), thread_local=False)
    try:
        if not lease.acquire(blocking=False, token=chain):
            return False
        jobs.queue().enqueue_in(timedelta(seconds=_tick_seconds()), chain_tick, chain)
    except RedisError as exc:
        log.warning("automatic checks: Redis is unreachable (%s); the chain starts when it is back", exc)
        return False
    log.info("automatic checks: started tick chain %s", chain)
    return True


def chain_tick(chain: str) -> str:
    """One tick of chain ``chain`` (an RQ job), then the next one scheduled; a chain that lost its lease
    (another took over after it stalled) ends here."""
    from redis.exceptions import LockError

    from .cache import redis_client

    client = redis_client()
    lease = client.lock(LEASE_KEY, timeout=_lease_seconds(), thread_local=False)
    lease.local.token = chain.encode()
    try:
        lease.reacquire()  # renews the lease only if this chain still holds it
    except LockError:
        return "superseded"
    try:
        client.hincrby(TICKS_KEY, chain, 1)
        tick()
    finally:
        jobs.queue().enqueue_in(timedelta(seconds=_tick_seconds()), chain_tick, chain)
    return "ticked"


def ticks_by_chain() -> dict[str, int]:
    """With Redis: how many ticks each chain ran (normally one chain: one scheduler per deployment)."""
    from .cache import redis_client

    return {k.decode(): int(v) for k, v in redis_client().hgetall(TICKS_KEY).items()}


def _tick_seconds() -> float:
    return max(0.05, float(current_app.config["AUTO_CHECK_TICK_SECONDS"]))


def _lease_seconds() -> float:
    # Long enough that a busy worker's late tick keeps it; short enough that a dead chain is replaced soon.
    return max(60.0, 6 * _tick_seconds())


class Leadership:
    """Without Redis: the one process of the deployment that ticks is the one holding an exclusive lock, for
    as long as it lives (the lock goes with it, and another process takes over): a PostgreSQL advisory
    lock on a connection of its own, per schema, or an flock on ``<instance>/autocheck.lock`` for SQLite."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._conn: Any = None
        self._file: Any = None

    def held(self) -> bool:
        """Whether this process leads (taking the lock if it is free); call in an app context."""
        if db.engine.dialect.name == "postgresql":
            return self._held_pg()
        return self._held_file()

    def _held_pg(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql("SELECT 1")  # the session, and so its lock, is still there
                return True
            except Exception:  # noqa: BLE001 - the connection broke: its lock is gone too
                self.release()
        conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({PG_TICK_LOCK}, hashtext(current_schema()))").scalar()
        if got:
            self._conn = conn
        else:
            conn.close()
        return bool(got)

    def _held_file(self) -> bool:
        if self._file is not None:
            return True
        import fcntl

        folder = Path(self.app.instance_path)
        folder.mkdir(parents=True, exist_ok=True)
        fh = (folder / "autocheck.lock").open("a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self._file = fh
        return True

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to end
                # Closed, not returned to the pool, where the session and its lock would live on.
                self._conn.invalidate()
                self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()  # closing the file releases its flock
            self._file = None


_SCHEDULER = "labgrader.autocheck_scheduler"


def start_scheduler(app: Flask) -> threading.Thread | None:
    """This process's part in scheduling (idempotent): every ``AUTO_CHECK_TICK_SECONDS``, with Redis make
    sure the tick chain runs, without tick when no other process does."""
    entry = app.extensions.get(_SCHEDULER)
    if entry is not None and entry[0].is_alive():  # (a forked child has the entry but not the thread)
        return entry[0]
    stop = threading.Event()
    interval = max(0.05, float(app.config["AUTO_CHECK_TICK_SECONDS"]))
    leader = Leadership(app)
    stats = {"ticks": 0}

    def loop() -> None:
        while not stop.wait(interval):
            with app.app_context():
                try:
                    if jobs.uses_queue(app):
                        ensure_chain()
                    elif leader.held():
                        tick()
                        stats["ticks"] += 1
                except Exception:
                    log.exception("automatic checks: scheduling failed; trying again in %s s", interval)
                finally:
                    db.session.remove()
        leader.release()

    thread = threading.Thread(target=loop, name="labgrader-autocheck", daemon=True)
    app.extensions[_SCHEDULER] = (thread, stop, stats)
    thread.start()
    return thread


def local_ticks(app: Flask) -> int:
    """Without Redis: the ticks this process's scheduler ran (0 while another process leads)."""
    entry = app.extensions.get(_SCHEDULER)
    return entry[2]["ticks"] if entry else 0


def stop_scheduler(app: Flask, timeout: float = 5.0) -> None:
    entry = app.extensions.pop(_SCHEDULER, None)
    if entry is not None:
        entry[1].set()
        entry[0].join(timeout)
