"""The ``labgrader`` commands that run on the web app (its database, its configuration): imported, with Flask,
only when one of them runs (``webapp.cli`` lists them). Each finds the app through Flask's ``ScriptInfo``."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from flask.cli import with_appcontext

from webapp.cli import _fail, _require_schema

# -- serve ------------------------------------------------------------------------------------------------


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", type=int, default=None,
              help="Worker processes (default: 2 per CPU, at most 8).")
@click.option("--threads", type=int, default=8, show_default=True,
              help="Threads per worker; a Validate mostly waits on Azure, so threads serve it well.")
@click.option("--timeout", type=int, default=None,
              help="Seconds before a stuck request's worker is restarted (default: validation budget + 30).")
@click.option("--keep-alive", "keepalive", type=int, default=75, show_default=True,
              help="Seconds an idle client connection stays open; above a load balancer's idle timeout (often 60).")
@with_appcontext
def serve(host: str, port: int, workers: int | None, threads: int, timeout: int | None, keepalive: int) -> None:
    """Serve the web app under gunicorn (refuses an un-migrated database)."""
    from flask import current_app

    from webapp.extensions import db

    _require_schema()
    budget = float(current_app.config["VALIDATE_BUDGET_SECONDS"])
    db.engine.dispose()  # no connection crosses the fork into the workers
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers or min(8, 2 * (os.cpu_count() or 1)),
        "worker_class": "gthread",
        "threads": threads,
        "timeout": timeout or int(budget + 30),
        "graceful_timeout": 30,
        # gunicorn's 2 s made a platform pressing every few seconds reconnect each time, and a proxy whose idle
        # timeout outlasts the app's can send a request down a connection the app is closing (a 502).
        "keepalive": keepalive,
        "accesslog": "-",
        # gunicorn's default line, then how long the request took in ms (the web path's share of a press)
        "access_log_format": '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms',
        "errorlog": "-",
        "logger_class": "webapp.accesslog.RedactingLogger",  # no launch token in the access log
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    }
    _Gunicorn(options).run()


class _Gunicorn:
    """gunicorn in-process: each worker builds its own app with ``create_app()``."""

    def __init__(self, options: dict[str, Any]) -> None:
        from gunicorn.app.base import BaseApplication

        class App(BaseApplication):
            def load_config(self) -> None:
                for key, value in options.items():
                    self.cfg.set(key, value)

            def load(self):
                from webapp import create_app
                from webapp.factory import start_background

                app = create_app()
                start_background(app)  # webhook retries and the automatic checks, before any request
                return app

        self._app = App()

    def run(self) -> None:
        sys.argv = sys.argv[:1]  # gunicorn parses argv again; ours are already applied
        self._app.run()


# -- proctors ---------------------------------------------------------------------------------------------


@click.group()
def proctor() -> None:
    """Proctor accounts: who may watch which classes."""


@proctor.command("add")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--admin", is_flag=True, help="An administrator sees every class.")
@with_appcontext
def proctor_add(email: str, password_stdin: bool, admin: bool) -> None:
    """Create a proctor account (prompts for the password unless --password-stdin)."""
    from webapp.services import proctors
    from webapp.services.errors import ServiceError

    _require_schema()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        p = proctors.add(email, password, is_admin=admin)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Added proctor {p.email}{' (admin)' if p.is_admin else ''}.")


@proctor.command("grant")
@click.argument("email")
@click.argument("lab")
@click.argument("cohort", metavar="CLASS")
@with_appcontext
def proctor_grant(email: str, lab: str, cohort: str) -> None:
    """Let proctor EMAIL watch class CLASS of lab LAB (the class is created if new)."""
    from webapp.services import proctors
    from webapp.services.errors import ServiceError

    _require_schema()
    try:
        c = proctors.grant(email, lab, cohort)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Proctor {email.strip().lower()} now sees class '{c.name}' of lab '{c.lab_id}'.")


@proctor.command("revoke")
@click.argument("email")
@click.argument("lab")
@click.argument("cohort", metavar="CLASS")
@with_appcontext
def proctor_revoke(email: str, lab: str, cohort: str) -> None:
    """Stop proctor EMAIL watching class CLASS of lab LAB (from their next page load)."""
    from webapp.services import proctors
    from webapp.services.errors import ServiceError

    _require_schema()
    try:
        granted = proctors.revoke(email, lab, cohort)
    except ServiceError as exc:
        raise _fail(exc) from None
    who = email.strip().lower()
    if granted:
        click.echo(f"Proctor {who} no longer sees class '{cohort}' of lab '{lab}'.")
    else:
        click.echo(f"Proctor {who} was not granted class '{cohort}' of lab '{lab}': nothing to revoke.")


@proctor.command("passwd")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
@with_appcontext
def proctor_passwd(email: str, password_stdin: bool) -> None:
    """Set a new password for proctor EMAIL and sign out every session they have open."""
    from webapp.services import proctors
    from webapp.services.errors import ServiceError

    _require_schema()
    try:
        proctors.get(email)  # say "no proctor" before asking for a password
    except ServiceError as exc:
        raise _fail(exc) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        p = proctors.set_password(email, password)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"New password set for proctor {p.email}; their open sessions are signed out.")


@proctor.command("remove")
@click.argument("email")
@with_appcontext
def proctor_remove(email: str) -> None:
    """Delete proctor EMAIL and their grants; their open sessions end."""
    from webapp.services import proctors
    from webapp.services.errors import ServiceError

    _require_schema()
    try:
        proctors.remove(email)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"Removed proctor {email.strip().lower()}; their open sessions are signed out.")


@proctor.command("list")
@with_appcontext
def proctor_list() -> None:
    """List proctors and the classes each sees."""
    from webapp.services import proctors

    _require_schema()
    for p in proctors.list_proctors():
        seen = "all classes" if p.is_admin else ", ".join(f"{c.lab_id}/{c.name}" for c in p.cohorts) or "no classes"
        click.echo(f"{p.email}\t{seen}")


# -- attendees --------------------------------------------------------------------------------------------


@click.group()
def attendee() -> None:
    """Attendees: their launch links."""


@attendee.command("revoke-link")
@click.argument("lab")
@click.argument("external_id", metavar="ATTENDEE")
@with_appcontext
def attendee_revoke_link(lab: str, external_id: str) -> None:
    """Invalidate every launch link of ATTENDEE in LAB and end their open sessions.

    The lab platform gets a new link from the API (GET or PUT the attendee).
    """
    from webapp.services import attendees, launch
    from webapp.services.errors import ServiceError

    _require_schema()
    try:
        who = attendees.get(lab, external_id)
    except ServiceError as exc:
        raise _fail(exc) from None
    launch.revoke(who)
    click.echo(f"Launch links of attendee '{who.external_id}' in lab '{lab}' are revoked; their open sessions "
               "are signed out. The platform gets a new link from the API.")


# -- background jobs --------------------------------------------------------------------------------------


@click.command()
@click.option("--burst", is_flag=True, help="Run the jobs queued now, then exit.")
@click.option("--name", default=None, help="Worker name shown by RQ (default: generated).")
@with_appcontext
def worker(burst: bool, name: str | None) -> None:
    """Run background jobs from the Redis queue (needs LABGRADER_REDIS_URL); start one or more next to the
    web instances."""
    from flask import current_app

    from webapp.services import jobs

    _require_schema()
    app = current_app._get_current_object()
    if not jobs.uses_queue(app):
        raise click.ClickException("LABGRADER_REDIS_URL is not set: without Redis, background jobs run inside "
                                   "the web processes and no worker is needed.")
    try:
        w = jobs.worker(app, name=name)
    except ImportError as exc:
        raise click.ClickException(f"{exc}: pip install 'labgrader[redis]'") from None
    from webapp.factory import start_background

    if not burst:
        start_background(app)
    try:
        # RQ's scheduler moves the jobs queued for later (the automatic checks' ticks) into the queue; one
        # worker at a time holds it.
        w.work(burst=burst, with_scheduler=True)
    finally:
        w.connection.close()


# -- API keys ---------------------------------------------------------------------------------------------


@click.group("api-key")
def api_key() -> None:
    """Bearer keys for the platform API."""


@api_key.command("create")
@click.argument("name")
@with_appcontext
def api_key_create(name: str) -> None:
    """Create key NAME and print it once (only its hash is stored)."""
    from webapp.services import apikeys
    from webapp.services.errors import ServiceError

    _require_schema()
    try:
        key, plaintext = apikeys.create(name)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(plaintext)
    click.echo(f"API key '{key.name}' (id {key.id}) created. Store it now: it cannot be shown again.", err=True)


@api_key.command("revoke")
@click.argument("name_or_id", metavar="NAME|ID")
@with_appcontext
def api_key_revoke(name_or_id: str) -> None:
    """Revoke a key; requests carrying it are refused from now on."""
    from webapp.services import apikeys
    from webapp.services.errors import ServiceError

    _require_schema()
    try:
        key = apikeys.revoke(name_or_id)
    except ServiceError as exc:
        raise _fail(exc) from None
    click.echo(f"API key '{key.name}' (id {key.id}) is revoked.")


@api_key.command("list")
@with_appcontext
def api_key_list() -> None:
    """List keys: id, name, prefix, created, last used, state (never the key)."""
    from webapp.services import apikeys

    _require_schema()

    def when(t) -> str:
        return t.strftime("%Y-%m-%d %H:%M") if t else "-"

    click.echo("ID\tNAME\tPREFIX\tCREATED\tLAST USED\tSTATE")
    for k in apikeys.list_keys():
        state = "active" if k.active else f"revoked {when(k.revoked_at)}"
        click.echo(f"{k.id}\t{k.name}\tlg_{k.prefix}_\t{when(k.created_at)}\t{when(k.last_used_at)}\t{state}")


# -- configuration ----------------------------------------------------------------------------------------


@click.command("config")
@click.option("--show-encryption-key", is_flag=True,
              help="Print the key that encrypts attendee secrets now (the derived one when "
                   "LABGRADER_ENCRYPTION_KEY is unset), to pin it before rotating SECRET_KEY.")
@click.pass_context
def config_help(ctx: click.Context, show_encryption_key: bool) -> None:
    """List the configuration options (LABGRADER_* variables or instance/labgrader.toml)."""
    from flask.cli import ScriptInfo

    from webapp.config import describe

    if not show_encryption_key:
        click.echo(describe())
        return
    app = ctx.ensure_object(ScriptInfo).load_app()
    click.echo(app.config["ENCRYPTION_KEY"])
    click.echo("Set this as LABGRADER_ENCRYPTION_KEY on every instance before changing SECRET_KEY; keep it "
               "secret.", err=True)
