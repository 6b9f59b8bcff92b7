"""Warm single steps: what discovery found (the training resource, its key, the project) is remembered per
attendee and proven by use; what Azure contradicts between two presses is discovered again within the same
validation, with the verdict a first (cold) validation gives. All through the official SDKs against azuresim.

Each scenario: the student finished the lab, every step was validated once; the student changes something
through the SDKs; the next press of a step is compared with a cold validation of it (every cache emptied),
and its calls show whether the remembered values were used."""

from __future__ import annotations

import pytest

from azuresim.student import PROJECT_NAME, Student
from checks.outcome import Status
from validator import Attendee, Observation, StepResult, validate, validate_many

from .conftest import SMALL
from .wholelab import verdict

TASKS = ("1", "2", "3.1", "3.2", "4", "5.1", "5.2", "6")
DISCOVERY = {"Accounts_ListByResourceGroup", "Accounts_ListKeys", "GetProjects"}
ARM = {"Accounts_ListByResourceGroup", "Accounts_ListKeys", "DeletedAccounts_List"}


def cv_calls(result: StepResult) -> int:
    return sum(n for op, n in result.calls_by_operation.items() if op not in ARM)


def cold(who: Attendee, task: str, lab) -> StepResult:
    """The step validated as the first press ever would: in a fresh runtime, nothing remembered."""
    with Observation() as fresh:
        return validate(who, task, lab, runtime=fresh)


@pytest.fixture
def done(sim, attendee, small_lab, runtime):
    """(student, attendee as the validator sees them): the lab done, every step validated once."""
    student = Student(attendee, counts=dict(SMALL))
    student.do_all()
    who = Attendee.from_json(attendee, small_lab)
    for task in TASKS:
        assert validate(who, task, small_lab, runtime=runtime).status is Status.PASS, task
    return student, who


def test_warm_steps_use_what_was_discovered(done, small_lab, runtime):
    _, who = done
    warm = {task: validate(who, task, small_lab, runtime=runtime) for task in TASKS}
    for task, result in warm.items():
        assert result.status is Status.PASS, (task, result.message)
        made = set(result.calls_by_operation)
        assert cv_calls(result) <= 2, (task, result.calls_by_operation)
        if task == "1":  # judges the resource itself: observed fresh
            assert made == {"Accounts_ListByResourceGroup"}, result.calls_by_operation
        elif task == "2":  # judges the project itself: listed fresh, through the remembered resource and key
            assert made == {"GetProjects"}, result.calls_by_operation
        else:
            assert not made & DISCOVERY, (task, result.calls_by_operation)
    for task, result in warm.items():
        assert verdict(result) == verdict(cold(who, task, small_lab)), task


def test_project_deleted_and_made_again_under_the_same_name(done, small_lab, runtime):
    student, who = done
    trainer = student.trainer()
    old = student.project()
    trainer.delete_project(old.id)
    new = trainer.create_project(PROJECT_NAME, description=old.description, domain_id=old.settings.domain_id,
                                 classification_type=old.settings.classification_type)
    result = validate(who, "3.1", small_lab, runtime=runtime)
    # The remembered project answered 404: listed again, then its tags read from the new one.
    assert result.calls_by_operation == {"GetTags": 2, "GetProjects": 1}, result.calls_by_operation
    assert result.status is Status.FAIL and result.observed["project"] == new.id
    assert verdict(result) == verdict(cold(who, "3.1", small_lab))
    again = validate(who, "3.1", small_lab, runtime=runtime)  # the new project is what is remembered now
    assert again.calls_by_operation == {"GetTags": 1} and verdict(again) == verdict(result)


def test_project_renamed(done, small_lab, runtime):
    """A warm step follows the project it remembered by id; Task 2 judges the name fresh and, finding no
    project of the lab's name, forgets it, so the next step says so too."""
    student, who = done
    trainer = student.trainer()
    project = student.project()
    before = validate(who, "3.1", small_lab, runtime=runtime)
    project.name = "Casting Defect Detection v2"
    trainer.update_project(project.id, project)

    follows = validate(who, "3.1", small_lab, runtime=runtime)
    assert follows.calls_by_operation == {"GetTags": 1}
    assert follows.status is Status.PASS and follows.observed["project"] == before.observed["project"]

    task2 = validate(who, "2", small_lab, runtime=runtime)
    assert task2.status is Status.FAIL and "Casting Defect Detection v2" in task2.message, task2.message
    assert verdict(task2) == verdict(cold(who, "2", small_lab))
    validate(who, "2", small_lab, runtime=runtime)  # as pressed after the cold one: fresh again, forgets the project
    after = validate(who, "3.1", small_lab, runtime=runtime)
    assert "GetProjects" in after.calls_by_operation
    assert after.status is Status.FAIL and "Task 2" in after.message, after.message
    assert verdict(after) == verdict(cold(who, "3.1", small_lab))
    # The whole lab lists the projects for Task 2 and judges every step from that one observation.
    project.name = PROJECT_NAME
    trainer.update_project(project.id, project)
    whole = validate_many(who, None, small_lab, runtime=runtime)
    assert all(r.status is Status.PASS for r in whole), [(r.task, r.message) for r in whole]


def test_a_second_project(done, small_lab, runtime):
    student, who = done
    student.trainer().create_project("Scratch", description="trying things")
    for task in ("3.1", "4", "5.1"):
        result = validate(who, task, small_lab, runtime=runtime)
        assert not set(result.calls_by_operation) & DISCOVERY, (task, result.calls_by_operation)
        assert result.status is Status.PASS
        assert verdict(result) == verdict(cold(who, task, small_lab))
    task2 = validate(who, "2", small_lab, runtime=runtime)
    assert task2.status is Status.PASS and verdict(task2) == verdict(cold(who, "2", small_lab))


def _delete_account(student: Student) -> None:
    arm, rg, name = student.arm, student.resource_group, student.account_name
    location = arm.accounts.get(rg, name).location
    arm.accounts.begin_delete(rg, name).result()
    arm.deleted_accounts.begin_purge(location, rg, name).result()  # the name is free again
    student._trainer = None


def test_account_deleted(done, small_lab, runtime):
    student, who = done
    _delete_account(student)
    result = validate(who, "3.1", small_lab, runtime=runtime)
    # The remembered key is refused, the account is gone from ARM: the resource group is listed again.
    assert result.calls_by_operation.get("Accounts_ListByResourceGroup") == 1, result.calls_by_operation
    assert result.status is Status.FAIL and "Task 1" in result.message, result.message
    assert verdict(result) == verdict(cold(who, "3.1", small_lab))


def test_account_deleted_and_made_again(done, small_lab, runtime):
    student, who = done
    _delete_account(student)
    student.do("1")  # same name: same resource id and endpoint, new keys, no projects
    result = validate(who, "4", small_lab, runtime=runtime)
    ops = result.calls_by_operation
    # A 401 for the old key, a new key, a 404 for the old project, the (empty) project list.
    assert ops.get("Accounts_ListKeys") == 1 and ops.get("GetProjects") == 1, ops
    assert "Accounts_ListByResourceGroup" not in ops, ops
    assert result.status is Status.FAIL and "Task 2" in result.message, result.message
    assert verdict(result) == verdict(cold(who, "4", small_lab))
    student.do("2")
    student.do("3.1")
    again = validate(who, "3.1", small_lab, runtime=runtime)
    assert again.status is Status.PASS and verdict(again) == verdict(cold(who, "3.1", small_lab))


def test_key_regenerated(done, small_lab, runtime):
    student, who = done
    student.arm.accounts.regenerate_key(student.resource_group, student.account_name, "Key1")
    result = validate(who, "3.2", small_lab, runtime=runtime)
    ops = result.calls_by_operation
    # Both parallel calls are refused with the old key; one listKeys serves both; each is made again.
    assert ops == {"GetTags": 2, "GetUntaggedImageCount": 2, "Accounts_ListKeys": 1}, ops
    assert result.status is Status.PASS
    assert verdict(result) == verdict(cold(who, "3.2", small_lab))


def test_retrained(done, small_lab, runtime):
    student, who = done
    first = validate(who, "4", small_lab, runtime=runtime)
    assert first.calls_by_operation == {"GetIterations": 1}  # a trained iteration's performance is remembered
    student.do("4")
    retrained = validate(who, "4", small_lab, runtime=runtime)
    assert retrained.calls_by_operation == {"GetIterations": 1, "GetIterationPerformance": 1}
    assert retrained.observed["trained_iteration"] != first.observed["trained_iteration"]
    assert retrained.status is Status.PASS
    assert verdict(retrained) == verdict(cold(who, "4", small_lab))
    for task in ("5.1", "6"):  # the Quick Test was made with the iteration before
        result = validate(who, task, small_lab, runtime=runtime)
        assert not set(result.calls_by_operation) & DISCOVERY, (task, result.calls_by_operation)
        assert verdict(result) == verdict(cold(who, task, small_lab)), task


def test_shared_through_redis_with_keys_sealed(done, small_lab, runtime):
    """Another web instance on the same Redis starts warm; what Redis holds is sealed with the app's key."""
    import redis
    from cryptography.fernet import Fernet

    from tests.conftest import redis_url, require

    url = redis_url(15)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        require(False, f"Redis is not reachable at {url}")
    student, who = done
    secret = Fernet.generate_key().decode()
    client = redis.Redis.from_url(url)

    def instance(secret: str) -> Observation:  # a web instance on that Redis, with its encryption key
        return Observation(client, secret)

    try:
        with instance(secret) as one:
            one.caches.clear()
            first = validate(who, "3.1", small_lab, runtime=one)
        assert set(first.calls_by_operation) == DISCOVERY | {"GetTags"}, first.calls_by_operation
        with instance(secret) as two:  # a second instance: new caches over the same Redis
            second = validate(who, "3.1", small_lab, runtime=two)
        assert second.calls_by_operation == {"GetTags": 1} and verdict(second) == verdict(first)
        names = sorted(n.decode().rsplit(":", 1)[0] for n in client.scan_iter("labgrader:cache:*"))
        assert names == ["labgrader:cache:account_keys", "labgrader:cache:discovery"], names
        stored = [client.get(name) for name in client.scan_iter("labgrader:cache:*")]
        key = student.arm.accounts.list_keys(student.resource_group, student.account_name).key1
        assert not any(key.encode() in v or student.account_name.encode() in v for v in stored)
        with instance(Fernet.generate_key().decode()) as three:  # the key changed: cold, not broken
            third = validate(who, "3.1", small_lab, runtime=three)
        assert "GetProjects" in third.calls_by_operation and verdict(third) == verdict(first)
    finally:
        with instance(secret) as cleanup:
            cleanup.caches.clear()
        client.close()
