"""The real Azure CLI (``az``, installed by ``make azcli`` into ``.venv-azcli``) as a second client of azuresim.

The CLI is an independent implementation of ARM's client side: if it can register the simulator as a
cloud, sign in as an attendee's service principal and do Task 1 of the lab the way a student following
a CLI guide would, the simulator behaves like Azure beyond what our own SDK calls exercise. Every request
the CLI or labgrader makes to anything but 127.0.0.1 goes to a proxy run here that refuses it and
records it; the last test asserts it recorded nothing (no telemetry, no instance discovery, no update
check reached the network).

The steps are the README's "Pointing the Azure CLI at azuresim".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from azuresim.server import Simulator
from tests.conftest import ROOT, require

pytestmark = pytest.mark.slow

AZ = ROOT / ".venv-azcli" / "bin" / "az"
REGION = "eastus"

# Known simulator defect (owner: azuresim.arm): long-running operations answer a fractional Retry-After
# ("0.2"); HTTP and ARM send whole seconds, and the CLI's SDK reads the header as an integer, so every
# `az cognitiveservices account create/update/delete` fails. Strict: the fix makes these pass; then drop it.
# -- a proxy that lets nothing out ----------------------------------------------------------------------
class _Refuse(BaseHTTPRequestHandler):
    """Answers every proxied request (CONNECT or absolute URI) with 403 and records it."""

    def _refuse(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")
        self.send_response(403, "Refused by the test: no traffic leaves this machine")
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    do_CONNECT = do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _refuse

    def log_message(self, *args) -> None:
        pass


class RefusingProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Refuse)
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, name="refusing-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


# -- running az -----------------------------------------------------------------------------------------
class Az:
    """``az`` with its own configuration folder, the simulator's CA, and the proxy for everything else."""

    def __init__(self, home: Path, ca_bundle: str, proxy: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "AZURE_CONFIG_DIR": str(home / "azure"),
            "AZURE_EXTENSION_DIR": str(home / "extensions"),
            "REQUESTS_CA_BUNDLE": ca_bundle,
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "HTTP_PROXY": proxy,
            "HTTPS_PROXY": proxy,
            "NO_PROXY": "127.0.0.1,localhost",
        }

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(AZ), *args, "--only-show-errors"], env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def __call__(self, *args: str):
        """Run ``az args -o json``; returns the parsed output (None when it prints nothing)."""
        proc = self.run(*args, "-o", "json")
        shown = " ".join("--password=***" if a.startswith("--password=") else a for a in args)
        assert proc.returncode == 0, f"az {shown} exited {proc.returncode}:\n{proc.stderr}"
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def login(self, creds: dict):
        """Sign in as the attendee's service principal. The secret goes in as ``--password=...``: a
        generated secret may begin with '-', which argparse would take for an option."""
        return self("login", "--service-principal", "-u", creds["client_id"],
                    f"--password={creds['client_secret']}", "--tenant", creds["tenant_id"])

    def fails(self, *args: str) -> str:
        """Run ``az args``, which must fail; returns its stderr."""
        proc = self.run(*args)
        assert proc.returncode != 0, f"az {' '.join(args)} succeeded:\n{proc.stdout}"
        return proc.stderr


def labgrader_validate(creds_file: Path, env: dict, task: str = "1") -> list[dict]:
    exe = Path(sys.executable).with_name("labgrader")
    cmd = [str(exe)] if exe.exists() else [shutil.which("labgrader") or "labgrader"]
    proc = subprocess.run([*cmd, "validate", "--attendee", str(creds_file), "--task", task, "--json"],
                          env={**os.environ, **{k: env[k] for k in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")}},
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode in (0, 1), f"labgrader validate exited {proc.returncode}:\n{proc.stderr}"
    return json.loads(proc.stdout)


# -- fixtures ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def az_exe() -> Path:
    require(AZ.exists(), f"the Azure CLI is not installed in {AZ.parent.parent}: run `make azcli`")
    return AZ


@pytest.fixture(scope="module")
def proxy():
    p = RefusingProxy()
    yield p
    p.close()


@pytest.fixture(scope="module")
def world(az_exe, proxy, tmp_path_factory):
    """A simulator and attendee 'ada', with ``az`` registered on the simulator's cloud and signed in."""
    with Simulator(training_seconds=0.3) as sim:
        home = tmp_path_factory.mktemp("azcli")
        creds = sim.create_attendee("ada", REGION)
        creds_file = home / "ada.json"
        creds_file.write_text(json.dumps(creds))
        az = Az(home, creds["ca_bundle"], proxy.url)
        az("config", "set", "core.instance_discovery=false")
        az("cloud", "register", "-n", "azuresim", "--endpoint-resource-manager", sim.info["arm_endpoint"])
        az("cloud", "set", "-n", "azuresim")
        login = az.login(creds)
        yield {"sim": sim, "az": az, "creds": creds, "creds_file": creds_file, "login": login, "home": home}


def _training_name(creds: dict) -> str:
    return f"customvision-casting-{creds['injects']['DeploymentID']}"


def _create(az: Az, creds: dict, name: str, kind: str, sku: str) -> dict:
    return az("cognitiveservices", "account", "create", "-n", name, "-g", creds["resource_group"],
              "--kind", kind, "--sku", sku, "-l", creds["region"], "--custom-domain", name.lower(), "--yes",
              "--subscription", creds["subscription_id"])


@pytest.fixture(scope="module")
def task1(world) -> dict:
    """Task 1 done with the CLI: the training resource and its '-Prediction' companion, both F0."""
    az, creds = world["az"], world["creds"]
    name = _training_name(creds)
    training = _create(az, creds, name, "CustomVision.Training", "F0")
    prediction = _create(az, creds, f"{name}-Prediction", "CustomVision.Prediction", "F0")
    return {"name": name, "training": training, "prediction": prediction}


# -- tests -------------------------------------------------------------------------------------------------------
def test_cloud_register_reads_the_simulators_endpoints(world):
    cloud = world["az"]("cloud", "show", "-n", "azuresim")
    base = world["sim"].base_url
    assert cloud["isActive"] is True
    assert cloud["endpoints"]["activeDirectory"].rstrip("/") == base
    assert cloud["endpoints"]["activeDirectoryResourceId"] == base  # so the CLI asks for {base}/.default
    assert cloud["endpoints"]["resourceManager"].rstrip("/") == base


def test_login_lists_the_attendees_subscription(world):
    creds = world["creds"]
    assert [(s["id"], s["tenantId"], s["state"]) for s in world["login"]] == [
        (creds["subscription_id"], creds["tenant_id"], "Enabled")]
    account = world["az"]("account", "show")
    assert account["id"] == creds["subscription_id"]
    assert account["environmentName"] == "azuresim"
    assert account["user"] == {"name": creds["client_id"], "type": "servicePrincipal"}


def test_task1_done_with_the_cli_passes(world, task1):
    for acct in (task1["training"], task1["prediction"]):
        assert acct["properties"]["provisioningState"] == "Succeeded"
        assert acct["sku"]["name"] == "F0"
        assert acct["properties"]["customSubDomainName"] == acct["name"].lower()
    results = labgrader_validate(world["creds_file"], world["az"].env)
    assert [r["status"] for r in results] == ["PASS"], json.dumps(results, indent=1)[:2000]


def test_account_commands_read_what_the_cli_made(world, task1):
    az, creds, sim = world["az"], world["creds"], world["sim"]
    rg, name = creds["resource_group"], task1["name"]
    shown = az("cognitiveservices", "account", "show", "-n", name, "-g", rg)
    assert (shown["kind"], shown["location"], shown["sku"]["name"]) == ("CustomVision.Training", REGION, "F0")

    keys = az("cognitiveservices", "account", "keys", "list", "-n", name, "-g", rg)
    with sim.state.lock:
        acct = next(a for a in sim.state.accounts.values() if a.name == name)
        assert (keys["key1"], keys["key2"]) == (acct.key1, acct.key2)

    skus = az("cognitiveservices", "account", "list-skus", "--kind", "CustomVision.Training", "--location", REGION)
    assert sorted(s["name"] for s in skus) == ["F0", "S0"]
    assert "CustomVision.Prediction" in az("cognitiveservices", "account", "list-kinds")
    usage = az("cognitiveservices", "account", "list-usage", "-n", name, "-g", rg)
    assert any(u["name"]["value"] == "CustomVision.Training.Projects" and u["limit"] == 2 for u in usage)

    listed = az("cognitiveservices", "account", "list", "-g", rg)
    assert sorted(a["name"] for a in listed) == [name, f"{name}-Prediction"]
    resources = az("resource", "list", "--resource-type", "Microsoft.CognitiveServices/accounts")
    assert sorted(r["name"] for r in resources) == [name, f"{name}-Prediction"]
    assert len(az("account", "list-locations")) >= 20

    updated = az("cognitiveservices", "account", "update", "-n", name, "-g", rg, "--tags", "course=spot-the-flaw")
    assert updated["tags"] == {"course": "spot-the-flaw"}
    assert updated["sku"]["name"] == "F0"

    missing = az.fails("cognitiveservices", "account", "show", "-n", "no-such-account", "-g", rg)
    assert "ResourceNotFound" in missing


def _deleted_names(az: Az) -> list[str] | None:
    """Names of the soft-deleted accounts, or None when the simulator has no deletedAccounts (404)."""
    proc = az.run("cognitiveservices", "account", "list-deleted", "-o", "json")
    if proc.returncode != 0 and any(c in proc.stderr for c in ("NotFound", "InvalidResourceType", "404")):
        return None
    assert proc.returncode == 0, proc.stderr
    return [a["name"] for a in json.loads(proc.stdout or "[]")]


def test_delete_then_list_deleted_and_purge(world, task1):
    az, creds = world["az"], world["creds"]
    rg, pred = creds["resource_group"], f"{task1['name']}-Prediction"
    az("cognitiveservices", "account", "delete", "-n", pred, "-g", rg)
    assert az.fails("cognitiveservices", "account", "show", "-n", pred, "-g", rg)
    deleted = _deleted_names(az)
    if deleted is None:
        pytest.skip("azuresim answers 404 for deletedAccounts: soft delete (DeletedAccounts_*) is not there yet")
    assert pred in deleted
    shown = az("cognitiveservices", "account", "show-deleted", "-n", pred, "-g", rg, "-l", creds["region"])
    assert shown["name"] == pred
    az("cognitiveservices", "account", "purge", "-n", pred, "-g", rg, "-l", creds["region"])
    assert pred not in _deleted_names(az)


def test_recover_brings_a_deleted_account_back(world, task1):
    az, creds = world["az"], world["creds"]
    rg, name = creds["resource_group"], f"{task1['name']}-again"
    _create(az, creds, name, "CustomVision.Prediction", "S0")
    az("cognitiveservices", "account", "delete", "-n", name, "-g", rg)
    if _deleted_names(az) is None:
        pytest.skip("azuresim answers 404 for deletedAccounts: soft delete (DeletedAccounts_*) is not there yet")
    try:
        az("cognitiveservices", "account", "recover", "-n", name, "-g", rg, "-l", creds["region"])
        shown = az("cognitiveservices", "account", "show", "-n", name, "-g", rg)
        assert (shown["sku"]["name"], shown["properties"]["provisioningState"]) == ("S0", "Succeeded")
    finally:  # leave nothing behind, restored or not
        az.run("cognitiveservices", "account", "delete", "-n", name, "-g", rg)
        az.run("cognitiveservices", "account", "purge", "-n", name, "-g", rg, "-l", creds["region"])


def test_generic_resources_with_az_resource(world):
    """A registered type (azuresim.generic) through `az resource`: create, show (the CLI finds the api-version
    through Providers_Get), list by type, delete."""
    import requests

    az, creds, sim = world["az"], world["creds"], world["sim"]
    storage = "Microsoft.Storage/storageAccounts"
    resp = requests.post(f"{sim.info['admin_url']}/resource-types", verify=sim.info["ca_bundle"], timeout=10,
                         json={"type": storage, "api_versions": ["2022-09-01", "2023-05-01"]})
    assert resp.status_code == 201, resp.text
    rg, name = creds["resource_group"], f"st{creds['injects']['DeploymentID']}cli"
    created = az("resource", "create", "-g", rg, "-n", name, "--resource-type", storage, "-l", REGION,
                 "--api-version", "2023-05-01", "--properties", '{"supportsHttpsTrafficOnly": true}')
    assert created["properties"]["provisioningState"] == "Succeeded"
    shown = az("resource", "show", "-g", rg, "-n", name, "--resource-type", storage)
    assert (shown["type"], shown["location"], shown["properties"]["supportsHttpsTrafficOnly"]) == (
        storage, REGION, True)
    listed = az("resource", "list", "-g", rg, "--resource-type", storage)
    assert [r["name"] for r in listed] == [name]
    az("resource", "delete", "--ids", shown["id"], "--api-version", "2023-05-01")
    assert az("resource", "list", "-g", rg, "--resource-type", storage) == []
    unknown = az.fails("resource", "show", "-g", rg, "-n", name, "--resource-type", "Microsoft.Storage/blobThings",
                       "--api-version", "2023-05-01")
    assert "InvalidResourceType" in unknown


def test_s0_training_resource_fails_task1_naming_the_tier(world, tmp_path):
    sim, az = world["sim"], world["az"]
    creds = sim.create_attendee("grace", REGION)
    creds_file = tmp_path / "grace.json"
    creds_file.write_text(json.dumps(creds))
    az.login(creds)
    name = _training_name(creds)
    _create(az, creds, name, "CustomVision.Training", "S0")
    _create(az, creds, f"{name}-Prediction", "CustomVision.Prediction", "F0")
    (result,) = labgrader_validate(creds_file, az.env)
    assert result["status"] == "FAIL", json.dumps(result, indent=1)[:2000]
    assert "pricing tier S0" in result["message"] and "F0" in result["message"], result["message"]


# The one request that tries to leave: on its first run with a new configuration folder, az checks for a
# newer version of itself (a HEAD to its release storage, azure.cli.core.util.handle_version_update); no
# setting turns it off. Refused here, it fails quietly and is not tried again for a day.
VERSION_CHECK = "CONNECT azcliprod.blob.core.windows.net:443"


def test_nothing_left_the_machine(world, proxy):
    """Run last: neither az nor labgrader sent a request anywhere but the simulator (bar az's version check)."""
    others = [r for r in proxy.seen if r != VERSION_CHECK]
    assert others == [], "requests that tried to leave the machine:\n" + "\n".join(others)
    assert proxy.seen.count(VERSION_CHECK) <= 1, proxy.seen
