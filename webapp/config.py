"""Configuration: one declared list of options, each with its default and help text.

Values come, later ones winning, from the defaults below, the instance file (``instance/labgrader.toml``
or ``instance/labgrader.py``), ``LABGRADER_<NAME>`` environment variables, and the mapping given to
``create_app``. Nothing is read at import time: :func:`load` does it for one app.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

ENV_PREFIX = "LABGRADER_"


class ConfigError(ValueError):
    """An option has a value labgrader cannot use; the message names the option and its source."""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _paths(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [p for p in str(value).split(os.pathsep) if p.strip()]


def _rate(value: Any) -> str:
    from limits import parse

    parse(str(value))  # Flask-Limiter's own syntax; fail at start, not on the first Validate
    return str(value)


def _count(value: Any) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"expected 0 or more, got {value!r}")
    return number


def _str(value: Any) -> str:
    return str(value)


def _seconds(value: Any) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(f"expected a number of seconds of at least 1, got {value!r}")
    return number


def _hosts(value: Any) -> list[str] | None:
    """Host names, comma- or space-separated (or a list); none at all is ``None``, Flask's "any host"."""
    names = value if isinstance(value, list | tuple) else str(value).replace(",", " ").split()
    names = [str(n).strip().lower() for n in names if str(n).strip()]
    return names or None


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = _str


OPTIONS: tuple[Option, ...] = (
    Option("SECRET_KEY", None,
           "Signs sessions and launch links. When unset, one is generated once and kept in "
           "instance/secret_key; every web instance behind one database must share it."),
    Option("ENCRYPTION_KEY", None,
           "Fernet key(s) that encrypt attendee secrets at rest, comma-separated, newest first (older ones "
           "still decrypt, for rotation). When unset, derived from SECRET_KEY with HKDF: then rotating SECRET_KEY "
           "changes this key too and every stored secret becomes unreadable. Before rotating SECRET_KEY, pin the "
           "current key (`labgrader config --show-encryption-key` prints it) in LABGRADER_ENCRYPTION_KEY."),
    Option("DATABASE_URL", None,
           "SQLAlchemy URL of the database. Default: a SQLite file in the instance folder (WAL mode). "
           "For several instances use PostgreSQL: postgresql+psycopg://user:pass@host/db."),
    Option("REDIS_URL", None,
           "Redis shared by every instance (redis://host:6379/0): the Validate rate limits (pages and API), the "
           "validator's Azure request rate limit, caches, and the background job queue (RQ: run "
           "`labgrader worker` next to the web instances, or jobs wait in the queue). Unset: each process keeps "
           "its own limits and caches and runs jobs in a thread pool of JOB_WORKERS threads."),
    Option("PACK_DIRS", [], "Extra folders holding lab packs, os.pathsep-separated.", _paths),
    Option("LAUNCH_LINK_MAX_AGE", 7 * 24 * 3600, "Seconds a student's launch link stays valid.", int),
    Option("VALIDATE_RATE_LIMIT", "5 per minute",
           "How often one attendee may press Validate ('5 per minute', '3 per 10 seconds').", _rate),
    Option("RECHECK_RATE_LIMIT", "12 per minute",
           "How often the guide page may check one attendee's PENDING step again by itself (training still "
           "running). Counted apart from VALIDATE_RATE_LIMIT, so rechecks never use up the student's presses; "
           "the page spaces its rechecks to stay within it.", _rate),
    Option("VALIDATE_BUDGET_SECONDS", 20.0, "Time budget of one validation, Azure retries included.", float),
    Option("STUCK_AFTER_FAILS", 3, "Consecutive FAILs on one step after which an attendee shows as stuck.", int),
    Option("STUCK_AFTER_MINUTES", 20, "Minutes on one unfinished step after which an attendee shows as stuck.",
           int),
    Option("BASE_URL", "",
           "Public base URL of this service, for launch links (https://labs.example.com); with https, session "
           "cookies are Secure and answers carry Strict-Transport-Security. Unset: the current request's URL when "
           "its host is a loopback name or one of TRUSTED_HOSTS (otherwise no launch link is made), or "
           "http://127.0.0.1:8000 outside a request."),
    Option("AUTO_MIGRATE", False,
           "Upgrade the database schema on start instead of refusing an un-migrated database.", _bool),
    Option("JOB_WORKERS", 4, "Threads per process for background work (re-validating a class) when REDIS_URL is "
           "not set (with it, `labgrader worker` processes run the jobs).", int),
    Option("TRUSTED_PROXIES", 0,
           "How many reverse proxies (load balancer, ingress) stand in front of this service. With N > 0 the "
           "client address, scheme and host are taken from the last N X-Forwarded-For/-Proto/-Host entries; "
           "keep 0 when clients reach the service directly, or they could claim any address.", _count),
    Option("TRUSTED_HOSTS", None,
           "Host names this service answers to, comma-separated ('.example.com' also matches its subdomains); "
           "Flask answers 400 to a request for any other Host. Unset: any host is answered, and launch links "
           "without BASE_URL are made only for loopback hosts (never from an arbitrary Host header).", _hosts),
    Option("SESSION_LIFETIME", 12 * 3600,
           "Seconds a sign-in lasts (a proctor's, or a student's opened by a launch link) before signing in "
           "again; signing out ends it at once on every instance.", _seconds),
    Option("LOGIN_RATE_LIMIT", "30 per minute",
           "Proctor sign-in attempts allowed from one client address, whatever the emails tried (each attempt "
           "costs a deliberately slow password hash); one email is also limited to 10 per minute per address.",
           _rate),
    Option("ALLOW_CUSTOM_CLOUD", False,
           "Accept cloud endpoints (authority_host, arm_endpoint, credential_scope, ca_bundle) in attendee "
           "credentials, for azuresim or sovereign clouds. Off by default: otherwise anyone holding an API key "
           "could point the grader at any host or make it read any file as a CA bundle.", _bool),
    Option("WEBHOOK_ALLOW_PRIVATE_TARGETS", False,
           "Let webhooks target http:// URLs and loopback, private or link-local addresses (cloud metadata "
           "addresses stay refused). Off: "
           "only https to public addresses, checked when the subscription is saved and again, resolved, at every "
           "send (tests and single-host set-ups turn it on).", _bool),
    Option("WEBHOOK_TIMEOUT_SECONDS", 10.0, "Seconds a webhook receiver has to answer one delivery.", float),
    Option("WEBHOOK_RETRY_BASE_SECONDS", 10.0,
           "First delay before retrying a failed delivery; each retry doubles it (with jitter) up to "
           "WEBHOOK_RETRY_MAX_SECONDS.", float),
    Option("WEBHOOK_RETRY_MAX_SECONDS", 3600.0, "Longest delay between two tries of one delivery.", float),
    Option("WEBHOOK_RETRY_HOURS", 24.0, "Hours an event is retried before it is given up (state failed).", float),
    Option("WEBHOOK_DISABLE_AFTER_FAILURES", 100,
           "Failed tries in a row after which a subscription is disabled (with the reason); 0: never.", _count),
    Option("WEBHOOK_SWEEP_SECONDS", 5.0,
           "How often each web or worker process looks in the outbox for deliveries due (retries, and events a "
           "crashed process left unsent).", float),
    Option("AUTO_CHECK_TICK_SECONDS", 15.0,
           "How often the deployment looks for attendees whose automatic check is due (lab.yaml auto_check or a "
           "class setting turns the checks on; one scheduler runs per deployment).", float),
    Option("AUTO_CHECK_CALLS_PER_MINUTE", 300,
           "Azure calls the automatic checks of one class may make in any minute (a class setting may lower or "
           "raise it); checks that would pass it wait. Each call also keeps to the per-resource pacing.", int),
    Option("DEMO", False,
           "Demo mode (set by `labgrader demo`): the student page offers a practice panel that performs the "
           "next lab task in azuresim.", _bool),
)
BY_NAME = {o.name: o for o in OPTIONS}


def describe() -> str:
    """Every option with its environment variable, default and help (for ``--help`` and the README)."""
    lines = []
    for o in OPTIONS:
        default = "" if o.default in (None, "", []) else f" (default: {o.default})"
        lines.append(f"{ENV_PREFIX}{o.name}{default}\n    {o.help}")
    return "\n".join(lines)


def _instance_file(instance: Path) -> tuple[dict[str, Any], str | None]:
    toml_path, py_path = instance / "labgrader.toml", instance / "labgrader.py"
    if toml_path.is_file():
        with toml_path.open("rb") as fh:
            data = tomllib.load(fh)
        return {str(k).upper(): v for k, v in data.items()}, str(toml_path)
    if py_path.is_file():
        scope: dict[str, Any] = {"__file__": str(py_path)}
        exec(compile(py_path.read_text(encoding="utf-8"), str(py_path), "exec"), scope)  # noqa: S102 - admin's file
        return {k: v for k, v in scope.items() if k.isupper()}, str(py_path)
    return {}, None


def values(instance: Path, overrides: Mapping[str, Any] | None = None,
           environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every option's value, parsed, from its sources (nothing generated or derived: see :func:`complete_keys`)."""
    environ = os.environ if environ is None else environ
    file_values, file_name = _instance_file(instance)
    sources: list[tuple[str, Mapping[str, Any]]] = [
        (file_name or "instance file", file_values),
        ("environment", {k[len(ENV_PREFIX):]: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}),
        ("create_app", dict(overrides or {})),
    ]
    result: dict[str, Any] = {}
    for option in OPTIONS:
        value, origin = option.default, "default"
        for origin_name, given in sources:
            if option.name in given and given[option.name] is not None:
                value, origin = given[option.name], origin_name
        if value is not None and origin != "default":
            try:
                value = option.parse(value)
            except (TypeError, ValueError) as exc:
                shown = ENV_PREFIX + option.name if origin == "environment" else option.name
                raise ConfigError(f"{shown} from {origin}: {exc}") from None
        result[option.name] = value
    return result


def complete_keys(config: dict[str, Any], instance: Path) -> None:
    """Fill SECRET_KEY (generated once into the instance folder) and ENCRYPTION_KEY (derived from it) where
    ``config`` leaves them unset."""
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _stored_secret_key(instance)
    if not config["ENCRYPTION_KEY"]:
        config["ENCRYPTION_KEY"] = derive_encryption_key(config["SECRET_KEY"])


def load(app: Flask, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> None:
    """Fill ``app.config`` with every option (parsed), then derive the generated/derived ones."""
    instance = Path(app.instance_path)
    app.config.update(values(instance, overrides, environ))
    # Flask's own and extensions' settings given by the caller pass through untouched.
    for key, value in (overrides or {}).items():
        if key not in BY_NAME:
            app.config[key] = value

    complete_keys(app.config, instance)
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'labgrader.sqlite3'}"
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config["DATABASE_URL"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})


def default_instance_path() -> Path:
    """The instance folder Flask gives the app when not told one (``Flask.auto_find_instance_path`` for
    ``webapp.factory``), found without importing Flask, for the commands that read the configuration without the
    app: ``instance`` beside the packages of a checkout, ``<prefix>/var/webapp.factory-instance`` when installed."""
    packages = os.path.dirname(os.path.dirname(__file__))
    prefix = os.path.abspath(sys.prefix)
    if not PurePath(packages).is_relative_to(prefix):
        site_parent, site_folder = os.path.split(packages)
        if site_folder.lower() != "site-packages":
            return Path(packages, "instance")
        parent, folder = os.path.split(site_parent)
        if folder.lower() == "lib":  # Windows: prefix/Lib/site-packages
            prefix = parent
        elif os.path.basename(parent).lower() == "lib":  # prefix/lib/pythonX.Y/site-packages
            prefix = os.path.dirname(parent)
        else:
            prefix = site_parent
    return Path(prefix, "var", "webapp.factory-instance")


def _stored_secret_key(instance: Path) -> str:
    """The instance's generated secret key, created (readable by the owner only) on first use."""
    path = instance / "secret_key"
    if path.is_file():
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def derive_encryption_key(secret_key: str) -> str:
    """A Fernet key derived from ``secret_key`` with HKDF-SHA256 (so one secret is enough to configure)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"labgrader attendee secrets v1").derive(
        secret_key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw).decode("ascii")
