"""labgrader as an LTI 1.3 tool (LTI Advantage: Deep Linking, Assignment and Grade Services, Names and Role
Provisioning Services), on pylti1p3 (the maintained ``pylti1p3next`` distribution).

Platforms (LMSs) are registered by admins (:mod:`.platforms`); the tool's key pair lives encrypted in the
database and rotates (:mod:`.keys`); the OIDC login and the signed launch are in :mod:`.views`, which maps a
launch to the attendee or the class grid (:mod:`.launches`); scores go back through AGS (:mod:`.grades`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import grades, roster, views

    app.register_blueprint(views.bp)
    grades.init_app(app)
    # The class page shows the course roster (NRPS) of courses mapped to the class, below the grid.
    app.add_template_global(roster.for_cohort, "lti_rosters")
