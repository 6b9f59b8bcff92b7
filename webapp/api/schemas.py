"""Marshmallow schemas of the API's bodies: they parse requests, shape responses and generate the OpenAPI
document. Secrets appear only in request schemas (``load_only``); no response schema has a field for one."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..services.progress import CURRENT_STATUSES, SORTS

# -- errors ---------------------------------------------------------------------------------------------


class ErrorBodySchema(Schema):
    status = fields.Integer(required=True, metadata={"description": "The HTTP status, repeated."})
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code "
                                                                 "(invalid_input, not_found, invalid_api_key, ...)."})
    message = fields.String(required=True, metadata={"description": "A sentence saying what is wrong."})
    field = fields.String(allow_none=True, metadata={"description": "Dotted name of the input at fault, if one is."})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


# -- attendees ------------------------------------------------------------------------------------------

_INJECTS = {"description": "Inject key -> value (the lab's keys: Region, DeploymentID, ...). Secret injects "
                           "(AzureAdUserPassword) are write-only. A null value removes the inject."}


def _azure_str(description: str, **kw) -> fields.String:
    return fields.String(allow_none=True, metadata={"description": description}, **kw)


class AzureCredentialsSchema(Schema):
    """The credentials JSON of one attendee, as azuresim's ``sim attendee create`` prints it."""

    tenant_id = _azure_str("Entra ID tenant of the grader's service principal.")
    client_id = _azure_str("Application (client) id of the service principal.")
    client_secret = _azure_str("Secret of the service principal. Write-only: never returned.", load_only=True)
    subscription_id = _azure_str("The attendee's subscription.")
    resource_group = _azure_str("The attendee's resource group.")
    region = _azure_str("The region the attendee must use.")
    authority_host = _azure_str("Entra ID authority (default: public Azure).")
    arm_endpoint = _azure_str("ARM endpoint (default: public Azure).")
    credential_scope = _azure_str("Token scope for ARM (default: public Azure).")
    ca_bundle = _azure_str("CA bundle path on the labgrader host (for a private cloud or the simulator).")
    injects = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True,
                          metadata=_INJECTS)


class AttendeeInSchema(Schema):
    cohort = fields.String(data_key="class", allow_none=True,
                           metadata={"description": "The class (cohort) the attendee belongs to; '' removes it."})
    display_name = fields.String(allow_none=True, metadata={"description": "Name proctors see (default: the id)."})
    lms_user_id = fields.String(allow_none=True, validate=validate.Length(max=255), metadata={
        "description": "The attendee's user id in an LMS that launches labgrader with LTI 1.3 (the id_token's "
                       "sub): that user's launches of this lab open this attendee. null or '' removes it."})
    injects = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), allow_none=True,
                          metadata=_INJECTS)
    # Not nullable: an attendee cannot be created without credentials, and on update leaving it out already
    # keeps what is stored (the document must not offer a null that creating refuses).
    azure = fields.Nested(AzureCredentialsSchema, metadata={
        "description": "Credentials labgrader uses to inspect the attendee's Azure. Required when creating: "
                       "subscription_id and resource_group, with tenant_id, client_id and client_secret of the "
                       "service principal the grader signs in as (without client_id, the platform's own identity "
                       "is used). On update, leave it out to keep the stored credentials; within it, a field left "
                       "out keeps its stored value and a null removes it."})


class AzurePublicSchema(Schema):
    """The stored credentials without the secret."""

    tenant_id = fields.String()
    client_id = fields.String()
    subscription_id = fields.String()
    resource_group = fields.String()
    region = fields.String()
    authority_host = fields.String()
    arm_endpoint = fields.String()
    credential_scope = fields.String()
    ca_bundle = fields.String()


class AttendeeOutSchema(Schema):
    lab = fields.String(required=True)
    attendee = fields.String(required=True, metadata={"description": "The platform's id of the attendee."})
    cohort = fields.String(data_key="class", allow_none=True)
    display_name = fields.String(required=True)
    lms_user_id = fields.String(required=True, allow_none=True, metadata={"description": "See the request."})
    injects = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "Non-secret injects only."})
    secret_injects_set = fields.List(fields.String(), metadata={"description": "Keys of the secret injects "
                                                                               "stored (their values never leave)."})
    azure = fields.Nested(AzurePublicSchema, required=True)
    client_secret_set = fields.Boolean(required=True)
    launch_url = fields.String(required=True, metadata={"description": "Signed link that opens the attendee's "
                                                                        "guide; give it to that attendee only."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


# -- validations ----------------------------------------------------------------------------------------


class ValidationInSchema(Schema):
    step = fields.String(required=True, metadata={
        "description": "The step to validate: its id from lab.yaml (a UUID) or its task number ('1', '3.1').",
        "example": "3.1"})


class ValidationsInSchema(Schema):
    steps = fields.List(fields.String(), load_default=None, allow_none=True, validate=validate.Length(1, 100),
                        metadata={
        "description": "The steps to validate, each by its id or task number ('1', '3.1'); absent or null: every "
                       "step of the lab, in lab order. A step named twice is validated once.",
        "example": ["1", "2", "3.1"]})


class CheckOutcomeSchema(Schema):
    check_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["PASS", "FAIL", "PENDING", "ERROR"]})
    message = fields.String(required=True)
    hint = fields.String(required=True, allow_none=True)
    evidence = fields.Dict(required=True, metadata={
        "description": "What was observed (keys and secrets redacted)."})
    advice = fields.List(fields.String(), required=True)
    advisory = fields.Boolean(metadata={
        "description": "True for an advisory check: its outcome is shown as advice and never decides the step's "
                       "status. Absent in results recorded before advisory checks existed (read as false)."})
    recheck_after = fields.Integer(allow_none=True, metadata={
        "description": "For PENDING: seconds after which the check may find the work finished; else null. "
                       "Absent in results recorded before it existed."})
    follows_from = fields.String(allow_none=True, metadata={
        "description": "The id of the check this outcome only follows from ('no project, so its domain cannot be "
                       "checked' follows from project_exists), or null when it stands on its own. When that check "
                       "did not pass in the same step, this outcome is not a cause of its own.",
        "example": "project_exists"})


class StepResultSchema(Schema):
    """Exactly ``StepResult.to_json()``, as ``labgrader validate --json`` prints per step."""

    lab = fields.String(required=True)
    step = fields.String(required=True)
    task = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "enum": ["PASS", "FAIL", "PENDING", "ERROR"],
        "description": "PASS/FAIL judge the student's work; PENDING: in progress, retry later; ERROR: "
                       "labgrader could not observe (not the student's fault). Always HTTP 200."})
    message = fields.String(required=True, metadata={"description": "The sentence the student reads."})
    hint = fields.String(required=True, allow_none=True)
    advice = fields.List(fields.String(), required=True)
    found = fields.List(fields.String(), metadata={
        "description": "What labgrader observed, in plain sentences for the student ('Project ... has 2 tags: "
                       "...'). Absent in results recorded before it existed."})
    observed = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), metadata={
        "description": "Identities of what the verdict was judged on: training_account (ARM id), project, "
                       "latest_iteration, trained_iteration (ids); null when observed not to exist."})
    checks = fields.List(fields.Nested(CheckOutcomeSchema), required=True)
    azure_calls = fields.Integer(required=True)
    calls_by_operation = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    duration_ms = fields.Integer(required=True)
    started_at = fields.String(required=True, metadata={"format": "date-time"})
    recheck_after = fields.Integer(allow_none=True, metadata={
        "description": "For PENDING: seconds after which validating again may find the work finished (the "
                       "hint never says when to retry; a platform's page can check again by itself after "
                       "this long). Null for every other status."})


class StepResultsSchema(Schema):
    results = fields.List(fields.Nested(StepResultSchema), required=True, metadata={
        "description": "One result per step asked, in that order, each exactly what validating that step alone "
                       "answers (``azure_calls`` counts the calls made for the facts the step reads; a call "
                       "serving several steps counts in each). Credentials labgrader cannot use give one ERROR, "
                       "for the first step."})


# -- labs -----------------------------------------------------------------------------------------------


class InjectSchema(Schema):
    key = fields.String(required=True)
    description = fields.String(required=True)
    secret = fields.Boolean(required=True)
    default = fields.String(allow_none=True, metadata={"description": "Default value; always null for secrets."})


class CheckRefSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)


class StepSchema(Schema):
    id = fields.String(required=True)
    task = fields.String(required=True)
    title = fields.String(required=True)
    requires = fields.List(fields.String(), required=True, metadata={"description": "Step ids to pass first."})
    checks = fields.List(fields.Nested(CheckRefSchema), required=True)


class TaskSchema(Schema):
    task = fields.String(required=True)
    title = fields.String(required=True)
    steps = fields.List(fields.String(), required=True)


class LabSummarySchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    version = fields.String(required=True)
    steps = fields.Integer(required=True, metadata={"description": "Number of validation steps."})


class LabListSchema(Schema):
    labs = fields.List(fields.Nested(LabSummarySchema), required=True)


class LabSchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    version = fields.String(required=True)
    injects = fields.List(fields.Nested(InjectSchema), required=True)
    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    steps = fields.List(fields.Nested(StepSchema), required=True)


# -- progress -------------------------------------------------------------------------------------------


class StepProgressSchema(Schema):
    task = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, allow_none=True, metadata={"description": "Null: never validated."})
    attempts = fields.Integer(required=True)
    last_message = fields.String(required=True)
    last_attempt_at = fields.DateTime(required=True, allow_none=True)
    passed_at = fields.DateTime(required=True, allow_none=True)
    out_of_date = fields.Boolean(metadata={
        "description": "True for a PASS judged on resources that have changed since (a retrain made a newer "
                       "trained iteration, the project was made again): it does not count until validated again."})


class TotalsSchema(Schema):
    steps = fields.Integer(required=True)
    passed = fields.Integer(required=True, metadata={"description": "Steps passed and not out of date."})
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                            metadata={"description": "PASS/FAIL/PENDING/ERROR/NOT_STARTED -> count."})


class ScoreSchema(Schema):
    percent = fields.Float(required=True, metadata={
        "description": "0-100: the weighted share of the lab's steps credited (lab.yaml weights, default 1). A step "
                       "is credited once it passed; unless the lab sets keep_credit: false, it keeps that credit "
                       "when it fails later."})
    pass_mark = fields.Float(required=True, allow_none=True, metadata={"description": "The lab's pass mark, if any."})
    passes = fields.Boolean(required=True, allow_none=True, metadata={
        "description": "percent >= pass_mark (null when the lab sets no pass mark)."})


class AttendeeProgressSchema(Schema):
    lab = fields.String(required=True)
    attendee = fields.String(required=True)
    display_name = fields.String(required=True)
    cohort = fields.String(data_key="class", allow_none=True)
    steps = fields.Dict(keys=fields.String(), values=fields.Nested(StepProgressSchema), required=True,
                        metadata={"description": "Step id -> progress, in lab order."})
    totals = fields.Nested(TotalsSchema, required=True)
    score = fields.Nested(ScoreSchema, required=True)


class ClassQuerySchema(Schema):
    cohort = fields.String(data_key="class", metadata={"description": "Only this class (default: every attendee "
                                                                      "of the lab)."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1), metadata={
        "description": "Which page of attendees (from 1) after the filters and the sort. The per-step counts, "
                       "failure reasons, stuck attendees and totals are always the whole class's."})
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500),
                              metadata={"description": "Attendees per page (at most 500)."})
    sort = fields.String(load_default="name", validate=validate.OneOf(SORTS), metadata={
        "description": "name; progress (most steps done first); time (longest on their current step first)."})
    status = fields.String(validate=validate.OneOf(CURRENT_STATUSES), metadata={
        "description": "Only attendees whose current task (the first not passed) has this status; PASS: they "
                       "finished the lab, NOT_STARTED: they have not validated their current task yet."})
    step = fields.String(validate=validate.Length(max=100), metadata={
        "description": "Only attendees whose current step is this one (a step id or its task number)."})
    stuck = fields.Boolean(load_default=False, metadata={"description": "Only attendees flagged stuck."})
    q = fields.String(validate=validate.Length(max=100), metadata={
        "description": "Only attendees whose display name or id contains this (any case)."})


class GridCellSchema(Schema):
    status = fields.String(required=True, allow_none=True)
    attempts = fields.Integer(required=True)
    last_attempt_at = fields.DateTime(required=True, allow_none=True)
    passed_at = fields.DateTime(required=True, allow_none=True)
    out_of_date = fields.Boolean(metadata={
        "description": "True for a PASS judged on resources that have changed since (a retrain made a newer "
                       "trained iteration, the project was made again): it does not count until validated again."})


class GridRowSchema(Schema):
    attendee = fields.String(required=True)
    display_name = fields.String(required=True)
    cohort = fields.String(data_key="class", allow_none=True)
    passed = fields.Integer(required=True)
    score = fields.Nested(ScoreSchema, required=True)
    steps = fields.Dict(keys=fields.String(), values=fields.Nested(GridCellSchema), required=True)


class FailureReasonSchema(Schema):
    check_id = fields.String(required=True)
    count = fields.Integer(required=True, metadata={"description": "Attendees currently failing this check."})
    example = fields.String(required=True, metadata={"description": "One of their messages."})


class StuckSchema(Schema):
    attendee = fields.String(required=True)
    display_name = fields.String(required=True)
    reason = fields.String(required=True)


class StepSummarySchema(Schema):
    step = fields.String(required=True)
    task = fields.String(required=True)
    title = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    started = fields.Integer(required=True)
    passed = fields.Integer(required=True)
    failures = fields.List(fields.Nested(FailureReasonSchema), required=True,
                           metadata={"description": "Most common failing checks first."})
    stuck = fields.List(fields.Nested(StuckSchema), required=True)


class PagingSchema(Schema):
    page = fields.Integer(required=True, metadata={"description": "The page returned (the last one when the page "
                                                                  "asked for is past it)."})
    per_page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    matching = fields.Integer(required=True, metadata={"description": "Attendees the filters select, on all pages."})
    attendees = fields.Integer(required=True, metadata={"description": "Attendees in the class (or the lab)."})


class ClassProgressSchema(Schema):
    lab = fields.String(required=True)
    cohort = fields.String(data_key="class", allow_none=True)
    attendees = fields.List(fields.Nested(GridRowSchema), required=True, metadata={
        "description": "One page of attendees (see paging), filtered and sorted across the whole class."})
    paging = fields.Nested(PagingSchema, required=True)
    steps = fields.List(fields.Nested(StepSummarySchema), required=True)
    totals = fields.Nested(TotalsSchema, required=True)
