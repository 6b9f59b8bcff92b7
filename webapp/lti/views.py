"""The LTI endpoints (blueprint ``lti``): the tool's JWKS, the OIDC third-party login, the signed launch, and
Deep Linking's lab picker. Platforms POST here cross-site: the blueprint is exempt from CSRF tokens, and the
id_token (signed, with a one-time nonce and the browser's state cookie) is what proves a request."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, make_response, redirect, render_template, request, session, url_for
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, LtiInvalidNonceException, OIDCException
from pylti1p3.lineitem import LineItem

from .. import auth, security
from ..services import labs
from ..services.errors import NoPublicAddress, NotFound
from ..services.launch import base_url
from . import framing, keys, launches, platforms, tool
from .launches import Refused

log = logging.getLogger(__name__)
bp = Blueprint("lti", __name__, url_prefix="/lti", template_folder="templates", static_folder="static")
JWKS_MAX_AGE = 3600  # seconds platforms may cache the JWKS; a retired key stays published far longer


@bp.get("/jwks")
def jwks():
    response = jsonify(keys.jwks())
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response


def launch_url() -> str:
    return base_url() + url_for("lti.launch")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """OIDC third-party initiated login: check the platform is registered, then send the browser to its
    authorization endpoint with a fresh state (cookie) and nonce (stored)."""
    try:
        return tool.oidc_login(tool.DatabaseToolConf()).redirect(launch_url())
    except (OIDCException, LtiException) as exc:
        log.info("LTI login refused: %s (iss=%s)", exc, _param("iss"))
        return _refused(Refused("This platform is not registered",
                                "labgrader does not know the learning platform that sent you here. Its admin "
                                "registers the platform with `labgrader lti platform add`.", 400))
    except NoPublicAddress as exc:
        return _refused(Refused("labgrader is not configured", str(exc), 503))


@bp.post("/launch")
def launch():
    """The signed launch: validate the id_token, then open the guide, the class grid, or the lab picker."""
    conf = tool.DatabaseToolConf()
    message = tool.message_launch(conf)
    try:
        body = message.get_launch_data()
        platform = conf.platform
        assert platform is not None  # validation found the registration
        if message.is_deep_link_launch():
            return _deep_link_picker(message, body)
        if not message.is_resource_launch():
            raise Refused("Unsupported launch", "labgrader opens labs from course links (resource link launches) "
                                                "and offers labs to add (Deep Linking); this launch is neither.")
        if _is_staff(message):
            opened = launches.open_for_staff(platform, body)
            auth.login_proctor(opened.proctor)
            target = url_for("proctor.cohort_page", lab=opened.cohort.lab_id, name=opened.cohort.name)
        else:
            opened = launches.open_for_learner(platform, body)
            auth.login_attendee(opened.attendee)
            target = url_for("student.guide")
        session[framing.SESSION_PLATFORM] = platform.id  # framing, cookie
        return redirect(target, 303)
    except Refused as exc:
        return _refused(exc)
    except (LtiException, OIDCException) as exc:
        log.info("LTI launch refused: %s", exc)  # the library's reason; never the token
        return _refused(refusal(exc))


def refusal(exc: Exception) -> Refused:
    """The page for a launch pylti1p3 refused, from its reason."""
    text = str(exc)
    again = " Open the lab again from your course."
    if isinstance(exc, LtiInvalidNonceException):
        return Refused("This launch was already used", "This sign-in from your course has been used already, so "
                       "labgrader does not accept it a second time." + again, 401)
    if "expired" in text.lower():
        return Refused("This launch has expired", "The sign-in from your course is too old to be accepted." + again,
                       401)
    if "State not found" in text or "Missing state" in text:
        return Refused("Your browser did not keep the sign-in", "labgrader could not find the sign-in your browser "
                       "started (it may block cookies in embedded pages). Open the lab in a new window from your "
                       "course, or allow cookies for this site.", 401)
    if "signature" in text.lower() or "public key" in text.lower() or "Can't decode" in text:
        return Refused("This launch is not signed by your platform", "The sign-in does not carry a valid signature "
                       "of the learning platform it claims to come from, so labgrader refuses it." + again, 401)
    if "Registration not found" in text or "Client id" in text:
        return Refused("This launch is not for this labgrader", "The sign-in was issued for another tool or by an "
                       "unregistered platform (its audience or issuer is not registered here).", 401)
    if "deployment" in text.lower():
        return Refused("This deployment is not registered", "The learning platform launched a deployment of "
                       "labgrader that its admin has not registered here (`labgrader lti platform add "
                       "--deployment-id`).", 403)
    return Refused("This launch is not valid", "labgrader could not accept the sign-in from your course." + again)


def _is_staff(message) -> bool:
    return message.check_teacher_access() or message.check_teaching_assistant_access()


def _refused(exc: Refused):
    return render_template("lti/refused.html", title=exc.title, text=str(exc)), exc.status


def _param(name: str) -> str:
    return str(request.values.get(name, ""))[:200]


# -- Deep Linking -------------------------------------------------------------------------------------------


def _deep_link_picker(message, body):
    if not _is_staff(message):
        raise Refused("Only instructors add labs", "Adding a lab to a course is for its instructors.", 403)
    return render_template("lti/pick.html", launch_id=message.get_launch_id(), packs=labs.packs(),
                           course=(body.get(launches.CONTEXT) or {}).get("title", ""))


@bp.post("/deep-link")
def deep_link():
    """The instructor's choice: answer the platform with a signed content item (a link naming the lab,
    with a line item for its score). The launch id (random, from the validated launch) proves the request."""
    launch_id = request.form.get("launch_id", "")
    if not launch_id.startswith("lti1p3-launch-") or len(launch_id) > 100:
        abort(400)
    try:
        message = tool.message_launch(tool.DatabaseToolConf(), launch_id)
        if not message.is_deep_link_launch() or not _is_staff(message):
            abort(400)
        pack = labs.pack(request.form.get("lab", ""))
    except LtiException:
        return _refused(Refused("This choice has expired", "The list of labs was opened too long ago. Add the "
                                "activity again from your course.", 400))
    except NotFound:
        abort(400)
    resource = (DeepLinkResource().set_url(launch_url()).set_title(pack.title or pack.id)
                .set_custom_params({launches.LAB_PARAM: pack.id})
                .set_lineitem(LineItem().set_label(pack.title or pack.id).set_score_maximum(100)
                              .set_tag(f"labgrader:{pack.id}")))
    link = message.get_deep_link()
    settings = message.get_launch_data()["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"]
    action = settings["deep_link_return_url"]
    response = make_response(render_template("lti/deep_link_return.html", action=action,
                                             jwt=link.get_response_jwt([resource]), title=pack.title or pack.id))
    # The form posts to the LMS: the page's policy names that origin (and only it) as a form target.
    response.headers["Content-Security-Policy"] = security.csp(framing.ancestors(), [platforms.origin(action)])
    return response
