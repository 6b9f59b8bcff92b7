"""`labgrader --help` and `labgrader validate` import only what they use: neither the web app's database stack
(SQLAlchemy, Alembic, Flask-SQLAlchemy) nor, for --help, the Azure SDKs. Each runs in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "flask_sqlalchemy", "flask_migrate", "flask_smorest", "flask_limiter")

PROBE = """
import sys
from webapp.cli import main
try:
    main.main(sys.argv[1:], prog_name="labgrader")
except SystemExit:
    pass
print("MODULES", sorted({m.split(".")[0] for m in sys.modules}))
"""


def _modules(*args: str) -> tuple[set[str], str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES "))
    return set(eval(line.split(" ", 1)[1])), done.stdout  # noqa: S307 - our own probe's printed list


def test_help_imports_neither_the_database_stack_nor_azure():
    modules, out = _modules("--help")
    assert "validate" in out and "serve" in out and "limiter" in out
    assert not modules & {*HEAVY, "azure", "msrest"}, sorted(modules & {*HEAVY, "azure", "msrest"})


def test_validate_imports_no_database_stack(sim, attendee, tmp_path):
    path = tmp_path / "attendee.json"
    path.write_text(json.dumps(attendee), encoding="utf-8")
    modules, out = _modules("validate", "--attendee", str(path), "--task", "1")
    assert "Task 1" in out and "FAIL" in out, out
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
