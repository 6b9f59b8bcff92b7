"""Observation: gather facts from Azure through the official SDKs and run a step's checks.

``validate(attendee, step, lab)`` is the one entry point; it returns a :class:`StepResult`;
``validate_many`` judges several steps from one snapshot.
"""

from .core import Attendee, Options, UnknownStep, validate, validate_many
from .result import StepResult

__all__ = ["Attendee", "Options", "StepResult", "UnknownStep", "validate", "validate_many"]
