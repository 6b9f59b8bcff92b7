"""``labgrader webhook``: what admins see of the platform API's webhook subscriptions."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("webhook")
def webhook() -> None:
    """Webhook subscriptions (lab platforms create them through the API)."""


@webhook.command("list")
@with_appcontext
def webhook_list() -> None:
    """List subscriptions: id, state, failures in a row, events waiting, URL, events, filter (never secrets)."""
    from sqlalchemy import func, select

    from webapp.cli import _require_schema
    from webapp.extensions import db
    from webapp.models import WebhookEvent
    from webapp.services import webhooks

    _require_schema()
    waiting = dict(db.session.execute(select(WebhookEvent.subscription_id, func.count())
                                      .where(WebhookEvent.state == "pending").group_by(WebhookEvent.subscription_id))
                   .all())
    click.echo("ID\tSTATE\tFAILURES\tPENDING\tURL\tEVENTS\tLAB/CLASS")
    for s in webhooks.all_subscriptions():
        state = "enabled" if s.enabled else "disabled"
        scope = f"{s.lab_id or '*'}/{s.cohort or '*'}"
        click.echo(f"{s.id}\t{state}\t{s.consecutive_failures}\t{waiting.get(s.id, 0)}\t{s.url}\t"
                   f"{','.join(s.events)}\t{scope}")
        if not s.enabled and s.disabled_reason:
            click.echo(f"\t{s.disabled_reason}")
