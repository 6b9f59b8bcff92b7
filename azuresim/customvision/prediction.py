"""Placeholder blueprint (being written)."""

from flask import Blueprint

bp = Blueprint("cv_prediction", __name__)
