"""Errors the service layer raises for callers to turn into a 400/403/404 with a clear message."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors below."""


class InvalidInput(ServiceError, ValueError):
    """A field of the input is missing or wrong; ``field`` names it (dotted: ``azure.subscription_id``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(ServiceError, LookupError):
    """The named lab, class, attendee, key or proctor does not exist."""


class InvalidLink(ServiceError):
    """A launch link that is malformed, tampered with, or revoked."""


class ExpiredLink(InvalidLink):
    """A launch link older than LAUNCH_LINK_MAX_AGE."""


class NoPublicAddress(ServiceError):
    """A launch link was asked for, but this service does not know the address students reach it at
    (``BASE_URL`` unset, and the request's Host is neither loopback nor one of ``TRUSTED_HOSTS``)."""
