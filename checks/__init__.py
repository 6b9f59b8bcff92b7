"""Judgement: pure functions from observed facts to an Outcome, one module per lab area.

Run a check with :func:`run_check`; look one up with ``checks.registry.get``; fold a step's outcomes with
:func:`summarize`. Fact names and types are in ``checks.facts``; selections of derived facts in
``checks.select``.
"""

from checks.base import Check, Context, prerequisite_missing, run_check
from checks.outcome import Outcome, Status
from checks.summary import Summary, summarize

__all__ = ["Check", "Context", "Outcome", "Status", "Summary", "prerequisite_missing", "run_check", "summarize"]
