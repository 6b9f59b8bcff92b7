"""The gatherer plans and observes from the fact declarations alone (``checks.facts``)."""

from __future__ import annotations

from checks import facts as F
from validator import gather
from validator.bench import _fetch_chain


def test_every_observed_fact_has_one_gateway_call_and_every_call_a_fact():
    declared = {f.observe for f in F.ALL if f.observe} | {F.resources("Microsoft.Storage/storageAccounts").observe}
    assert declared == set(gather._CALLS)


def test_remembered_discovery_is_proven_by_the_calls_made_through_it():
    through_cv = {F.PROJECTS, F.TAGS, F.UNTAGGED_COUNT, F.IMAGES, F.ITERATIONS, F.PERFORMANCE,
                  F.DETECTION_PERFORMANCE, F.PREDICTIONS}
    assert through_cv == gather._THROUGH_ACCOUNT
    assert through_cv - {F.PROJECTS} == gather._THROUGH_PROJECT
    # The domain list is the cloud's (and cached): reading it proves nothing about the resource.
    assert F.DOMAINS not in gather._THROUGH_ACCOUNT
    # A step that reads what discovery starts from (or what matters only in its absence) observes it fresh.
    assert {F.ACCOUNTS, F.DELETED_ACCOUNTS} == gather._JUDGES_ACCOUNT and {F.PROJECTS} == gather._JUDGES_PROJECT


def test_the_longest_chain_of_calls_counts_observed_facts_only():
    # accounts -> projects -> iterations -> performance: derived facts and deleted accounts cost no call.
    assert _fetch_chain(F.closure([F.PERFORMANCE, F.DELETED_ACCOUNTS])) == 4
    assert _fetch_chain(F.closure([F.PREDICTION_IMAGES])) == 5
