"""``labgrader lti``: register LMSs (platforms) and rotate the tool's key pair."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext


@click.group("lti")
def lti() -> None:
    """LTI 1.3: the learning platforms (LMSs) that may launch labgrader, and the tool's key pair."""


@lti.group("platform")
def platform() -> None:
    """Registered platforms (LMSs)."""


def _ready() -> None:
    from webapp.cli import _require_schema

    _require_schema()


@platform.command("add")
@click.argument("name")
@click.option("--issuer", required=True, help="The platform's issuer (iss), as the LMS shows it.")
@click.option("--client-id", required=True, help="The client id the LMS gave labgrader.")
@click.option("--deployment-id", "deployment_ids", multiple=True, required=True,
              help="A deployment id of labgrader in the LMS (repeat for several).")
@click.option("--auth-login-url", required=True, help="The LMS's OIDC authorization endpoint.")
@click.option("--auth-token-url", required=True, help="The LMS's OAuth2 token endpoint (for grades and rosters).")
@click.option("--key-set-url", required=True, help="The LMS's public keys (JWKS URL).")
@click.option("--auth-audience", default=None, help="The token endpoint's audience, when the LMS names one.")
@click.option("--frame-origin", "frame_origins", multiple=True,
              help="An origin that frames labgrader's pages (default: the issuer's and the login URL's).")
@with_appcontext
def platform_add(name, issuer, client_id, deployment_ids, auth_login_url, auth_token_url, key_set_url,
                 auth_audience, frame_origins) -> None:
    """Register the LMS NAME."""
    from webapp.services.errors import InvalidInput

    from . import platforms

    _ready()
    try:
        found = platforms.add(name, issuer, client_id, list(deployment_ids), auth_login_url, auth_token_url,
                              key_set_url, auth_audience=auth_audience, frame_origins=list(frame_origins))
    except InvalidInput as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"registered platform {found.id} '{found.name}' ({found.issuer}, client {found.client_id})")


@platform.command("list")
@with_appcontext
def platform_list() -> None:
    """List registered platforms."""
    from . import platforms

    _ready()
    click.echo("ID\tNAME\tISSUER\tCLIENT ID\tDEPLOYMENTS\tLOGIN URL")
    for p in platforms.all_platforms():
        click.echo(f"{p.id}\t{p.name}\t{p.issuer}\t{p.client_id}\t{','.join(p.deployment_ids)}\t{p.auth_login_url}")


@platform.command("remove")
@click.argument("name_or_id")
@with_appcontext
def platform_remove(name_or_id: str) -> None:
    """Forget a platform (its launches stop; attendees and their work stay)."""
    from webapp.services.errors import NotFound

    from . import platforms

    _ready()
    try:
        found = platforms.by_name_or_id(name_or_id)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    platforms.remove(found)
    click.echo(f"removed platform '{found.name}'")


@lti.group("key")
def key() -> None:
    """The tool's key pair (published at /lti/jwks)."""


@key.command("rotate")
@click.option("--keep-old-hours", default=48, show_default=True, type=click.IntRange(min=0),
              help="How long the retired public key stays in the JWKS (platforms cache it).")
@with_appcontext
def key_rotate(keep_old_hours: int) -> None:
    """Make a new signing key; the old public key stays published for a while."""
    from . import keys

    _ready()
    new, retired = keys.rotate(timedelta(hours=keep_old_hours))
    click.echo(f"new signing key {new.kid}")
    for old in retired:
        click.echo(f"retired {old.kid}: published until {old.drop_after:%Y-%m-%d %H:%M} UTC")


@key.command("list")
@with_appcontext
def key_list() -> None:
    """The published keys (never their private halves)."""
    from . import keys

    _ready()
    click.echo("KID\tCREATED\tSTATE")
    for k in keys.published():
        state = "signing" if k.retired_at is None else f"retired, published until {k.drop_after:%Y-%m-%d %H:%M}"
        click.echo(f"{k.kid}\t{k.created_at:%Y-%m-%d %H:%M}\t{state}")


@lti.group("grades")
def grades_group() -> None:
    """Scores sent to LMS gradebooks (AGS)."""


@grades_group.command("resend")
@with_appcontext
def grades_resend() -> None:
    """Post every score still pending (after an LMS outage) now."""
    from . import grades

    _ready()
    click.echo(f"{grades.resend()} score(s) accepted")
