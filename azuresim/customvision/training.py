"""Placeholder blueprint (being written)."""

from flask import Blueprint

bp = Blueprint("cv_training", __name__)
