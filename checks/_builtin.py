"""Imports every built-in check module so each registers its checks."""

from checks import accounts, detection, exports, iterations, projects, quicktest, resources, tags  # noqa: F401
