"""Placeholder blueprint (being written)."""

from flask import Blueprint

bp = Blueprint("entra", __name__)
