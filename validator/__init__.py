"""Observation: gather facts from Azure through the official SDKs and run a step's checks.

``validate(attendee, step, lab, runtime=...)`` is the one entry point; it returns a :class:`StepResult`;
``validate_many`` judges several steps from one snapshot. The :class:`Observation` passed as ``runtime``
holds what validations keep between them (credentials, clients, caches, the F0 pace, the fetch pool).
"""

from .core import Attendee, Options, UnknownStep, validate, validate_many
from .result import StepResult
from .runtime import Observation

__all__ = ["Attendee", "Observation", "Options", "StepResult", "UnknownStep", "validate", "validate_many"]
