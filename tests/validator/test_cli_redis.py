"""With REDIS_URL configured, `labgrader validate` keeps to the F0 pace the web service keeps to: its Custom Vision
calls take their slots in the same Redis list per resource, after the slots another instance took."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.conftest import reachable_redis, redis_url
from validator.azure.caches import KEY_PREFIX as CACHE_PREFIX
from validator.azure.ratelimit import KEY_PREFIX as PACE_PREFIX
from validator.azure.ratelimit import RedisRateLimiter
from webapp.cli import main

REDIS_URL = redis_url(14)


@pytest.fixture
def client():
    r = reachable_redis(REDIS_URL)

    def forget() -> None:
        for pattern in (f"{PACE_PREFIX}*", f"{CACHE_PREFIX}*"):
            for key in r.scan_iter(pattern):
                r.delete(key)

    forget()
    yield r
    forget()
    r.close()


def _validate(path, lab, env) -> dict:
    result = CliRunner().invoke(main, ["validate", "--attendee", str(path), "--task", "2", "--lab", lab, "--json"],
                                env=env)
    assert result.exit_code == 0, result.output
    (step,) = json.loads(result.output)
    assert step["status"] == "PASS", step
    return step


def test_validate_draws_from_the_pace_in_redis(client, attendee, student, small_lab, tmp_path):
    student.do("1")
    student.do("2")
    path = tmp_path / "attendee.json"
    path.write_text(json.dumps(attendee), encoding="utf-8")
    env = {"LABGRADER_REDIS_URL": REDIS_URL, "LABGRADER_SECRET_KEY": "x" * 48}

    _validate(path, str(small_lab.root), env)
    (key,) = client.scan_iter(f"{PACE_PREFIX}*")  # the attendee's one Custom Vision resource
    assert f"/subscriptions/{attendee['subscription_id']}/".lower() in key.decode()
    assert any(client.scan_iter(f"{CACHE_PREFIX}*"))  # and what it found is remembered there, sealed

    # Another instance (the web service) takes the resource's two slots of this window ...
    web = RedisRateLimiter(client)
    web.acquire(key.decode().removeprefix(PACE_PREFIX), max_wait=5)
    web.acquire(key.decode().removeprefix(PACE_PREFIX), max_wait=5)
    taken = [float(x) for x in client.lrange(key, 0, -1)]
    # ... so the command's next Custom Vision call (warm: one) waits for the next window: its slot follows theirs.
    _validate(path, str(small_lab.root), env)
    after = [float(x) for x in client.lrange(key, 0, -1)]
    assert after[-1] > taken[-1] and after[-1] >= taken[0] + web.span - 1e-6, (taken, after)
