"""The service layer on both backends: attendees and their encrypted secrets, validation against azuresim,
history and progress, launch links, API keys, proctors and background jobs."""

from __future__ import annotations

import dataclasses
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

import validator
from azuresim.student import Student
from checks.outcome import Outcome, Status
from webapp.extensions import db
from webapp.models import ApiKey, Attempt, Attendee, Proctor, StepSummary
from webapp.services import apikeys, attempts, attendees, jobs, launch, proctors, progress, validation
from webapp.services.errors import ExpiredLink, InvalidInput, InvalidLink, NotFound

SUB = "00000000-0000-0000-0000-000000000001"  # a well-formed subscription id

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
STEP2 = "0b268237-4be0-4453-a6ac-5603f697a1a9"
PASSWORD = "Sup3r-Secret-Lab-Passw0rd"


def _raw_rows(table: str) -> str:
    """Every column of every row of ``table`` as the database holds it, as one string."""
    rows = db.session.execute(sa.text(f"SELECT * FROM {table}")).all()
    return " ".join(repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)) for row in rows)


def _split(creds: dict) -> tuple[dict, dict]:
    azure = {k: v for k, v in creds.items() if k != "injects"}
    return azure, dict(creds.get("injects") or {})


@pytest.fixture
def student_row(app, lab_id, attendee):
    azure, injects = _split(attendee)
    return attendees.upsert(lab_id, "student-1", cohort="Monday", display_name="Ada Lovelace",
                            injects={**injects, "AzureAdUserPassword": PASSWORD}, azure=azure)


# -- attendees ---------------------------------------------------------------------------------------------


def test_upsert_and_credentials_round_trip(student_row, attendee):
    creds = attendees.credentials(student_row)
    for key in ("subscription_id", "resource_group", "tenant_id", "client_id", "client_secret", "authority_host"):
        assert creds[key] == attendee[key]
    assert creds["injects"]["AzureAdUserPassword"] == PASSWORD
    assert creds["injects"]["DeploymentID"] == attendee["injects"]["DeploymentID"]
    assert student_row.cohort.name == "Monday" and student_row.display_name == "Ada Lovelace"


def test_secrets_are_encrypted_at_rest(student_row, attendee):
    raw = _raw_rows("attendees")
    assert attendee["client_secret"] not in raw
    assert PASSWORD not in raw
    assert attendee["subscription_id"] in raw  # the non-secret fields are stored in the clear
    assert "client_secret" not in json.dumps(student_row.azure)
    assert "AzureAdUserPassword" not in student_row.injects


def test_secrets_need_the_key(student_row, app):
    from webapp import crypto

    with pytest.raises(crypto.DecryptError, match="cannot be decrypted"):
        crypto.decrypt_json(student_row.secret_blob, keys=crypto.Fernet.generate_key().decode())


def test_update_keeps_secrets_it_omits(student_row, lab_id, attendee):
    updated = attendees.upsert(lab_id, "student-1", display_name="Ada L.", injects={"Region": "westus"})
    assert updated.id == student_row.id
    creds = attendees.credentials(updated)
    assert creds["client_secret"] == attendee["client_secret"]
    assert creds["injects"]["AzureAdUserPassword"] == PASSWORD
    assert creds["injects"]["Region"] == "westus"
    assert updated.cohort.name == "Monday"  # not given: kept
    removed = attendees.upsert(lab_id, "student-1", injects={"Region": None}, cohort="")
    assert "Region" not in removed.injects and removed.cohort is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"external_id": "has space"}, "external_id"),
        ({"azure": {"resource_group": "rg"}}, "azure.subscription_id"),
        ({"azure": {"subscription_id": SUB, "resource_group": "rg", "password": "x"}}, "azure.password"),
        ({"azure": {"subscription_id": SUB, "resource_group": "rg", "client_id": "c"}}, "azure.tenant_id"),
        ({"azure": {"subscription_id": SUB, "resource_group": "rg"}, "injects": {"Region": ["eastus"]}},
         "injects.Region"),
        ({"azure": {"subscription_id": SUB, "resource_group": "rg"}, "injects": "Region=eastus"}, "injects"),
        ({"azure": {"subscription_id": SUB, "resource_group": "rg"}, "cohort": 7}, "cohort"),
    ],
)
def test_upsert_rejects_bad_input_naming_the_field(app, lab_id, kwargs, field):
    kwargs = {"external_id": "x1", **kwargs}
    with pytest.raises(InvalidInput) as err:
        attendees.upsert(lab_id, kwargs.pop("external_id"), **kwargs)
    assert err.value.field == field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 0


def test_unknown_lab_is_not_found(app):
    with pytest.raises(NotFound, match="no lab pack 'no-such-lab'"):
        attendees.upsert("no-such-lab", "x1", azure={"subscription_id": SUB, "resource_group": "rg"})


def test_injects_for_render_masks_secrets_unless_revealed(student_row, attendee):
    shown = attendees.injects_for_render(student_row)
    assert shown["AzureAdUserPassword"] == ""
    assert PASSWORD not in json.dumps(shown)
    assert shown["ResourceGroup"] == attendee["resource_group"]
    assert shown["DeploymentID"] == attendee["injects"]["DeploymentID"]
    assert attendees.injects_for_render(student_row, reveal=True)["AzureAdUserPassword"] == PASSWORD


# -- validation --------------------------------------------------------------------------------------------


def test_run_records_attempt_and_summary(student_row):
    result = validation.run(student_row, "1", trigger="student", triggered_by="student-1")
    assert result.status is Status.FAIL and result.step == STEP1
    attempt = db.session.scalars(sa.select(Attempt)).one()
    assert (attempt.status, attempt.trigger, attempt.triggered_by, attempt.task) == ("FAIL", "student", "student-1",
                                                                                      "1")
    assert attempt.azure_calls == result.azure_calls > 0
    assert validator.StepResult.from_json(attempt.result).message == result.message
    summary = db.session.get(StepSummary, (student_row.id, STEP1))
    assert (summary.status, summary.attempts, summary.fails, summary.consecutive_fails) == ("FAIL", 1, 1, 1)
    assert summary.failing_checks and all(set(c) == {"check_id", "message"} for c in summary.failing_checks)
    assert summary.passed_at is None


def test_no_database_connection_waits_with_azure(student_row, monkeypatch):
    """A validation can take seconds against Azure: meanwhile the press holds no pooled database connection (a
    server runs more threads than its pool has connections), and what it read stays loaded."""
    real, held = validation.validator.validate, []

    def validate(*args, **kwargs):
        held.append(db.engine.pool.checkedout())
        return real(*args, **kwargs)

    monkeypatch.setattr(validation.validator, "validate", validate)
    db.session.get(Attendee, student_row.id)  # the press has read its attendee, as the views do
    result = validation.run(student_row, STEP1, trigger="student")
    assert held == [0]
    assert db.session.get(StepSummary, (student_row.id, STEP1)).status == result.status.value


def test_run_then_pass_clears_the_failure(student_row, attendee):
    validation.run(student_row, STEP1, trigger="student")
    Student(attendee).do("1")
    result = validation.run(student_row, STEP1, trigger="proctor", triggered_by="proctor@example.com")
    assert result.status is Status.PASS, result.message
    summary = db.session.get(StepSummary, (student_row.id, STEP1))
    assert (summary.status, summary.attempts, summary.fails, summary.consecutive_fails) == ("PASS", 2, 1, 0)
    assert summary.failing_checks == [] and summary.passed_at is not None
    assert [a.status for a in attempts.history(student_row)] == ["PASS", "FAIL"]


def test_no_secret_is_stored_or_returned(app, lab_id, attendee):
    azure, injects = _split(attendee)
    # A secret that also appears in what the grader observes (the resource group name) must be masked.
    row = attendees.upsert(lab_id, "leaky", azure=azure,
                           injects={**injects, "AzureAdUserPassword": attendee["resource_group"]})
    result = validation.run(row, STEP1, trigger="api", triggered_by="platform")
    stored = _raw_rows("attempts") + _raw_rows("step_summaries")
    assert attendee["resource_group"] not in stored
    assert attendee["client_secret"] not in stored
    assert "***" in stored
    assert attendee["resource_group"] not in json.dumps(result.to_json())


def test_grader_error_does_not_replace_a_verdict(student_row, attendee, sim, app):
    Student(attendee).do("1")
    validation.run(student_row, STEP1, trigger="student")
    app.config["VALIDATE_BUDGET_SECONDS"] = 2.0
    sim.faults.add({"operation": "Accounts_ListByResourceGroup", "status": 503})
    result = validation.run(student_row, STEP1, trigger="student")
    assert result.status is Status.ERROR
    summary = db.session.get(StepSummary, (student_row.id, STEP1))
    assert (summary.status, summary.last_status, summary.attempts) == ("PASS", "ERROR", 2)


def test_unknown_step_and_trigger(student_row):
    with pytest.raises(validator.UnknownStep):
        validation.run(student_row, "no-such-step", trigger="student")
    with pytest.raises(InvalidInput, match="trigger"):
        validation.run(student_row, STEP1, trigger="cron")
    assert attempts.history(student_row) == []


# -- progress ----------------------------------------------------------------------------------------------


def _result(step: str, task: str, status: Status, failing: tuple[str, ...] = (), at: datetime | None = None):
    checks = tuple(Outcome(c, Status.FAIL, f"{c} is wrong.", "Fix it.") for c in failing)
    return validator.StepResult(lab="spot-the-flaw", step=step, task=task, title="t", status=status,
                                message=f"{status.value} on {task}", hint=None, checks=checks,
                                started_at=at or datetime.now(UTC), duration_ms=5, azure_calls=1)


def _record(who: Attendee, result: validator.StepResult) -> None:
    validation.record(who, result, result.to_json(), trigger="sweep", triggered_by=None)


def _plain(app, lab_id, external_id: str, cohort: str = "Monday") -> Attendee:
    return attendees.upsert(lab_id, external_id, cohort=cohort,
                            azure={"subscription_id": str(uuid.uuid4()), "resource_group": "rg"})


def test_failures_that_follow_from_another_are_not_reasons(app, lab_id):
    """'No project, so its domain cannot be checked' is a consequence, not a cause the proctor should count."""
    who = _plain(app, lab_id, "cascade")
    result = _result(STEP2, "2", Status.FAIL, ("project_exists",))
    consequence = Outcome("project_domain_compact", Status.FAIL, "No project, so its domain cannot be checked.",
                          "Create the project.", follows_from="project_exists")
    result = dataclasses.replace(result, checks=(*result.checks, consequence))
    _record(who, result)
    summary = db.session.get(StepSummary, (who.id, STEP2))
    assert [c["check_id"] for c in summary.failing_checks] == ["project_exists"]


def test_progress_attendee(app, lab_id):
    who = _plain(app, lab_id, "p1")
    _record(who, _result(STEP1, "1", Status.PASS))
    _record(who, _result(STEP2, "2", Status.FAIL, ("project_exists",)))
    mine = progress.attendee(who)
    assert (mine.done, mine.total) == (1, len(mine.steps)) and mine.total > 2
    first, second, third = mine.steps[:3]
    assert (first.status, first.seconds_on_step) == ("PASS", None)
    assert (second.status, second.attempts, second.message) == ("FAIL", 1, "FAIL on 2")
    assert second.seconds_on_step is not None and second.seconds_on_step >= 0
    assert third.status is None
    assert json.loads(json.dumps(mine.to_json()))["steps"][0]["step_id"] == STEP1


def test_progress_cohort_aggregates(app, lab_id):
    app.config.update(STUCK_AFTER_FAILS=3, STUCK_AFTER_MINUTES=20)
    a, b, c, d = (_plain(app, lab_id, x) for x in ("a", "b", "c", "d"))
    other = _plain(app, lab_id, "e", cohort="Tuesday")
    for who in (a, b, c):
        _record(who, _result(STEP1, "1", Status.PASS))
    _record(a, _result(STEP2, "2", Status.PASS))
    for _ in range(3):  # b: three FAILs in a row on task 2
        _record(b, _result(STEP2, "2", Status.FAIL, ("project_domain_compact", "project_exists")))
    long_ago = datetime.now(UTC) - timedelta(minutes=45)  # c: one FAIL, 45 minutes ago
    _record(c, _result(STEP2, "2", Status.FAIL, ("project_domain_compact",), at=long_ago))
    _record(d, _result(STEP1, "1", Status.PENDING))
    _record(other, _result(STEP1, "1", Status.FAIL, ("account_training_exists",)))

    grid = progress.cohort(lab_id, "Monday")
    assert sorted(r.external_id for r in grid.rows) == ["a", "b", "c", "d"]
    step1, step2 = grid.steps[0], grid.steps[1]
    assert step1.counts["PASS"] == 3 and step1.counts["PENDING"] == 1 and step1.counts["FAIL"] == 0
    assert step2.counts["FAIL"] == 2 and step2.counts["NOT_STARTED"] == 1
    assert [(f.check_id, f.count) for f in step2.failures] == [("project_domain_compact", 2), ("project_exists", 1)]
    assert step2.failures[0].example == "project_domain_compact is wrong."
    assert grid.funnel[:3] == [("1", 3), ("2", 1), ("3.1", 0)]
    stuck = {s.external_id: s for s in grid.stuck}
    assert set(stuck) == {"b", "c"}
    assert stuck["b"].reason == "3 failed attempts in a row" and stuck["b"].task == "2"
    assert "minutes on this step" in stuck["c"].reason
    whole = progress.cohort(lab_id)
    assert len(whole.rows) == 5 and whole.steps[0].counts["FAIL"] == 1
    json.dumps(grid.to_json())  # the API serves it as is


def test_an_overtaken_result_only_counts(app, lab_id):
    who = _plain(app, lab_id, "slow")
    now = datetime.now(UTC)
    _record(who, _result(STEP1, "1", Status.PASS, at=now))
    # A validation started earlier finishes later: it counts, but the newer verdict stays on show.
    _record(who, _result(STEP1, "1", Status.FAIL, ("account_training_exists",), at=now - timedelta(seconds=30)))
    summary = db.session.get(StepSummary, (who.id, STEP1))
    assert (summary.status, summary.last_status, summary.message) == ("PASS", "PASS", "PASS on 1")
    assert (summary.attempts, summary.fails, summary.consecutive_fails, summary.failing_checks) == (2, 1, 0, [])
    assert summary.passed_at is not None and summary.last_attempt_at == now
    assert summary.first_attempt_at == now - timedelta(seconds=30)
    assert progress.attendee(who).done == 1


def test_a_fail_after_a_pass_unpasses_the_step(app, lab_id):
    app.config.update(STUCK_AFTER_FAILS=2, STUCK_AFTER_MINUTES=20)
    who = _plain(app, lab_id, "broke-it")
    long_ago = datetime.now(UTC) - timedelta(minutes=45)
    _record(who, _result(STEP1, "1", Status.PASS, at=long_ago))
    assert progress.attendee(who).steps[0].seconds_on_step is None
    _record(who, _result(STEP1, "1", Status.FAIL, ("account_training_exists",)))
    summary = db.session.get(StepSummary, (who.id, STEP1))
    assert (summary.status, summary.passed_at, summary.consecutive_fails) == ("FAIL", None, 1)
    mine = progress.attendee(who)
    assert mine.done == 0 and mine.steps[0].seconds_on_step >= 45 * 60  # on the step since its first attempt
    (stuck,) = progress.cohort(lab_id, "Monday").stuck
    assert stuck.external_id == "broke-it" and "minutes on this step" in stuck.reason
    _record(who, _result(STEP1, "1", Status.PASS))
    assert db.session.get(StepSummary, (who.id, STEP1)).passed_at is not None
    assert progress.cohort(lab_id, "Monday").stuck == []


def test_credentials_that_cannot_be_read_are_a_recorded_error(app, student_row):
    from cryptography.fernet import Fernet

    app.config["ENCRYPTION_KEY"] = Fernet.generate_key().decode()
    result = validation.run(student_row, STEP1, trigger="api", triggered_by="platform")
    assert result.status is Status.ERROR and validation.is_credentials_error(result)
    assert result.message.startswith("labgrader cannot use the Azure credentials stored for this lab")
    assert result.hint.startswith("This is not a problem with your work")
    assert result.checks[0].evidence["problem"].startswith("stored attendee secrets cannot be decrypted")
    (attempt,) = attempts.history(student_row)
    assert (attempt.status, attempt.trigger, attempt.azure_calls) == ("ERROR", "api", 0)
    summary = db.session.get(StepSummary, (student_row.id, STEP1))
    assert (summary.status, summary.attempts, summary.fails) == ("ERROR", 1, 0)


def test_credentials_the_validator_refuses_are_a_recorded_error(app, student_row):
    # Stored before labgrader checked subscription ids (or edited in the database): unusable now.
    student_row.azure = {**student_row.azure, "subscription_id": "not-a-subscription-id"}
    db.session.commit()
    result = validation.run(student_row, "1", trigger="student")
    assert result.status is Status.ERROR and result.step == STEP1 and validation.is_credentials_error(result)
    assert "subscription_id" in result.checks[0].evidence["problem"]
    assert [a.status for a in attempts.history(student_row)] == ["ERROR"]


# -- launch links ------------------------------------------------------------------------------------------


def test_launch_link_round_trip(student_row, app):
    app.config["BASE_URL"] = "https://labs.example.com/"
    url = launch.make_link(student_row)
    assert url.startswith("https://labs.example.com/launch/")
    assert launch.verify(url.rsplit("/", 1)[1]).id == student_row.id


def test_launch_link_expiry_tamper_revocation(student_row, app):
    token = launch.make_token(student_row)
    with pytest.raises(ExpiredLink, match="expired"):
        launch.verify(token, max_age=-1)
    with pytest.raises(InvalidLink):
        launch.verify(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(InvalidLink):
        launch.verify("not-a-token")
    launch.revoke(student_row)
    with pytest.raises(InvalidLink, match="replaced by a newer one"):
        launch.verify(token)
    assert launch.verify(launch.make_token(student_row)).id == student_row.id


def test_launch_link_is_bound_to_the_secret_key(student_row, app):
    token = launch.make_token(student_row)
    app.config["SECRET_KEY"] = "another-secret-key-entirely-0123456789"
    with pytest.raises(InvalidLink):
        launch.verify(token)


# -- API keys ----------------------------------------------------------------------------------------------


def test_api_key_create_verify_revoke(app):
    key, plaintext = apikeys.create("platform")
    assert plaintext.startswith(f"lg_{key.prefix}_") and len(plaintext) > 50
    secret = plaintext.removeprefix(f"lg_{key.prefix}_")  # the random part may hold '_' itself: not rsplit
    raw = _raw_rows("api_keys")
    assert plaintext not in raw and len(secret) == 43 and secret not in raw
    assert apikeys.verify(plaintext).id == key.id
    assert db.session.get(ApiKey, key.id).last_used_at is not None
    assert apikeys.verify(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert apikeys.verify("") is None and apikeys.verify(None) is None
    apikeys.revoke("platform")
    assert apikeys.verify(plaintext) is None
    other, other_plain = apikeys.create("second")
    apikeys.revoke(str(other.id))
    assert apikeys.verify(other_plain) is None
    assert [(k.name, k.active) for k in apikeys.list_keys()] == [("platform", False), ("second", False)]


@pytest.mark.parametrize("random_part", ["-" + "x_" * 21, "_" * 43, "-" * 43])
def test_api_keys_whose_random_part_begins_or_ends_with_a_dash_or_underscore_work(app, monkeypatch, random_part):
    """token_urlsafe's alphabet holds '-' and '_': a key may begin or end with either (about one in 16 does)."""
    fixed = SimpleNamespace(token_hex=secrets.token_hex, token_urlsafe=lambda n: random_part)
    monkeypatch.setattr(apikeys, "secrets", fixed)
    key, plaintext = apikeys.create("platform")
    assert plaintext == f"lg_{key.prefix}_{random_part}" and random_part not in _raw_rows("api_keys")
    assert apikeys.verify(plaintext).id == key.id
    assert apikeys.verify(plaintext[:-1] + "A") is None

def test_api_key_names(app):
    apikeys.create("platform")
    with pytest.raises(InvalidInput, match="already exists"):
        apikeys.create("platform")
    with pytest.raises(InvalidInput):
        apikeys.create("bad name!")
    with pytest.raises(NotFound):
        apikeys.revoke("nobody")


# -- proctors ----------------------------------------------------------------------------------------------


def test_proctor_authentication(app):
    p = proctors.add("Grace@Example.com", "correct horse battery")
    assert p.email == "grace@example.com"
    assert "correct horse battery" not in _raw_rows("proctors")
    assert proctors.authenticate("grace@example.com", "correct horse battery").id == p.id
    assert proctors.authenticate("GRACE@example.com ", "correct horse battery").id == p.id
    assert proctors.authenticate("grace@example.com", "wrong horse battery") is None
    assert proctors.authenticate("nobody@example.com", "correct horse battery") is None
    with pytest.raises(InvalidInput, match="already exists"):
        proctors.add("grace@example.com", "another long password")
    with pytest.raises(InvalidInput) as err:
        proctors.add("alan@example.com", "short")
    assert err.value.field == "password"
    with pytest.raises(InvalidInput):
        proctors.add("not-an-email", "long enough password")


def test_proctor_sees_granted_classes_only(app, lab_id):
    monday, tuesday = _plain(app, lab_id, "m1"), _plain(app, lab_id, "t1", cohort="Tuesday")
    grace = proctors.add("grace@example.com", "correct horse battery")
    boss = proctors.add("boss@example.com", "correct horse battery", is_admin=True)
    proctors.grant("grace@example.com", lab_id, "Monday")
    proctors.grant("grace@example.com", lab_id, "Monday")  # idempotent
    assert [c.name for c in proctors.cohorts_for(grace)] == ["Monday"]
    assert [c.name for c in proctors.cohorts_for(boss)] == ["Monday", "Tuesday"]
    assert proctors.can_see(grace, monday) and not proctors.can_see(grace, tuesday)
    assert proctors.can_see(boss, tuesday)
    proctors.grant("grace@example.com", lab_id, "Wednesday")  # a new class is created
    assert [c.name for c in proctors.cohorts_for(db.session.get(Proctor, grace.id))] == ["Monday", "Wednesday"]
    with pytest.raises(NotFound):
        proctors.grant("nobody@example.com", lab_id, "Monday")


# -- jobs --------------------------------------------------------------------------------------------------


def test_jobs_run_in_an_app_context(app, lab_id):
    who = _plain(app, lab_id, "j1")

    def count_attendees(lab: str) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(Attendee).filter_by(lab_id=lab))

    assert jobs.submit(count_attendees, lab_id).result(timeout=10) == 1
    assert who.id  # the submitting session is untouched

    def boom() -> None:
        raise RuntimeError("job failed")

    with pytest.raises(RuntimeError, match="job failed"):
        jobs.submit(boom).result(timeout=10)


# -- rate limits -------------------------------------------------------------------------------------------


def test_bad_rate_limit_is_refused_at_start(make_app, db_url):
    from webapp.config import ConfigError

    with pytest.raises(ConfigError, match="VALIDATE_RATE_LIMIT"):
        make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, VALIDATE_RATE_LIMIT="lots")


def test_rate_limits_are_shared_through_redis(make_app, tmp_path):
    """With REDIS_URL, Validate limits are counted in Redis, so every web instance sees the same count."""
    import socket

    import redis
    from limits import parse

    from tests.conftest import redis_url, require
    from webapp.security import limiter

    with socket.socket() as s:
        s.settimeout(1)
        require(s.connect_ex(("127.0.0.1", 6379)) == 0, "Redis is not reachable at 127.0.0.1:6379")
    url = redis_url(15)
    make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'rl.sqlite3'}", AUTO_MIGRATE=True, REDIS_URL=url)
    key = f"validate:shared-{datetime.now(UTC).timestamp()}"
    item = parse("2 per minute")
    assert [limiter.limiter.hit(item, key) for _ in range(3)] == [True, True, False]
    stored = redis.Redis.from_url(url).keys(f"*{key}*")
    assert stored, "the count lives in Redis, where other instances read it"


def test_custom_cloud_endpoints_refused_unless_allowed(make_app, db_url):
    """A platform must not point the grader at arbitrary hosts or files unless the server allows it."""
    import pytest

    from webapp.services import attendees
    from webapp.services.errors import InvalidInput

    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, ALLOW_CUSTOM_CLOUD=False)
    azure = {"subscription_id": SUB, "resource_group": "rg", "tenant_id": SUB, "client_id": "c",
             "client_secret": "x" * 12, "ca_bundle": "/etc/shadow"}
    with app.app_context():
        with pytest.raises(InvalidInput) as info:
            attendees.upsert("spot-the-flaw", "mallory", cohort="c1", azure=azure)
        assert info.value.field == "azure.ca_bundle"
        azure.pop("ca_bundle")
        assert attendees.upsert("spot-the-flaw", "mallory", cohort="c1", azure=azure).external_id == "mallory"
