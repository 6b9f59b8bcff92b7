"""The scripted student: performs each task of the Spot the Flaw lab through the official SDKs, as the
portal would, either correctly or with a named mistake real students make.

    student = Student(credentials)          # the credentials JSON of one attendee
    student.do("1")                         # Task 1, done right
    student.do("2", mistake="multilabel")   # Task 2, with a classic mistake

The names, tiers, tags, counts and training type it uses come from a :class:`LabPlan`: Spot the Flaw's by
default, or a pack's own (``LabPlan.from_pack``), so a lab author can dry-run a variant of the lab.

It works against azuresim or real Azure alike: it only talks through the SDKs and the credentials JSON.
``training-failed`` is the one mistake that needs the simulator (it asks azuresim to fail the training).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests
from azure.cognitiveservices.vision.customvision.training import CustomVisionTrainingClient
from azure.cognitiveservices.vision.customvision.training.models import ImageFileCreateBatch, ImageFileCreateEntry
from azure.core.polling import LROPoller
from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import Account, AccountProperties, Sku
from msrest.authentication import ApiKeyCredentials

from .images import casting_image

PROJECT_NAME = "Casting Defect Detection"
PROJECT_DESCRIPTION = "Classifying casting images as ok or defective"
GOOD_TAG, DEFECT_TAG = "Non Defective", "Defect"
GOOD_COUNT, DEFECT_COUNT = 519, 781  # ok_front and def_front in the casting_512x512 dataset
GENERAL_COMPACT = "0732100f-1a38-4e49-a514-c9b44c697ab5"
GENERAL = "ee85a74c-405e-4adc-bb47-ffa8ca0c9f31"
OD_GENERAL_COMPACT = "a27d5ca5-bb19-49d8-a70a-fec086c47f5b"
OD_DOMAINS = {OD_GENERAL_COMPACT, "7ec2ac80-887b-48a6-8df9-8b1357765430", "da2e3a8a-40a5-4171-82f4-58522f70fbc1"}
BATCH = 64  # Custom Vision accepts at most 64 images per upload call
QUICKTEST_INDEX = 100_000  # quick-test images are new ones, never uploaded for training

TASKS = ("1", "2", "3.1", "3.2", "4", "5.1", "5.2", "6")

# What each mistake has the student do, in words a practice menu can show: what they do, never the verdict
# labgrader gives it (some of these pass, with advice). Ids are stable: tests and the demo name them.
MISTAKES: dict[str, dict[str, str]] = {
    "1": {
        "wrong-name": "names the resource 'cv-casting-<DeploymentID>' instead of customvision-casting-<DeploymentID>",
        "wrong-region": "creates the resource in a region other than the lab's",
        "wrong-tier": "picks the Standard S0 training tier instead of Free F0",
        "wrong-kind": "creates a multi-service Azure AI services resource instead of Custom Vision",
        "training-only": "creates only the training resource (no prediction resource)",
    },
    "2": {
        "wrong-name": "names the project 'Casting Defects'",
        "wrong-description": "leaves the description empty",
        "object-detection": "picks Object Detection instead of Classification",
        "multilabel": "picks Multilabel instead of Multiclass",
        "non-compact-domain": "picks the General domain instead of General (compact)",
    },
    "3.1": {
        "misspelled-tag": "tags the good images 'Non Defect'",
        "too-few-images": "uploads only a fifth of the good images",
        "untagged": "uploads the good images without a tag",
        "hyphenated-tag": "tags the good images 'Non-Defective', with a hyphen",
    },
    "3.2": {
        "stray-quote": "types a quotation mark with the tag name: '\u201cDefect'",
        "misspelled-tag": "tags the defective images 'Defects'",
        "too-few-images": "uploads only a fifth of the defective images",
        "untagged": "uploads the defective images without a tag",
    },
    "4": {
        "advanced-training": "chooses Advanced Training instead of Quick Training",
        "training-failed": "starts a training that fails (the simulator fails it on purpose)",
        "not-finished": "checks before the training has finished",
    },
    "5.1": {"wrong-image": "quick-tests a good casting instead of a defective one"},
    "5.2": {"wrong-image": "quick-tests a defective casting instead of a good one"},
    "6": {},
}


# What doing a task correctly also does to what an earlier mistake left behind (``do`` reports each change).
REPAIRS: dict[str, str] = {
    "1": "a resource on the wrong pricing tier is moved to Free F0; one with the wrong name, kind or region "
         "is deleted and then purged",
    "2": "the project is fixed in its settings; an Object Detection project is deleted and made again",
    "3.1": "a misspelled tag is renamed; images uploaded without a tag get it",
    "3.2": "a misspelled tag is renamed; images uploaded without a tag get it",
}

# The misspellings the mistakes above make, which a student fixing Task 3 renames.
MISSPELLINGS = {GOOD_TAG: ("Non Defect", "Non-Defective"), DEFECT_TAG: ("Defects", "\u201cDefect")}


class StudentError(RuntimeError):
    """The task cannot be performed (an earlier task is missing, an unknown mistake, ...)."""


def attendee_injects(credentials: dict) -> dict[str, str]:
    """The inject values a student's credentials JSON gives: its ``injects``, region and resource group, and a
    DeploymentID (the subscription id's first six characters when the platform gave none)."""
    values = {k: str(v) for k, v in (credentials.get("injects") or {}).items() if v is not None}
    for field_name, key in (("region", "Region"), ("resource_group", "ResourceGroup")):
        if credentials.get(field_name):
            values.setdefault(key, str(credentials[field_name]))
    values["DeploymentID"] = values.get("DeploymentID") or str(credentials["subscription_id"])[:6]
    return values


@dataclass(frozen=True)
class LabPlan:
    """What the lab asks the student to make, read from a pack's expectations where its checks state them
    (:meth:`from_pack`); the defaults are Spot the Flaw's. ``account_name`` may hold ``{DeploymentID}``.
    ``good_tag``/``defect_tag`` label the good and the defective castings (Tasks 3.1 and 3.2)."""

    account_name: str = "customvision-casting-{DeploymentID}"
    training_sku: str = "F0"
    prediction_sku: str = "F0"
    project_name: str = PROJECT_NAME
    description: str = PROJECT_DESCRIPTION
    classification_type: str = "Multiclass"
    good_tag: str = GOOD_TAG
    defect_tag: str = DEFECT_TAG
    good_count: int = GOOD_COUNT
    defect_count: int = DEFECT_COUNT
    training_type: str = "Regular"

    @classmethod
    def from_pack(cls, pack, injects: dict[str, str] | None = None) -> LabPlan:
        """The plan a pack's expectations give, rendered with ``injects`` over the pack's demo defaults
        (:func:`attendee_injects` gives a student's). The good castings' tag is the
        one Task 3.1 (else the pack's first ``tag_image_count``) counts, the defective ones' Task 3.2's (else
        its second); what the pack does not state keeps Spot the Flaw's value."""
        from checks import registry
        from checks.expect import ExpectationError, NameRule

        values = {**pack.demo_injects(), **(injects or {})}
        first: dict[str, dict] = {}
        counted: list[tuple[str, dict]] = []
        for step in pack.steps:
            for c in step.checks:
                try:
                    resolved = registry.get(c.id).expectations(c.expect, values)
                except (KeyError, ExpectationError):
                    continue  # lint reports it; the student keeps the default
                first.setdefault(c.id, resolved)
                if c.id == "tag_image_count":
                    counted.append((step.task, resolved))
        plan: dict = {}
        if (rule := first.get("account_training_exists", {}).get("name")) is not None:
            plan["account_name"] = NameRule.parse(rule).suggestion()
        for check_id, key, field_name in (
            ("account_training_tier", "sku", "training_sku"), ("account_prediction_exists", "sku", "prediction_sku"),
            ("project_exists", "name", "project_name"), ("project_description", "description", "description"),
            ("project_classification_multiclass", "classification_type", "classification_type"),
            ("iteration_training_type", "training_type", "training_type"),
        ):
            if check_id in first and first[check_id][key] is not None:
                plan[field_name] = first[check_id][key]
        by_task = {task: e for task, e in counted}
        good = by_task.get("3.1") or (counted[0][1] if counted else None)
        defect = by_task.get("3.2") or (counted[1][1] if len(counted) > 1 else None)
        if good is not None:
            plan.update(good_tag=good["tag"], good_count=good["min_images"])
        if defect is not None and defect is not good:
            plan.update(defect_tag=defect["tag"], defect_count=defect["min_images"])
        return cls(**plan)

    def misspellings(self, defective: bool) -> tuple[str, str]:
        """The two wrong spellings a student types for the good or the defective castings' tag (the
        misspelled-tag mistake first): Spot the Flaw's real ones, or made from the lab's tag name."""
        tag = self.defect_tag if defective else self.good_tag
        if tag in MISSPELLINGS:
            return MISSPELLINGS[tag]
        misspelled = tag[:-1] if tag.endswith("s") else f"{tag}s"
        other = f"\u201c{tag}" if defective else (tag.replace(" ", "-") if " " in tag else f"{tag[:1]}-{tag[1:]}")
        return misspelled, other


@dataclass
class Student:
    """One attendee doing the lab ``plan`` describes (Spot the Flaw by default). ``counts`` overrides the
    image counts by tag name (tests use smaller ones)."""

    credentials: dict
    counts: dict[str, int] | None = None
    wait_for_training: bool = True
    training_timeout: float = 120.0
    plan: LabPlan = field(default_factory=LabPlan)

    def __post_init__(self) -> None:
        plan = self.plan
        self.counts = {plan.good_tag: plan.good_count, plan.defect_tag: plan.defect_count, **(self.counts or {})}
        c = self.credentials
        self.subscription_id = c["subscription_id"]
        self.resource_group = c["resource_group"]
        self.region = c.get("region") or "eastus"
        self.deployment_id = attendee_injects(c)["DeploymentID"]
        self.ca_bundle = c.get("ca_bundle")
        options: dict = {"authority": c.get("authority_host") or "https://login.microsoftonline.com"}
        if c.get("authority_host"):
            options["disable_instance_discovery"] = True
        if self.ca_bundle:
            options["connection_verify"] = self.ca_bundle
        # Credentials made with a separate grader principal carry the student's own under "student".
        me = c.get("student") or c
        self._credential = ClientSecretCredential(c["tenant_id"], me["client_id"], me["client_secret"], **options)
        arm_options: dict = {}
        if c.get("arm_endpoint"):
            arm_options.update(base_url=c["arm_endpoint"], credential_scopes=[c["credential_scope"]])
        if self.ca_bundle:
            arm_options["connection_verify"] = self.ca_bundle
        self.arm = CognitiveServicesManagementClient(self._credential, self.subscription_id, **arm_options)
        self._trainer: CustomVisionTrainingClient | None = None
        self._repairs: list[str] = []  # what the task in progress changed of an earlier attempt

    @property
    def account_name(self) -> str:
        return self.plan.account_name.replace("{DeploymentID}", str(self.deployment_id))

    # -- the one entry point ---------------------------------------------------------------------------
    def do(self, task: str, mistake: str | None = None) -> str:
        """Perform ``task`` ("1", "2", "3.1", ...), correctly or with ``mistake``; returns what was done,
        starting with what it changed or removed of an earlier attempt ("renamed tag 'Defects' to 'Defect';
        uploaded 781 defective images with tag 'Defect'")."""
        if task not in TASKS:
            raise StudentError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
        if mistake is not None and mistake not in MISTAKES[task]:
            known = ", ".join(MISTAKES[task]) or "none"
            raise StudentError(f"task {task} has no mistake {mistake!r}; known: {known}")
        action = {
            "1": self.task1, "2": self.task2, "3.1": self.task3_good, "3.2": self.task3_defect,
            "4": self.task4, "5.1": self.task5_defect, "5.2": self.task5_good, "6": self.task6,
        }[task]
        self._repairs = []
        done = action(mistake)
        return "; ".join([*self._repairs, done])

    def do_all(self) -> None:
        for task in TASKS:
            self.do(task)

    # -- Task 1: the Custom Vision resources (the portal's "Both" makes two accounts) -------------------
    def task1(self, mistake: str | None) -> str:
        # Still unique across Azure (its subdomain is a DNS name), as a name a real student picks must be.
        name = f"cv-casting-{self.deployment_id}" if mistake == "wrong-name" else self.account_name
        region = _other_region(self.region) if mistake == "wrong-region" else self.region
        training_sku = _other_tier(self.plan.training_sku) if mistake == "wrong-tier" else self.plan.training_sku
        if mistake is None:
            self._remove_wrong_accounts(region)
        existing = {a.name.lower() for a in self.arm.accounts.list_by_resource_group(self.resource_group)}
        if mistake == "wrong-kind":
            self._create_account(name, "CognitiveServices", "S0", region).result()
            verb = "updated" if name.lower() in existing else "created"
            return f"{verb} Azure AI services resource '{name}' (kind CognitiveServices) in {region}"
        # The portal's "Both" deploys the two resources together and waits for both.
        names = [name] if mistake == "training-only" else [name, f"{name}-Prediction"]
        deployments = [self._create_account(name, "CustomVision.Training", training_sku, region)]
        if mistake != "training-only":
            deployments.append(self._create_account(names[1], "CustomVision.Prediction", self.plan.prediction_sku,
                                                    region))
        for deployment in deployments:
            deployment.result()
        made = [n for n in names if n.lower() not in existing]
        if len(made) == len(names):
            return f"created Custom Vision '{name}' ({training_sku}) in {region}"
        kept = f"Custom Vision '{name}' ({training_sku}) in {region}"
        if made:
            return f"created '{made[0]}' ({self.plan.prediction_sku}) beside {kept}"
        return f"{kept} is in place" if mistake is None else f"set {kept}"

    def _remove_wrong_accounts(self, region: str) -> None:
        """What a student fixing Task 1 on Azure does: a resource on the wrong pricing tier gets the right
        tier (Pricing tier blade); one with the wrong name, kind or region is deleted and then purged
        (Manage deleted resources), since a soft-deleted resource keeps its name and its Free-tier slot."""
        wanted = {
            self.account_name.lower(): "CustomVision.Training",
            f"{self.account_name}-Prediction".lower(): "CustomVision.Prediction",
        }
        for account in self.arm.accounts.list_by_resource_group(self.resource_group):
            if account.kind not in ("CustomVision.Training", "CustomVision.Prediction", "CognitiveServices"):
                continue
            placed = (wanted.get(account.name.lower()) == account.kind
                      and account.location.lower() == region.lower())
            tier = self.plan.training_sku if account.kind == "CustomVision.Training" else self.plan.prediction_sku
            if placed and account.sku.name != tier:
                self.arm.accounts.begin_update(self.resource_group, account.name,
                                               Account(sku=Sku(name=tier))).result()
                self._repairs.append(f"moved '{account.name}' from {account.sku.name} to the {_TIERS.get(tier, tier)} "
                                     "tier")
            elif not placed:
                self.arm.accounts.begin_delete(self.resource_group, account.name).result()
                self.arm.deleted_accounts.begin_purge(account.location, self.resource_group, account.name).result()
                self._repairs.append(f"deleted and purged '{account.name}' ({_misplaced(account, wanted, region)})")
        self._trainer = None

    def _create_account(self, name: str, kind: str, sku: str, region: str) -> LROPoller:
        """Start deploying an account; the poller's ``result()`` waits until it is provisioned."""
        # The portal always gives a new resource a custom subdomain (its name), unlike the CLI's default.
        account = Account(location=region, kind=kind, sku=Sku(name=sku),
                          properties=AccountProperties(custom_sub_domain_name=name.lower()))
        return self.arm.accounts.begin_create(self.resource_group, name, account)

    # -- Task 2: the project --------------------------------------------------------------------------
    def task2(self, mistake: str | None) -> str:
        trainer = self.trainer()
        plan = self.plan
        wrong_name = "Casting Defects" if plan.project_name == PROJECT_NAME else f"{plan.project_name} v2"
        name = wrong_name if mistake == "wrong-name" else plan.project_name
        description = "" if mistake == "wrong-description" else plan.description
        domain = {"object-detection": OD_GENERAL_COMPACT, "non-compact-domain": GENERAL}.get(mistake, GENERAL_COMPACT)
        classification = "Multilabel" if mistake == "multilabel" else plan.classification_type
        existing = trainer.get_projects()
        if mistake is None and existing and existing[0].settings.domain_id in OD_DOMAINS:
            # A project's type cannot change: an Object Detection project is deleted and made again.
            trainer.delete_project(existing[0].id)
            self._repairs.append(f"deleted Object Detection project '{existing[0].name}' "
                                 "(a project's type cannot be changed)")
            existing = []
        if mistake is None and existing:
            # Fixing a project is done in its settings (gear icon), not by making another one (F0: 2 projects).
            project = existing[0]
            project.name, project.description = name, description
            project.settings.domain_id, project.settings.classification_type = domain, classification
            project = trainer.update_project(project.id, project)
            return f"fixed project '{project.name}' ({project.id}) in its settings"
        kwargs = {"description": description, "domain_id": domain}
        if mistake != "object-detection":
            kwargs["classification_type"] = classification
        project = trainer.create_project(name, **kwargs)
        return f"created project '{project.name}' ({project.id})"

    # -- Task 3: tags and images ------------------------------------------------------------------------
    def task3_good(self, mistake: str | None) -> str:
        good, (misspelled, hyphenated) = self.plan.good_tag, self.plan.misspellings(defective=False)
        tag = {"misspelled-tag": misspelled, "hyphenated-tag": hyphenated}.get(mistake, good)
        count = self.counts[good] // 5 if mistake == "too-few-images" else self.counts[good]
        return self._upload(tag, defective=False, count=count, tagged=mistake != "untagged")

    def task3_defect(self, mistake: str | None) -> str:
        defect, (misspelled, quoted) = self.plan.defect_tag, self.plan.misspellings(defective=True)
        tag = {"misspelled-tag": misspelled, "stray-quote": quoted}.get(mistake, defect)
        count = self.counts[defect] // 5 if mistake == "too-few-images" else self.counts[defect]
        return self._upload(tag, defective=True, count=count, tagged=mistake != "untagged")

    def _upload(self, tag_name: str, defective: bool, count: int, tagged: bool) -> str:
        trainer, project = self.trainer(), self.project()
        tag_ids = [self._tag(project.id, tag_name, defective).id] if tagged else None
        retagged = 0
        for start in range(0, count, BATCH):
            entries = [
                ImageFileCreateEntry(name=f"{'def' if defective else 'ok'}_{i}.jpeg",
                                     contents=casting_image(defective, i), tag_ids=tag_ids)
                for i in range(start, min(count, start + BATCH))
            ]
            summary = self._create(project.id, entries)
            if tagged:
                # Images of this class uploaded earlier without a tag come back as OKDuplicate, untagged:
                # delete just those and upload them again with the tag. Untagged images of the other class
                # stay, so fixing this task never silently repairs another task's mistake.
                stale = [(entry, r.image.id) for entry, r in zip(entries, summary.images, strict=True)
                         if r.status == "OKDuplicate" and r.image is not None and not r.image.tags]
                if stale:
                    trainer.delete_images(project.id, image_ids=[image_id for _, image_id in stale])
                    self._create(project.id, [entry for entry, _ in stale])
                    retagged += len(stale)
        if retagged:
            self._repairs.append(f"gave tag '{tag_name}' to {retagged} images uploaded earlier without a tag")
        label = f"tag '{tag_name}'" if tagged else "no tag"
        return f"uploaded {count} {'defective' if defective else 'good'} images with {label}"

    def _create(self, project_id: str, entries: list):
        """Upload one batch; StudentError if any image is rejected (a duplicate is not a rejection)."""
        summary = self.trainer().create_images_from_files(project_id, ImageFileCreateBatch(images=entries))
        if not summary.is_batch_successful:
            bad = [i.status for i in summary.images if i.status not in ("OK", "OKDuplicate")]
            if bad:
                raise StudentError(f"upload rejected: {sorted(set(bad))}")
        return summary

    def _tag(self, project_id: str, tag_name: str, defective: bool):
        """The tag to use, renaming a misspelled one of this class (the portal lets you edit a tag's name)."""
        trainer = self.trainer()
        tags = trainer.get_tags(project_id)
        exact = [t for t in tags if t.name == tag_name]
        if exact:
            return exact[0]
        misspelled = self.plan.misspellings(defective)
        if tag_name in (self.plan.good_tag, self.plan.defect_tag):
            for tag in tags:
                if tag.name in misspelled:
                    self._repairs.append(f"renamed tag '{tag.name}' to '{tag_name}'")
                    tag.name, tag.description = tag_name, tag.description or ""
                    return trainer.update_tag(project_id, tag.id, tag)
        return trainer.create_tag(project_id, tag_name)

    # -- Task 4: training -------------------------------------------------------------------------------
    def task4(self, mistake: str | None) -> str:
        trainer, project = self.trainer(), self.project()
        if mistake == "training-failed":
            account = self.training_account().name
            self._sim_admin("faults", {"operation": "TrainProject", "account": account, "fail_training": True,
                                       "count": 1})
        # Training again without changes needs "force" (the portal's Train button does the same).
        force = bool(trainer.get_iterations(project.id))
        wanted = self.plan.training_type
        # The mistake is the other training type than the lab's (Advanced, for a lab asking Quick Training).
        kind = ("Regular" if wanted == "Advanced" else "Advanced") if mistake == "advanced-training" else wanted
        if kind == "Advanced":
            iteration = trainer.train_project(project.id, training_type="Advanced", reserved_budget_in_hours=1,
                                              force_train=force)
        else:
            iteration = trainer.train_project(project.id, training_type="Regular", force_train=force)
        if self.wait_for_training and mistake != "not-finished":
            iteration = self._wait_trained(project.id, iteration.id)
        return f"trained iteration '{iteration.name}': {iteration.status}"

    def _wait_trained(self, project_id: str, iteration_id: str):
        deadline = time.monotonic() + self.training_timeout
        while True:
            iteration = self.trainer().get_iteration(project_id, iteration_id)
            if iteration.status != "Training" or time.monotonic() > deadline:
                return iteration
            time.sleep(0.2)

    # -- Task 5: quick tests ----------------------------------------------------------------------------
    def task5_defect(self, mistake: str | None) -> str:
        return self._quick_test(defective=mistake != "wrong-image")

    def task5_good(self, mistake: str | None) -> str:
        return self._quick_test(defective=mistake == "wrong-image")

    def _quick_test(self, defective: bool) -> str:
        trainer, project = self.trainer(), self.project()
        iteration = self._completed_iteration(project.id)
        image = casting_image(defective, QUICKTEST_INDEX + (1 if defective else 0))
        result = trainer.quick_test_image(project.id, image, iteration_id=iteration.id, store=True)
        top = max(result.predictions, key=lambda p: p.probability)
        return f"quick-tested a {'defective' if defective else 'good'} casting: {top.tag_name} {top.probability:.0%}"

    # -- Task 6: export options -------------------------------------------------------------------------
    def task6(self, mistake: str | None) -> str:
        trainer, project = self.trainer(), self.project()
        iteration = self._completed_iteration(project.id)
        exports = trainer.get_exports(project.id, iteration.id)
        platforms = ", ".join(iteration.exportable_to or []) or "none"
        return f"looked at the export options (exportable to {platforms}; {len(exports)} exports so far)"

    # -- finding what earlier tasks made ------------------------------------------------------------------
    def training_account(self):
        accounts = [a for a in self.arm.accounts.list_by_resource_group(self.resource_group)
                    if a.kind == "CustomVision.Training"]
        if not accounts:
            raise StudentError("no Custom Vision training resource: do Task 1 first")
        preferred = [a for a in accounts if a.name.lower() == self.account_name.lower()]
        return (preferred or accounts)[0]

    def trainer(self) -> CustomVisionTrainingClient:
        if self._trainer is None:
            account = self.training_account()
            key = self.arm.accounts.list_keys(self.resource_group, account.name).key1
            trainer = CustomVisionTrainingClient(account.properties.endpoint,
                                                 ApiKeyCredentials(in_headers={"Training-key": key}))
            if self.ca_bundle:
                trainer.config.connection.verify = self.ca_bundle
            self._trainer = trainer
        return self._trainer

    def project(self):
        projects = self.trainer().get_projects()
        if not projects:
            raise StudentError("no Custom Vision project: do Task 2 first")
        preferred = [p for p in projects if p.name == self.plan.project_name]
        return (preferred or projects)[0]

    def _completed_iteration(self, project_id: str):
        done = [i for i in self.trainer().get_iterations(project_id) if i.status == "Completed"]
        if not done:
            raise StudentError("no trained iteration: do Task 4 first")
        return max(done, key=lambda i: i.created)

    def _sim_admin(self, path: str, body: dict) -> dict:
        """Ask azuresim (not Azure) for something only a simulator can do."""
        base = self.credentials.get("authority_host")
        if not base:
            raise StudentError("this mistake needs azuresim; the credentials point at public Azure")
        response = requests.post(f"{base}/_sim/{path}", json=body, verify=self.ca_bundle or True, timeout=10)
        response.raise_for_status()
        return response.json()


def _misplaced(account, wanted: dict[str, str], region: str) -> str:
    """Why ``account`` is not one of the lab's resources: "not the lab's name", "kind ...", "in ..."."""
    kind = wanted.get(account.name.lower())
    if kind is None:
        return "not the lab's name"
    if kind != account.kind:
        return f"kind {account.kind}, not {kind}"
    return f"in {account.location}, not {region}"


_TIERS = {"F0": "Free F0", "S0": "Standard S0"}


def _other_tier(sku: str) -> str:
    """The wrong-tier mistake: the other Custom Vision tier than the lab's."""
    return "F0" if sku.upper() == "S0" else "S0"


def _other_region(region: str) -> str:
    return "westeurope" if region.lower() != "westeurope" else "eastus"


# -- Find the Flaw: the object detection lab --------------------------------------------------------------

DETECTION_LAB = "find-the-flaw"
DETECTION_TASKS = ("1", "2", "3", "4", "5", "6")
OD_GENERAL = "da2e3a8a-40a5-4171-82f4-58522f70fbc1"  # General (not compact), Object Detection
TEST_IMAGES_FOLDER = "testset"  # in the pack: the lab's test images, as its lab.yaml lists them
REGION_COUNT = 50  # the castings in the lab's training folder

DETECTION_MISTAKES: dict[str, dict[str, str]] = {
    "1": MISTAKES["1"],
    "2": {
        "wrong-name": "names the project 'Casting Flaws'",
        "classification": "picks Classification instead of Object Detection",
        "non-compact-domain": "picks the General object detection domain instead of General (compact)",
    },
    "3": {
        "too-few-regions": "draws regions on only a fifth of the images",
        "wrong-tag": "tags every defect box 'Casting' instead of 'Defect'",
        "boxes-off": "draws each box on clean metal across the part, far off the defect",
    },
    "4": {
        "advanced-training": "chooses Advanced Training instead of Quick Training",
        "not-finished": "checks before the training has finished",
    },
    "5": {
        "good-casting": "quick-tests a test image of a good casting instead of one with a defect",
        "training-image": "quick-tests one of the training images instead of a test image",
    },
    "6": {},
}

DETECTION_REPAIRS: dict[str, str] = {
    "1": REPAIRS["1"],
    "2": "the project is fixed in its settings; a Classification project is deleted and made again",
    "3": "a tag other than the lab's is renamed to it; boxes off the defect are deleted and drawn again",
}

WRONG_REGION_TAG = "Casting"


def _expectation(lab, check_id: str, key: str, default=None):
    """``expect[key]`` of the first check ``check_id`` in ``lab`` (a LabPack), else ``default``."""
    for step in lab.steps:
        for c in step.checks:
            if c.id == check_id and key in (c.expect or {}):
                return c.expect[key]
    return default


@dataclass
class DetectionStudent(Student):
    """One attendee doing Find the Flaw: Tasks 1, 4 and 6 as in Spot the Flaw; an Object Detection project,
    regions drawn on the training castings (their true defect boxes, from azuresim's generator), and a Quick
    Test of one of the pack's test images. What it makes comes from the lab pack ``lab`` (Find the Flaw's by
    default): the resource, project and training type as :class:`LabPlan` reads them, the region tag, and the
    test images. ``counts[tag]`` is how many castings it uploads and boxes (``REGION_COUNT``)."""

    lab: object = None

    def __post_init__(self) -> None:
        if self.lab is None:
            from labguide.packs import load_pack

            self.lab = load_pack(DETECTION_LAB)
        asked = dict(self.counts or {})
        self.plan = LabPlan.from_pack(self.lab, attendee_injects(self.credentials))
        super().__post_init__()
        self.project_name, self.project_description = self.plan.project_name, self.plan.description
        self.region_tag = str(_expectation(self.lab, "region_image_count", "tag", "Defect"))
        self.counts = {self.region_tag: asked.get(self.region_tag, REGION_COUNT)}
        self.test_images = list(_expectation(self.lab, "quicktest_region_overlap", "test_images", []) or [])

    def do(self, task: str, mistake: str | None = None) -> str:
        """Perform ``task`` ("1" ... "6"), correctly or with ``mistake`` (see ``DETECTION_MISTAKES``)."""
        if task not in DETECTION_TASKS:
            raise StudentError(f"unknown task {task!r}; tasks are {', '.join(DETECTION_TASKS)}")
        if mistake is not None and mistake not in DETECTION_MISTAKES[task]:
            known = ", ".join(DETECTION_MISTAKES[task]) or "none"
            raise StudentError(f"task {task} has no mistake {mistake!r}; known: {known}")
        action = {"1": self.task1, "2": self.detection_project, "3": self.draw_regions, "4": self.task4,
                  "5": self.quick_test_detection, "6": self.task6}[task]
        self._repairs = []
        done = action(mistake)
        return "; ".join([*self._repairs, done])

    def do_all(self) -> None:
        for task in DETECTION_TASKS:
            self.do(task)

    def project(self):
        projects = self.trainer().get_projects()
        if not projects:
            raise StudentError("no Custom Vision project: do Task 2 first")
        preferred = [p for p in projects if p.name == self.project_name]
        return (preferred or projects)[0]

    # -- Task 2: an Object Detection project -------------------------------------------------------------
    def detection_project(self, mistake: str | None) -> str:
        trainer = self.trainer()
        name = "Casting Flaws" if mistake == "wrong-name" else self.project_name
        domain = {"classification": GENERAL_COMPACT, "non-compact-domain": OD_GENERAL}.get(mistake, OD_GENERAL_COMPACT)
        existing = trainer.get_projects()
        if mistake is None and existing and existing[0].settings.domain_id not in OD_DOMAINS:
            # A project's type cannot change: a Classification project is deleted and made again.
            trainer.delete_project(existing[0].id)
            self._repairs.append(f"deleted Classification project '{existing[0].name}' "
                                 "(a project's type cannot be changed)")
            existing = []
        if mistake is None and existing:
            project = existing[0]
            project.name, project.description = name, self.project_description
            project.settings.domain_id = domain
            project = trainer.update_project(project.id, project)
            return f"fixed project '{project.name}' ({project.id}) in its settings"
        kwargs = {"description": self.project_description, "domain_id": domain}
        if mistake == "classification":
            kwargs["classification_type"] = "Multiclass"
        project = trainer.create_project(name, **kwargs)
        return f"created project '{project.name}' ({project.id})"

    # -- Task 3: upload the training castings, draw a box around each defect ----------------------------
    def draw_regions(self, mistake: str | None) -> str:
        from azure.cognitiveservices.vision.customvision.training.models import ImageRegionCreateEntry

        from . import images as generated

        trainer, project = self.trainer(), self.project()
        count = self.counts[self.region_tag]
        ids = self._upload_untagged(project.id, count)
        tag = self._region_tag(project.id, WRONG_REGION_TAG if mistake == "wrong-tag" else self.region_tag)
        boxed = count // 5 if mistake == "too-few-regions" else count
        place = generated.misplaced_box if mistake == "boxes-off" else generated.defect_box
        have = self._regions_by_image(project.id)
        wanted, stale = [], []
        for index, image_id in enumerate(ids[:boxed]):
            box = place(index)
            regions = have.get(image_id, [])
            if mistake is None:
                # Fixing the task: boxes that miss the defect go; a box that fits stays.
                stale += [r.region_id for r in regions
                          if generated.Box(r.left, r.top, r.width, r.height).iou(box) < 0.5]
                regions = [r for r in regions if r.region_id not in stale]
            if not any(r.tag_id == tag.id for r in regions):
                wanted.append(ImageRegionCreateEntry(image_id=image_id, tag_id=tag.id, left=box.left, top=box.top,
                                                     width=box.width, height=box.height))
        if stale:
            for start in range(0, len(stale), BATCH):
                trainer.delete_image_regions(project.id, stale[start:start + BATCH])
            self._repairs.append(f"deleted {len(stale)} boxes that missed the defect")
        for start in range(0, len(wanted), BATCH):
            trainer.create_image_regions(project.id, wanted[start:start + BATCH])
        where = "far off the defect" if mistake == "boxes-off" else "around the defect"
        return f"drew {len(wanted)} '{tag.name}' boxes {where} on {boxed} of {count} uploaded castings"

    def _upload_untagged(self, project_id: str, count: int) -> list[str]:
        """Upload the training castings without tags (an Object Detection project tags regions, not images);
        their image ids in order (a duplicate answers with the image already there)."""
        from . import images as generated

        ids: list[str] = []
        for start in range(0, count, BATCH):
            entries = [ImageFileCreateEntry(name=f"def_{i}.jpeg", contents=generated.casting_image(True, i))
                       for i in range(start, min(count, start + BATCH))]
            summary = self._create(project_id, entries)
            ids += [r.image.id for r in summary.images]
        return ids

    def _regions_by_image(self, project_id: str) -> dict[str, list]:
        out: dict[str, list] = {}
        skip = 0
        while True:
            page = self.trainer().get_images(project_id, take=256, skip=skip)
            for image in page:
                out[image.id] = list(image.regions or [])
            if len(page) < 256:
                return out
            skip += 256

    def _region_tag(self, project_id: str, name: str):
        """The tag to draw with; fixing the task renames a stray tag (say 'Casting') to the lab's, once."""
        trainer = self.trainer()
        tags = trainer.get_tags(project_id)
        exact = [t for t in tags if t.name == name]
        if exact:
            return exact[0]
        if name == self.region_tag:
            for tag in tags:
                if tag.name == WRONG_REGION_TAG:
                    self._repairs.append(f"renamed tag '{tag.name}' to '{name}'")
                    tag.name, tag.description = name, tag.description or ""
                    return trainer.update_tag(project_id, tag.id, tag)
        return trainer.create_tag(project_id, name)

    # -- Task 5: quick-test one of the lab's test images -------------------------------------------------
    def quick_test_detection(self, mistake: str | None) -> str:
        from pathlib import Path

        from . import images as generated

        trainer, project = self.trainer(), self.project()
        iteration = self._completed_iteration(project.id)
        if mistake == "training-image":
            name, data = "def_0.jpeg (a training image)", generated.casting_image(True, 0)
        else:
            good = mistake == "good-casting"
            pick = next((t for t in self.test_images if bool(t.get("defects")) != good), None)
            if pick is None:
                raise StudentError(f"the lab pack lists no test image {'without' if good else 'with'} a defect")
            name = pick["name"]
            data = (Path(self.lab.root) / TEST_IMAGES_FOLDER / name).read_bytes()
        result = trainer.quick_test_image(project.id, data, iteration_id=iteration.id, store=True)
        top = max(result.predictions, key=lambda p: p.probability, default=None)
        if top is None:
            return f"quick-tested {name}: no prediction"
        b = top.bounding_box
        at = f" at ({b.left:.2f}, {b.top:.2f}, {b.width:.2f}, {b.height:.2f})" if b is not None else ""
        return f"quick-tested {name}: {top.tag_name} {top.probability:.0%}{at}"


def is_detection_lab(pack) -> bool:
    """Whether a pack (LabPack) has Find the Flaw's shape: it counts regions (an Object Detection lab)."""
    return any(c.id == "region_image_count" for step in pack.steps for c in step.checks)


def scripted_student(lab_id: str, credentials: dict, **options) -> tuple[Student, tuple[str, ...]]:
    """The scripted student for built-in lab ``lab_id`` and that lab's task labels."""
    from labguide.packs import load_pack

    pack = load_pack(lab_id)
    if is_detection_lab(pack):
        return DetectionStudent(credentials, lab=pack, **options), DETECTION_TASKS
    return Student(credentials, plan=LabPlan.from_pack(pack, attendee_injects(credentials)), **options), TASKS
