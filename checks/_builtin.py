"""Imports every built-in check module so each registers its checks (filled in as modules land)."""
