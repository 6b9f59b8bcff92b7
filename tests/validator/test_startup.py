"""What a `labgrader validate` process loads before its first Azure call (issue 9, section 3): the SDKs the
call needs, not the Custom Vision SDK, msrest or azure-mgmt-resource when the step only asks ARM (Task 1), not
jsonschema (the checks' own declarations are checked by the tests and lint, not at every start), and not the
guide's linter or renderer. Each runs in a fresh process; the loaded modules are the subject, never the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Prints the modules loaded when the process first connects anywhere (without Redis: its sign-in to Azure)
# and again when it ends.
PROBE = """
import sys
def hook(event, args):
    if event == "socket.connect" and not hasattr(hook, "done"):
        hook.done = True
        print("AT_FIRST_CALL", sorted(sys.modules), file=sys.stderr, flush=True)
sys.addaudithook(hook)
from webapp.cli import main
try:
    main.main(sys.argv[1:], prog_name="labgrader")
except SystemExit:
    pass
print("AT_END", sorted(sys.modules), file=sys.stderr, flush=True)
"""

CUSTOM_VISION = ("msrest", "azure.cognitiveservices", "validator.azure.customvision")
NOT_BEFORE_THE_CALL = (*CUSTOM_VISION, "azure.mgmt.resource", "jsonschema", "labguide.lint", "labguide.render")


def _validate(attendee: dict, tmp_path, task: str) -> tuple[set[str], set[str], str]:
    path = tmp_path / "attendee.json"
    path.write_text(json.dumps(attendee), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABGRADER_")}
    done = subprocess.run([sys.executable, "-c", PROBE, "validate", "--attendee", str(path), "--task", task],
                          capture_output=True, text=True, timeout=120, env=env)
    lines = dict(x.split(" ", 1) for x in done.stderr.splitlines() if x.startswith(("AT_FIRST_CALL ", "AT_END ")))
    assert set(lines) == {"AT_FIRST_CALL", "AT_END"}, done.stderr[-2000:]
    return set(eval(lines["AT_FIRST_CALL"])), set(eval(lines["AT_END"])), done.stdout  # noqa: S307 - our probe's


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_a_task_1_validation_loads_neither_custom_vision_nor_the_checkers_before_its_call(sim, attendee, tmp_path):
    first, end, out = _validate(attendee, tmp_path, "1")
    assert "Task 1" in out and "FAIL" in out, out
    assert "azure.identity" in first and "azure.mgmt.cognitiveservices" in first  # what the call needs
    assert _loaded(first, NOT_BEFORE_THE_CALL) == []
    # Task 1 asks ARM only: the Custom Vision SDK and msrest are never loaded at all.
    assert _loaded(end, CUSTOM_VISION) == []
    assert "jsonschema" in end  # the lab's expectations are still checked against the declarations


def test_a_custom_vision_step_loads_its_sdk_when_it_calls_custom_vision(sim, attendee, tmp_path):
    from azuresim.student import Student

    Student(attendee).do("1")
    first, end, out = _validate(attendee, tmp_path, "2")
    assert "Task 2" in out and "FAIL" in out and "project" in out, out
    assert _loaded(first, NOT_BEFORE_THE_CALL) == []
    assert {"msrest.exceptions", "azure.cognitiveservices.vision.customvision.training"} <= end


def test_loading_every_check_validates_no_declaration():
    """Registration leaves each check's defaults and examples to the tests and lint (test_checks_declared)."""
    code = "import sys; from checks import registry; print(len(registry.all_ids()), 'jsonschema' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    count, loaded = done.stdout.split()
    assert int(count) > 20 and loaded == "False", done.stdout + done.stderr
