"""Two attendees whose F0 training resources share one regional endpoint keep a rate budget each.

An account created without a custom subdomain answers on its region's shared endpoint, where the key
alone picks the account. F0 allows 2 calls/s per *resource*: the validator must key its limiter on the
account's ARM id, or a whole class in one region would queue behind one budget.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Account, Sku

from azuresim.student import Student
from checks.outcome import Status
from validator import Attendee, validate
from validator.azure.ratelimit import RateLimiter

from .conftest import SMALL

ROUNDS = 6  # warm validations of Task 3.1 per attendee: 1 Custom Vision call each (GetTags), 6 per resource


class Recording(RateLimiter):
    """The F0 tier's bucket, noting per key how many slots were taken and how long callers waited."""

    def __init__(self, like: RateLimiter) -> None:
        super().__init__(calls=like.calls, window=like.window, margin=like.margin)
        self.taken: dict[str, int] = defaultdict(int)
        self.waited: dict[str, float] = defaultdict(float)
        self._note = threading.Lock()

    def acquire(self, key: str, max_wait: float = 10.0) -> float:
        waited = super().acquire(key, max_wait)
        with self._note:
            self.taken[key] += 1
            self.waited[key] += waited
        return waited


def training_without_subdomain(creds: dict, name: str):
    """Task 1 as a portal user who leaves out the custom subdomain: both accounts on the shared endpoint."""
    ca = creds["ca_bundle"]
    cred = ClientSecretCredential(creds["tenant_id"], creds["client_id"], creds["client_secret"],
                                  authority=creds["authority_host"], disable_instance_discovery=True,
                                  connection_verify=ca)
    arm = CognitiveServicesManagementClient(cred, creds["subscription_id"], base_url=creds["arm_endpoint"],
                                            credential_scopes=[creds["credential_scope"]], connection_verify=ca)
    rg = creds["resource_group"]
    try:
        for account_name, kind in ((name, "CustomVision.Training"), (f"{name}-Prediction", "CustomVision.Prediction")):
            body = Account(kind=kind, sku=Sku(name="F0"), location=creds["region"])  # no custom_sub_domain_name
            arm.accounts.begin_create(rg, account_name, body, polling_interval=0).result()
        return arm.accounts.get(rg, name)
    finally:
        arm.close()
        cred.close()


def run(jobs: list[tuple[Attendee, object]], runtime) -> tuple[float, list]:
    """Validate Task 3.1 ROUNDS times for each attendee, attendees in parallel; wall time and results."""
    results: list = []
    lock = threading.Lock()

    def one(who, lab):
        for _ in range(ROUNDS):
            result = validate(who, "3.1", lab, runtime=runtime)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=one, args=job) for job in jobs]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return time.monotonic() - started, results


def test_two_resources_on_one_regional_endpoint_do_not_share_a_budget(sim, small_lab, monkeypatch, runtime):
    first = sim.create_attendee("shared-endpoint-a")
    second = sim.create_attendee("shared-endpoint-b", region=first["region"])
    students = [Student(c, counts=dict(SMALL)) for c in (first, second)]
    accounts = [training_without_subdomain(s.credentials, s.account_name) for s in students]
    # Not vacuous: both training resources really answer on one endpoint, and are two resources.
    assert accounts[0].properties.endpoint == accounts[1].properties.endpoint
    assert not accounts[0].properties.custom_sub_domain_name and accounts[0].sku.name == "F0"
    assert accounts[0].id.lower() != accounts[1].id.lower()

    attendees = []
    for student in students:
        for task in ("2", "3.1"):
            student.do(task)
        who = Attendee.from_json(student.credentials, small_lab)
        # Remembers the resource, key and project: later rounds read tags only.
        warm = validate(who, "3.1", small_lab, runtime=runtime)
        assert warm.status is Status.PASS, warm.message
        attendees.append(who)

    alone_limiter = Recording(runtime.limiters.free)
    monkeypatch.setattr(runtime.limiters, "free", alone_limiter)
    alone, results = run([(attendees[0], small_lab)], runtime=runtime)

    both_limiter = Recording(runtime.limiters.free)
    monkeypatch.setattr(runtime.limiters, "free", both_limiter)
    both, results2 = run([(who, small_lab) for who in attendees], runtime=runtime)

    assert all(r.status is Status.PASS for r in results + results2), [r.message for r in results + results2]
    # One bucket per resource, named by its ARM id; each saw only its own attendee's calls.
    ids = {a.id.lower() for a in accounts}
    assert set(both_limiter.taken) == ids
    assert all(n == ROUNDS for n in both_limiter.taken.values()), dict(both_limiter.taken)
    # Neither waited for the other: each resource waited about as long as one attendee alone, and the
    # pair took about as long as one. A shared bucket would take ~2.5 times as long (12 calls, not 6).
    (alone_wait,) = alone_limiter.waited.values()
    assert alone_wait > 0  # the alone run really hit the F0 limit, so the comparison means something
    assert all(w <= alone_wait * 1.25 + 0.1 for w in both_limiter.waited.values()), dict(both_limiter.waited)
    assert both < alone * 1.5, (both, alone)
