"""Declarative checks on Azure resources of any type: "a resource of this type, with this name, in this
region, with these settings", written in lab.yaml without Python.

Every check here takes, in ``expect``:

- ``type`` (required): the resource type, ``Microsoft.Storage/storageAccounts``;
- ``name``: a name rule (a string for the exact name, or ``{exact|prefix|pattern: ..., example: ...}``,
  templated with injects, as ``checks.expect.NameRule``); without one, any resource of the type;
- ``what``: how the student calls the resource ("storage account"); default "<type> resource";
- ``api_version``: the provider's api-version to read properties with (``resource_properties`` needs it);
- ``fix``: the sentence that tells the student how to fix a FAIL, instead of the check's own.

and each its own expectation: ``resource_location`` ``location``; ``resource_sku`` ``sku`` and/or
``tier``; ``resource_kind`` ``kind``; ``resource_tags`` ``tags`` (name -> value, null for any value);
``resource_properties`` ``properties``: a list of ``{path, <operator>: value, label, fix}`` where the
operator is one of ``equals``, ``one_of``, ``at_least``, ``at_most``, ``exists``, ``matches`` and ``path``
is a dotted path into the resource's ``properties`` (``encryption.services.blob.enabled``, ``ipRules.0``).

The checks read the fact ``facts.resources(type)`` (one list call per distinct type in a validation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from checks import facts as F
from checks.base import Context, check, failed, passed, pending
from checks.expect import NAME_RULE, TEMPLATE, TEXT, ExpectationError, Key, KeyType, NameRule
from checks.outcome import Outcome
from checks.select import same_region
from checks.wording import joined

_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+/[A-Za-z][A-Za-z0-9]*(/[A-Za-z][A-Za-z0-9]*)*$")
_IN_PROGRESS = {"accepted", "creating", "updating", "provisioning", "running", "resolvingdns"}
OPERATORS = ("equals", "one_of", "at_least", "at_most", "exists", "matches")
_MISSING = object()

# -- what the checks expect (declared once: the schema, lint and `checks list` read these) ---------------
RESOURCE_TYPE = KeyType("resource_type", "a resource type, Namespace/type (Microsoft.Storage/storageAccounts)",
                        {"type": "string", "pattern": _TYPE.pattern})
TAG_VALUES = KeyType("resource_tags", "a mapping of tag name to value (null: any value); {Inject} allowed",
                     {"type": "object", "minProperties": 1,
                      "additionalProperties": {"type": ["string", "number", "boolean", "null"]}},
                     templated=True)
API_VERSION = KeyType("api_version", "an api-version, yyyy-mm-dd or yyyy-mm-dd-preview (2023-05-01)",
                      {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(-[A-Za-z]+)?$"})
_ANY = {"type": ["string", "number", "boolean", "array", "object", "null"]}
PROPERTY_RULES = KeyType(
    "property_rules", "a list of {path, <operator>: value, label, fix}, operator one of " + ", ".join(OPERATORS),
    {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["path"], "additionalProperties": False,
        "properties": {"path": {"type": "string", "minLength": 1}, "label": {"type": "string"},
                       "fix": {"type": "string"}, "equals": _ANY,
                       "one_of": {"type": "array", "minItems": 1}, "at_least": {"type": ["number", "string"]},
                       "at_most": {"type": ["number", "string"]}, "exists": {"type": "boolean"},
                       "matches": {"type": "string", "format": "regex"}},
        "oneOf": [{"required": [op]} for op in OPERATORS]}},
    templated=True,
)
_COMMON = (
    Key("type", RESOURCE_TYPE, "The resource type.", required=True, example="Microsoft.Storage/storageAccounts"),
    Key("name", NAME_RULE, "The resource's name rule (default: any resource of the type).",
        example={"prefix": "st{DeploymentID}", "example": "st{DeploymentID}lab"}),
    Key("what", TEXT, "How the student calls the resource (default: '<type> resource').", example="storage account"),
    Key("api_version", API_VERSION, "The provider's api-version to read the resource with.", example="2023-05-01"),
    Key("fix", TEMPLATE, "The sentence that tells the student how to fix a FAIL, instead of the check's own."),
)


def named(expect: Mapping[str, Any]) -> dict[str, Any]:
    """The fact ``expect`` names (the resources of its ``type``) -> its api-version, if it gives one."""
    rtype = expect.get("type")
    if not isinstance(rtype, str) or not _TYPE.match(rtype.strip()):
        return {}  # the check then fails with an ERROR naming the bad type (see _Resource)
    version = expect.get("api_version")
    return {F.resources(rtype): str(version) if version is not None else None}


class _Resource:
    """One check's view of its expectation: the type, the name rule, the words, the resource it judges."""

    def __init__(self, facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> None:
        rtype = expect.get("type")
        if not isinstance(rtype, str) or not _TYPE.match(rtype.strip()):
            raise ExpectationError(f"'type' must be a resource type such as 'Microsoft.Storage/storageAccounts', "
                                   f"not {rtype!r}")
        self.type = rtype.strip()
        self.rule = NameRule.parse(expect["name"]) if expect.get("name") is not None else None
        self.what = str(expect.get("what") or f"{self.type} resource")
        self.fix = expect.get("fix")
        self.rg = ctx.resource_group  # the attendee's: the one group labgrader lists
        found: list[F.ResourceFact] = list(facts[F.resources(self.type)] or [])
        self.group = [r for r in found if not self.rg or (r.resource_group or "").casefold() == self.rg.casefold()]
        matching = [r for r in self.group if self.rule is None or self.rule.matches(r.name)]
        # Among several, a deployed one wins, then the first by name (deterministic).
        matching.sort(key=lambda r: ((r.provisioning_state or "succeeded").casefold() != "succeeded",
                                     r.name.casefold()))
        self.chosen: F.ResourceFact | None = matching[0] if matching else None
        self.others = matching[1:]

    def capital(self) -> str:
        """``what`` at the start of a sentence."""
        return self.what[:1].upper() + self.what[1:]

    def where(self) -> str:
        return f"resource group '{self.rg}'" if self.rg else "your resource group"

    def wanted(self) -> str:
        """"storage account named 'stx'" (or "whose name starts with 'st'", or just "storage account")."""
        return f"{self.what} {self.rule.describe()}" if self.rule else self.what

    def named_here(self) -> str:
        """"Storage account 'stx'"."""
        return f"{self.capital()} '{self.chosen.name}'"

    def evidence(self, **extra: Any) -> dict[str, Any]:
        r = self.chosen
        base = {"type": self.type, "resource_group": self.rg}
        if r is not None:
            base.update(name=r.name, location=r.location, kind=r.kind, sku=r.sku_name, tier=r.sku_tier,
                        provisioning_state=r.provisioning_state)
        return {**base, **extra}

    def missing(self, what: str) -> Outcome:
        """FAIL for a check that judges one setting of a resource that is not there (follows from exists)."""
        return failed(f"No {self.wanted()} was found in {self.where()}, so its {what} cannot be checked.",
                      f"Create the {self.what} as the lab guide describes, then validate again.",
                      self.evidence(), follows_from="resource_exists")

    def hint(self, default: str) -> str:
        return str(self.fix) if self.fix else default


def _describe(r: F.ResourceFact) -> str:
    parts = [p for p in (r.kind, r.sku_name, r.location) if p]
    return f"'{r.name}'" + (f" ({', '.join(parts)})" if parts else "")


# -- existence and provisioning -------------------------------------------------------------------------
@check("resource_exists", title="A resource of the lab's type and name exists and finished deploying",
       reads=(), named=named, expects=_COMMON)
def resource_exists(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    res = _Resource(facts, expect, ctx)
    r = res.chosen
    if r is None:
        suggestion = f" named '{res.rule.suggestion()}'" if res.rule else ""
        create = res.hint(f"Create the {res.what}{suggestion} in {res.where()} as the lab guide describes, then "
                          "validate again.")
        evidence = res.evidence(found=[_describe(x) for x in res.group])
        if not res.group:
            return failed(f"No {res.wanted()} was found in {res.where()}.", create, evidence)
        return failed(f"No {res.wanted()} was found in {res.where()}; found {joined(_describe(x) for x in res.group)}.",
                      f"A resource cannot be renamed. {create}", evidence)
    state = r.provisioning_state or "Succeeded"  # the list gives none when ARM was not asked: it exists
    advice = [f"Also found {res.what} '{x.name}'; labgrader checks '{r.name}'." for x in res.others]
    if state.casefold() == "succeeded":
        return passed(f"Found {res.what} '{r.name}' in {res.where()}.", res.evidence(), advice)
    if state.casefold() in _IN_PROGRESS:
        return pending(f"{res.named_here()} is still being deployed (provisioning state {state}).",
                       "Wait for the deployment to finish; it usually takes a minute or two.", res.evidence(),
                       recheck_after=10)
    if state.casefold() == "deleting":
        return failed(f"{res.named_here()} is being deleted.",
                      res.hint(f"When the deletion has finished, create the {res.what} again as the lab guide "
                               "describes."), res.evidence())
    return failed(f"{res.named_here()} has provisioning state {state}; it needs to be Succeeded.",
                  res.hint(f"Delete '{r.name}' in the Azure portal, then create it again as the lab guide "
                           "describes."), res.evidence())


# -- top-level settings ---------------------------------------------------------------------------------
def _required(expect: Mapping[str, Any], key: str) -> Any:
    value = expect.get(key)
    if value is None or value == "":
        raise ExpectationError(f"this check needs '{key}' in its expectation")
    return value


@check("resource_location", title="The resource is in the lab's region", reads=(), named=named,
       expects=(*_COMMON, Key("location", TEMPLATE, "The region the resource must be in.", required=True,
                              example="{Region}")))
def resource_location(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    want = str(_required(expect, "location"))
    res = _Resource(facts, expect, ctx)
    r = res.chosen
    if r is None:
        return res.missing("region")
    ev = res.evidence(expected_location=want)
    if same_region(r.location, want):
        return passed(f"{res.named_here()} is in region {r.location}.", ev)
    return failed(f"{res.named_here()} is in region {r.location}; this lab needs {want}.",
                  res.hint(f"A resource cannot move to another region: delete '{r.name}' in the Azure portal, then "
                           f"create it again in {want}."), ev)


@check("resource_sku", title="The resource uses the lab's SKU (pricing tier)", reads=(), named=named,
       expects=(*_COMMON, Key("sku", TEXT, "The SKU name (sku and/or tier).", example="Standard_LRS"),
                Key("tier", TEXT, "The SKU tier (sku and/or tier).", example="Standard")))
def resource_sku(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    sku, tier = expect.get("sku"), expect.get("tier")
    if sku is None and tier is None:
        raise ExpectationError("resource_sku needs 'sku' or 'tier' in its expectation")
    res = _Resource(facts, expect, ctx)
    r = res.chosen
    if r is None:
        return res.missing("SKU")
    ev = res.evidence(expected_sku=sku, expected_tier=tier)
    wrong = []
    if sku is not None and (r.sku_name or "").casefold() != str(sku).casefold():
        wrong.append(("SKU", r.sku_name, sku))
    if tier is not None and (r.sku_tier or "").casefold() != str(tier).casefold():
        wrong.append(("tier", r.sku_tier, tier))
    if not wrong:
        shown = " ".join(p for p in (r.sku_name, f"({r.sku_tier})" if r.sku_tier and tier is not None else "") if p)
        return passed(f"{res.named_here()} uses SKU {shown}.", ev)
    found = joined(f"{label} {value or 'none'}" for label, value, _ in wrong)
    needed = joined(f"{label} {value}" for label, _, value in wrong)
    target = " ".join(str(v) for v in (sku, tier) if v is not None)
    return failed(f"{res.named_here()} uses {found}; this lab needs {needed}.",
                  res.hint(f"In the Azure portal, open '{r.name}', change its pricing tier to {target}, and save."),
                  ev)


@check("resource_kind", title="The resource is of the lab's kind", reads=(), named=named,
       expects=(*_COMMON, Key("kind", TEXT, "The resource's kind.", required=True, example="StorageV2")))
def resource_kind(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    want = str(_required(expect, "kind"))
    res = _Resource(facts, expect, ctx)
    r = res.chosen
    if r is None:
        return res.missing("kind")
    ev = res.evidence(expected_kind=want)
    if (r.kind or "").casefold() == want.casefold():
        return passed(f"{res.named_here()} is of kind {r.kind}.", ev)
    found = f"of kind {r.kind}" if r.kind else "without a kind"
    return failed(f"{res.named_here()} is {found}; this lab needs kind {want}.",
                  res.hint(f"Delete '{r.name}' in the Azure portal, then create it again with kind {want} as the lab "
                           "guide describes."), ev)


@check("resource_tags", title="The resource carries the lab's tags", reads=(), named=named,
       expects=(*_COMMON, Key("tags", TAG_VALUES, "Tags the resource must carry: name -> value (null: any value).",
                              required=True, example={"course": "az-104"})))
def resource_tags(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    want = _required(expect, "tags")
    if not isinstance(want, Mapping):
        raise ExpectationError("'tags' must map tag names to values (null: any value)")
    res = _Resource(facts, expect, ctx)
    r = res.chosen
    if r is None:
        return res.missing("tags")
    # Tag names are case-insensitive in Azure; values are not.
    have = {str(k).casefold(): (str(k), v) for k, v in (r.tags or {}).items()}
    problems, fixes = [], []
    for name, value in want.items():
        found = have.get(str(name).casefold())
        if found is None:
            problems.append(f"no tag '{name}'")
        elif value is not None and str(found[1]) != str(value):
            problems.append(f"tag '{found[0]}' = '{found[1]}'")
        else:
            continue
        fixes.append(f"{name} = {value}" if value is not None else f"{name} (any value)")
    ev = res.evidence(tags=dict(r.tags or {}), expected_tags=dict(want))
    if not problems:
        return passed(f"{res.named_here()} has the tags {joined(repr(str(n)) for n in want)}.", ev)
    return failed(f"{res.named_here()} has {joined(problems)}; this lab needs {joined(fixes)}.",
                  res.hint(f"In the Azure portal, open '{r.name}', select Tags, set {joined(fixes)}, and apply."), ev)


# -- properties -----------------------------------------------------------------------------------------
def lookup(properties: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``properties`` (list items by index), or ``_MISSING``.

    Property names compare case-insensitively when no exact match exists (ARM's JSON is camelCase, lab
    authors may not be).
    """
    value = properties
    parts = path.split(".")
    if parts and parts[0] == "properties":
        parts = parts[1:]
    for part in parts:
        if isinstance(value, Mapping):
            if part in value:
                value = value[part]
                continue
            key = next((k for k in value if str(k).casefold() == part.casefold()), _MISSING)
            if key is _MISSING:
                return _MISSING
            value = value[key]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def shown(value: Any) -> str:
    """A value as a message shows it: true/false, numbers and strings plainly, the rest as JSON."""
    if value is _MISSING or value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _same(found: Any, want: Any) -> bool:
    if isinstance(found, bool) or isinstance(want, bool):
        return isinstance(found, bool) and isinstance(want, bool) and found is want
    if isinstance(found, int | float) and isinstance(want, int | float):
        return found == want
    if isinstance(found, str) and isinstance(want, str):
        return found.casefold() == want.casefold()  # ARM's enum values compare without case
    return found == want


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


class PropertyRule:
    """One property expectation: ``{path, <operator>: value, label, fix}`` (see the module docstring)."""

    def __init__(self, spec: Any) -> None:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("path"), str) or not spec["path"].strip():
            raise ExpectationError(f"a property expectation needs 'path' (a dotted path), got {spec!r}")
        ops = [k for k in OPERATORS if k in spec]
        if len(ops) != 1:
            raise ExpectationError(f"property '{spec['path']}' needs exactly one of {', '.join(OPERATORS)}, "
                                   f"got {', '.join(ops) or 'none'}")
        self.path = spec["path"].strip()
        self.op = ops[0]
        self.value = spec[self.op]
        self.label = str(spec.get("label") or self.path)
        self.fix = spec.get("fix")
        if self.op == "one_of" and (not isinstance(self.value, list) or not self.value):
            raise ExpectationError(f"'one_of' of property '{self.path}' must be a non-empty list")
        if self.op in ("at_least", "at_most") and _number(self.value) is None:
            raise ExpectationError(f"'{self.op}' of property '{self.path}' must be a number, not {self.value!r}")
        if self.op == "exists" and not isinstance(self.value, bool):
            raise ExpectationError(f"'exists' of property '{self.path}' must be true or false")
        if self.op == "matches":
            try:
                re.compile(str(self.value))
            except re.error as exc:
                raise ExpectationError(f"'matches' of property '{self.path}' is not a valid regex: {exc}") from None

    def expected(self) -> str:
        """What the lab needs, in words: "true", "one of TLS1_2 or TLS1_3", "at least 2", "set"."""
        if self.op == "equals":
            return shown(self.value)
        if self.op == "one_of":
            return "one of " + joined((shown(v) for v in self.value), limit=10).replace(" and ", " or ")
        if self.op == "at_least":
            return f"at least {shown(self.value)}"
        if self.op == "at_most":
            return f"at most {shown(self.value)}"
        if self.op == "exists":
            return "set" if self.value else "not set"
        return f"a value matching '{self.value}'"

    def holds(self, found: Any) -> bool:
        present = found is not _MISSING and found is not None
        if self.op == "exists":
            return present is self.value
        if not present:
            return False
        if self.op == "equals":
            return _same(found, self.value)
        if self.op == "one_of":
            return any(_same(found, v) for v in self.value)
        if self.op in ("at_least", "at_most"):
            number = _number(found)
            if number is None:
                return False
            bound = _number(self.value)
            return number >= bound if self.op == "at_least" else number <= bound
        return re.fullmatch(str(self.value), shown(found), flags=re.IGNORECASE) is not None


@check("resource_properties", title="The resource's settings have the lab's values", reads=(), named=named,
       expects=(*(k for k in _COMMON if k.name != "api_version"),
                Key("api_version", API_VERSION, "The provider's api-version to read the resource's properties with.",
                    required=True, example="2023-05-01"),
                Key("properties", PROPERTY_RULES, "Property expectations: a dotted path into the resource's "
                                                  "properties and one operator.", required=True,
                    example=[{"path": "supportsHttpsTrafficOnly", "equals": True,
                              "label": "Secure transfer required"}])))
def resource_properties(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    specs = _required(expect, "properties")
    if not isinstance(specs, Sequence) or isinstance(specs, str | bytes):
        raise ExpectationError("'properties' must be a list of {path, <operator>: value} expectations")
    rules = [PropertyRule(s) for s in specs]
    _required(expect, "api_version")
    res = _Resource(facts, expect, ctx)
    r = res.chosen
    if r is None:
        return res.missing("settings")
    props = r.properties or {}
    found = {rule.path: lookup(props, rule.path) for rule in rules}
    ev = res.evidence(properties={rule.path: shown(found[rule.path]) for rule in rules},
                      expected={rule.path: rule.expected() for rule in rules})
    wrong = [rule for rule in rules if not rule.holds(found[rule.path])]
    if not wrong:
        return passed(f"{res.named_here()} has "
                      f"{joined(f'{rule.label} {shown(found[rule.path])}' for rule in rules)}.", ev)
    sentences = []
    for rule in wrong:
        value = found[rule.path]
        is_ = "is not set" if value is _MISSING or value is None else f"is {shown(value)}"
        sentences.append(f"{rule.label} {is_}; this lab needs {rule.expected()}")
    message = f"{res.named_here()}: " + "; ".join(sentences) + "."
    fixes = [str(rule.fix) for rule in wrong if rule.fix]
    default = (f"In the Azure portal, open '{r.name}' and set "
               f"{joined(f'{rule.label} to {rule.expected()}' for rule in wrong)}, then save.")
    return failed(message, " ".join(fixes) if fixes else res.hint(default), ev)
