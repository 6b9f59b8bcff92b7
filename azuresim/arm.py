"""Placeholder blueprint (being written)."""

from flask import Blueprint

bp = Blueprint("arm", __name__)
