"""``labgrader sim ...``: run the simulator in the foreground and drive it through its admin API.

``sim serve`` prints one JSON line (the cloud profile) first, then serves until SIGINT/SIGTERM. With
``--state DIR`` the CA, the world and that JSON line (``DIR/azuresim-info.json``) are kept in DIR, so
``sim attendee create NAME --state DIR`` finds the admin URL and the CA without more options.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import click

INFO_FILE = "azuresim-info.json"


@click.group()
def sim() -> None:
    """azuresim: a loopback Azure for tests, demos and dry runs."""


@sim.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback).")
@click.option("--port", default=0, type=click.IntRange(0, 65535), show_default=True,
              help="Port to listen on; 0 picks a free one (read it from the JSON line).")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the CA and the simulated world in this directory across restarts.")
@click.option("--training-seconds", default=2.0, type=click.FloatRange(0), show_default=True,
              help="How long a Custom Vision training run takes.")
@click.option("--provisioning-seconds", default=3.0, type=click.FloatRange(0), show_default=True,
              help="How long creating, updating, deleting or purging an account takes (ARM long-running "
                   "operations).")
def serve(host: str, port: int, state_dir: Path | None, training_seconds: float, provisioning_seconds: float) -> None:
    """Run the simulator in the foreground; the first stdout line is the cloud profile as JSON."""
    from .server import Simulator

    simulator = Simulator(host=host, port=port, state_dir=state_dir, training_seconds=training_seconds,
                          provisioning_seconds=provisioning_seconds)
    simulator.start()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        line = json.dumps(simulator.info)
        if state_dir is not None:
            (state_dir / INFO_FILE).write_text(line + "\n")
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        simulator.stop()
    click.echo("azuresim stopped", err=True)


@sim.group()
def attendee() -> None:
    """Lab attendees: a tenant, subscription, resource group and service principal each."""


def _connection(admin_url: str | None, ca_bundle: str | None, state_dir: Path | None) -> tuple[str, str]:
    """(admin URL, CA bundle) from options, then environment, then ``DIR/azuresim-info.json``."""
    saved: dict = {}
    if state_dir is not None:
        info_path = state_dir / INFO_FILE
        if not info_path.is_file():
            raise click.UsageError(f"{info_path} does not exist: is 'labgrader sim serve --state "
                                   f"{state_dir}' running?")
        saved = json.loads(info_path.read_text())
    admin_url = admin_url or os.environ.get("LABGRADER_SIM_ADMIN_URL") or saved.get("admin_url")
    ca_bundle = ca_bundle or os.environ.get("LABGRADER_SIM_CA") or saved.get("ca_bundle")
    if not admin_url:
        raise click.UsageError("Give --admin-url (or LABGRADER_SIM_ADMIN_URL, or --state DIR).")
    if not ca_bundle:
        raise click.UsageError("Give --ca-bundle (or LABGRADER_SIM_CA, or --state DIR): the simulator's "
                               "CA certificate, printed as 'ca_bundle' by 'labgrader sim serve'.")
    return admin_url.rstrip("/"), ca_bundle


@attendee.command("create")
@click.argument("name")
@click.option("--region", help="Azure region for the attendee's resource group (default eastus).")
@click.option("--admin-url", help="The simulator's admin URL ('admin_url' in the serve JSON line). "
              "Default: $LABGRADER_SIM_ADMIN_URL.")
@click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True),
              help="The simulator's CA certificate. Default: $LABGRADER_SIM_CA.")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The --state DIR of a running 'sim serve' (supplies admin URL and CA).")
@click.option("--grader-role", help="Give the grader a principal of its own holding only this role: a built-in "
              "role's name ('Reader', 'Cognitive Services User', ...) or @FILE with a custom role's JSON definition. "
              "Default: one principal, Contributor on the subscription, shared by student and grader.")
@click.option("--grader-scope", type=click.Choice(["subscription", "resource-group"]),
              help="Where the grader's role is assigned (default: subscription).")
def create_attendee(name: str, region: str | None, admin_url: str | None, ca_bundle: str | None,
                    state_dir: Path | None, grader_role: str | None, grader_scope: str | None) -> None:
    """Create attendee NAME and print their credentials JSON."""
    import requests

    admin_url, ca_bundle = _connection(admin_url, ca_bundle, state_dir)
    body: dict = {"name": name} | ({"region": region} if region else {})
    if grader_role:
        if grader_role.startswith("@"):
            try:
                body["grader_role"] = json.loads(Path(grader_role[1:]).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise click.BadParameter(str(exc), param_hint="--grader-role") from exc
        else:
            body["grader_role"] = grader_role
    if grader_scope:
        body["grader_scope"] = grader_scope.replace("-", "_")
    try:
        resp = requests.post(f"{admin_url}/attendees", json=body, verify=ca_bundle, timeout=30)
    except requests.RequestException as exc:
        raise click.ClickException(f"Could not reach the simulator at {admin_url}: {exc}") from exc
    if resp.status_code != 201:
        try:
            message = resp.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = resp.text[:300]
        raise click.ClickException(f"The simulator refused (HTTP {resp.status_code}): {message}")
    click.echo(json.dumps(resp.json(), indent=2))


@sim.command("act")
@click.option("--attendee", "attendee_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The attendee's credentials JSON file (what `labgrader sim attendee create` prints).")
@click.argument("task", required=False)
@click.option("--mistake", help="Do the task with this named mistake (see --list).")
@click.option("--list", "list_mistakes", is_flag=True, help="List the tasks and their named mistakes.")
@click.option("--lab", "lab_name", help="Lab pack (name or folder) whose expectations give the names, tiers, tags, "
                                        "counts and training type to use (default: Spot the Flaw's).")
@click.option("--good", type=click.IntRange(5), help="Good images to upload (default: the lab's count).")
@click.option("--defect", type=click.IntRange(5), help="Defective images to upload (default: the lab's count; in "
                                                     "an Object Detection lab, the castings uploaded and boxed, 50).")
def act(attendee_file: str, task: str | None, mistake: str | None, list_mistakes: bool, lab_name: str | None,
        good: int | None, defect: int | None) -> None:
    """Perform one lab TASK (1, 2, 3.1, 3.2, 4, 5.1, 5.2, 6; Find the Flaw's: 1-6) as a student would, through
    the Azure SDKs.

    With --lab, a pack's own expectations say what the student makes, so a lab author can dry-run a variant
    of the lab (other names, tags and counts) before any student does.
    """
    from azure.core.exceptions import AzureError
    from msrest.exceptions import HttpOperationError

    from .student import (
        DETECTION_MISTAKES,
        DETECTION_TASKS,
        MISTAKES,
        TASKS,
        DetectionStudent,
        LabPlan,
        Student,
        StudentError,
        attendee_injects,
        is_detection_lab,
    )

    if list_mistakes and lab_name:
        from labguide.packs import load_pack

        from .resource_student import MISTAKES as RESOURCE_MISTAKES
        from .resource_student import is_resource_step

        resource_tasks = [s.task for s in load_pack(lab_name).steps if is_resource_step(s)]
        if resource_tasks:
            click.echo(f"Tasks {', '.join(resource_tasks)} (resources the pack's checks describe):")
            for key, what in RESOURCE_MISTAKES.items():
                click.echo(f"  {key:<20} {what}")
            return
    detection = False
    if lab_name:
        from labguide.packs import PackError, load_pack

        try:
            # An Object Detection lab (regions counted, as in Find the Flaw) has a student of its own.
            detection = is_detection_lab(load_pack(lab_name))
        except (PackError, OSError) as exc:
            raise click.BadParameter(str(exc), param_hint="--lab") from exc
    if list_mistakes:
        for name in DETECTION_TASKS if detection else TASKS:
            click.echo(f"Task {name}:")
            for key, what in (DETECTION_MISTAKES if detection else MISTAKES)[name].items():
                click.echo(f"  {key:<20} {what}")
        return
    if not task:
        raise click.UsageError("give a TASK (or --list)")
    try:
        creds = json.loads(Path(attendee_file).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise click.BadParameter(str(exc), param_hint="--attendee") from exc
    plan = LabPlan()
    if lab_name:
        from labguide.packs import PackError, load_pack

        try:
            pack = load_pack(lab_name)
        except (PackError, OSError) as exc:
            raise click.BadParameter(str(exc), param_hint="--lab") from exc
        try:
            plan = LabPlan.from_pack(pack, attendee_injects(creds))
        except KeyError as exc:
            raise click.BadParameter(f"the credentials JSON has no {exc}", param_hint="--attendee") from exc
        step = next((s for s in pack.steps if task in (s.task, s.id)), None)
        from . import resource_student

        if step is not None and resource_student.is_resource_step(step):
            # A step of declarative resource checks: make what its expectations describe.
            try:
                done = resource_student.act(creds, pack, step, {**pack.demo_injects(), **attendee_injects(creds)},
                                            mistake)
            except (resource_student.ResourceStudentError, KeyError) as exc:
                raise click.ClickException(str(exc)) from exc
            except AzureError as exc:
                raise click.ClickException(f"Azure refused: {str(exc).splitlines()[0]}") from exc
            click.echo(done)
            return
    counts = {k: v for k, v in ((plan.good_tag, good), (plan.defect_tag, defect)) if v is not None}
    try:
        student = DetectionStudent(creds, counts=counts, lab=pack) if detection else Student(creds, counts=counts,
                                                                                             plan=plan)
        click.echo(student.do(task, mistake))
    except (StudentError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    except (AzureError, HttpOperationError) as exc:  # Azure refused what the student did: say what it said
        raise click.ClickException(f"Azure refused: {str(exc).splitlines()[0]}") from exc


def _admin_post(admin_url: str, ca_bundle: str, path: str, body: dict) -> dict:
    """POST to the admin API; the simulator's refusal becomes a ClickException naming its message."""
    import requests

    try:
        resp = requests.post(f"{admin_url}{path}", json=body, verify=ca_bundle, timeout=30)
    except requests.RequestException as exc:
        raise click.ClickException(f"Could not reach the simulator at {admin_url}: {exc}") from exc
    if resp.status_code != 201:
        try:
            message = resp.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = resp.text[:300]
        raise click.ClickException(f"The simulator refused (HTTP {resp.status_code}): {message}")
    return resp.json()


_CONNECTION = [
    click.option("--admin-url", help="The simulator's admin URL. Default: $LABGRADER_SIM_ADMIN_URL."),
    click.option("--ca-bundle", type=click.Path(dir_okay=False, exists=True),
                 help="The simulator's CA certificate. Default: $LABGRADER_SIM_CA."),
    click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path),
                 help="The --state DIR of a running 'sim serve' (supplies admin URL and CA)."),
]


def _with_connection(fn):
    for option in reversed(_CONNECTION):
        fn = option(fn)
    return fn


@sim.group("resource-type")
def resource_type() -> None:
    """Generic resource types the simulator serves (any provider namespace but Cognitive Services)."""


@resource_type.command("register")
@click.argument("type_name", metavar="NAMESPACE/TYPE")
@click.option("--api-version", "api_versions", multiple=True, required=True,
              help="An api-version ARM accepts for the type (repeat for several), e.g. 2023-05-01.")
@click.option("--location", "locations", multiple=True,
              help="A region the type is offered in (repeat for several). Default: every simulator region.")
@_with_connection
def register_type(type_name: str, api_versions: tuple[str, ...], locations: tuple[str, ...],
                  admin_url: str | None, ca_bundle: str | None, state_dir: Path | None) -> None:
    """Register NAMESPACE/TYPE (e.g. Microsoft.Storage/storageAccounts) so ARM serves resources of it."""
    admin_url, ca_bundle = _connection(admin_url, ca_bundle, state_dir)
    body: dict = {"type": type_name, "api_versions": list(api_versions)}
    if locations:
        body["locations"] = list(locations)
    click.echo(json.dumps(_admin_post(admin_url, ca_bundle, "/resource-types", body), indent=2))


@sim.group("resource")
def resource() -> None:
    """Generic resources in an attendee's resource group."""


@resource.command("create")
@click.option("--attendee", "attendee_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The attendee's credentials JSON file (what `labgrader sim attendee create` prints).")
@click.argument("type_name", metavar="NAMESPACE/TYPE")
@click.argument("name")
@click.option("--location", help="Region (default: the attendee's resource group's).")
@click.option("--kind", help="The resource's kind, e.g. StorageV2.")
@click.option("--sku", help="The resource's SKU name, e.g. Standard_LRS.")
@click.option("--tag", "tags", multiple=True, metavar="NAME=VALUE", help="A tag (repeat for several).")
@click.option("--properties", help="The resource's properties as a JSON object.")
@_with_connection
def create_resource(attendee_file: str, type_name: str, name: str, location: str | None, kind: str | None,
                    sku: str | None, tags: tuple[str, ...], properties: str | None, admin_url: str | None,
                    ca_bundle: str | None, state_dir: Path | None) -> None:
    """Create resource NAME of a registered NAMESPACE/TYPE for an attendee, deployed at once."""
    admin_url, ca_bundle = _connection(admin_url, ca_bundle, state_dir)
    try:
        creds = json.loads(Path(attendee_file).read_text(encoding="utf-8"))
        body: dict = {"subscription_id": creds["subscription_id"], "resource_group": creds["resource_group"],
                      "type": type_name, "name": name}
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise click.BadParameter(f"not an attendee's credentials file: {exc}", param_hint="--attendee") from exc
    if properties is not None:
        try:
            body["properties"] = json.loads(properties)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(str(exc), param_hint="--properties") from exc
    for tag in tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{tag!r} is not NAME=VALUE", param_hint="--tag")
        body.setdefault("tags", {})[key] = value
    body.update({k: v for k, v in (("location", location), ("kind", kind)) if v})
    if sku:
        body["sku"] = {"name": sku}
    click.echo(json.dumps(_admin_post(admin_url, ca_bundle, "/resources", body), indent=2))
