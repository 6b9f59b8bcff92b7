"""``labgrader demo``: azuresim, the web service on SQLite, and a class of simulated attendees.

Everything lives in one folder (default ``.labgrader-demo``) that is started afresh on each run. The class
is seeded in the background, through the scripted student and the real SDKs, so the URLs print at once and
the proctor grid fills in live.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import click

LAB = "spot-the-flaw"
CLASS = "demo-class"
DETECTION_LAB = "find-the-flaw"
DETECTION_CLASS = "demo-class-detection"
PROCTOR_EMAIL = "proctor@demo.labgrader.local"
YOU = "you"

# Where each simulated attendee is in the lab: the tasks done, with the mistakes some of them made.
# (The first is the newcomer running the demo: nothing done yet.)
SCENARIOS: list[tuple[str, list[tuple[str, str | None]]]] = [
    ("You (demo student)", []),
    ("Ada Lovelace", [("1", None), ("2", None), ("3.1", None), ("3.2", None), ("4", None), ("5.1", None),
                      ("5.2", None), ("6", None)]),
    ("Grace Hopper", [("1", None), ("2", None), ("3.1", None), ("3.2", None), ("4", None)]),
    ("Alan Turing", [("1", None), ("2", "multilabel")]),
    ("Katherine Johnson", [("1", None), ("2", "multilabel")]),
    ("Edsger Dijkstra", [("1", None), ("2", "multilabel")]),
    ("Barbara Liskov", [("1", "wrong-tier")]),
    ("Donald Knuth", [("1", None), ("2", None), ("3.1", "misspelled-tag")]),
    ("Frances Allen", [("1", None), ("2", "non-compact-domain")]),
    ("John Backus", [("1", "wrong-region")]),
    ("Margaret Hamilton", [("1", None), ("2", None), ("3.1", None), ("3.2", None), ("4", "advanced-training")]),
    ("Ken Thompson", [("1", None), ("2", None), ("3.1", None), ("3.2", "too-few-images")]),
    ("Radia Perlman", [("1", None), ("2", None), ("3.1", None), ("3.2", None), ("4", None), ("5.1", None)]),
    ("Dennis Ritchie", [("1", None)]),
    ("Shafi Goldwasser", [("1", None), ("2", None), ("3.1", None), ("3.2", None), ("4", None), ("5.1", None),
                          ("5.2", None), ("6", None)]),
    ("Leslie Lamport", [("1", None), ("2", "object-detection")]),
    ("Hedy Lamarr", [("1", "wrong-name")]),
    ("Tim Berners-Lee", [("1", None), ("2", None), ("3.1", None), ("3.2", None), ("4", None),
                         ("5.1", "wrong-image")]),
    ("Sophie Wilson", [("1", None), ("2", None), ("3.1", "untagged")]),
    ("Vint Cerf", [("1", None), ("2", None), ("3.1", None), ("3.2", None), ("4", "training-failed")]),
]

# The second lab's class (Find the Flaw, object detection), with its own typical mistakes.
_DONE = [("1", None), ("2", None), ("3", None), ("4", None)]
DETECTION_SCENARIOS: list[tuple[str, list[tuple[str, str | None]]]] = [
    ("Mary Jackson", [*_DONE, ("5", None), ("6", None)]),
    ("Dorothy Vaughan", _DONE),
    ("Jean Bartik", [("1", None), ("2", "classification")]),
    ("Kathleen Booth", [("1", None), ("2", None), ("3", "too-few-regions")]),
    ("Lynn Conway", [("1", None), ("2", None), ("3", "wrong-tag")]),
    ("Evelyn Berezin", [("1", None), ("2", None), ("3", "boxes-off"), ("4", None), ("5", None)]),
    ("Adele Goldberg", [("1", None), ("2", None), ("3", None), ("4", "advanced-training")]),
    ("Carol Shaw", [("1", None), ("2", "non-compact-domain")]),
    ("Anita Borg", [*_DONE, ("5", "good-casting")]),
    ("Fran Bilas", [("1", None)]),
]


@dataclass(frozen=True)
class DemoClass:
    """One lab's demo class: its attendees and where each is in the lab."""

    lab: str
    cohort: str
    scenarios: list[tuple[str, list[tuple[str, str | None]]]]


CLASSES = (DemoClass(LAB, CLASS, SCENARIOS), DemoClass(DETECTION_LAB, DETECTION_CLASS, DETECTION_SCENARIOS))


@dataclass
class Demo:
    """What the demo started, for printing and for tests."""

    base_url: str
    student_link: str
    proctor_email: str
    proctor_password: str
    api_key: str
    sim_info: dict
    # Set on shutdown: seeding stops between tasks instead of failing against a stopped simulator.
    stop_seeding: threading.Event = field(default_factory=threading.Event)


def external_id(display_name: str) -> str:
    return YOU if display_name.startswith("You") else display_name.split()[0].lower()


def start(folder: Path, host: str, port: int, attendees: int, training_seconds: float,
          provisioning_seconds: float = 3.0):
    """Start azuresim and the app, seed the class in the background; returns (demo, server, sim, seeding)."""
    from werkzeug.serving import make_server

    from azuresim.server import Simulator
    from webapp import create_app
    from webapp.services import apikeys, launch, proctors
    from webapp.services import attendees as attendee_service

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    sim = Simulator(state_dir=folder / "azuresim", training_seconds=training_seconds,
                    provisioning_seconds=provisioning_seconds).start()
    server = None
    try:
        app = create_app({
            "INSTANCE_PATH": str(folder / "instance"),
            "DATABASE_URL": f"sqlite:///{folder / 'labgrader.db'}",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "AUTO_MIGRATE": True,
            "ALLOW_CUSTOM_CLOUD": True,  # the demo's Azure is azuresim
            "DEMO": True,
        })
        from webapp.factory import start_background

        start_background(app)  # webhook deliveries and automatic checks run from the start, not the first request
        server = make_server(host, port, app, threaded=True)
        base = f"http://{host}:{server.server_port}"
        app.config["BASE_URL"] = base
        password = secrets.token_urlsafe(12)
        # Each lab's class has up to ``attendees`` people; the first of the first class is the newcomer.
        chosen = [(c, name, actions) for c in CLASSES for name, actions in c.scenarios[: max(1, attendees)]]
        with app.app_context():
            proctors.add(PROCTOR_EMAIL, password, is_admin=True)
            for c in CLASSES:
                proctors.grant(PROCTOR_EMAIL, c.lab, c.cohort)
            _, api_key = apikeys.create("demo-platform")
            records = {}
            for c, name, _ in chosen:
                creds = sim.create_attendee(external_id(name))
                records[name] = attendee_service.upsert(
                    c.lab, external_id(name), cohort=c.cohort, display_name=name, azure=creds,
                    injects={"AzureAdUserEmail": f"{external_id(name)}@demo.labgrader.local",
                             "AzureAdUserPassword": secrets.token_urlsafe(10)},
                )
            link = launch.make_link(records[chosen[0][1]])
        demo = Demo(base, link, PROCTOR_EMAIL, password, api_key, sim.info)
        seeding = threading.Thread(target=_seed, args=(app, chosen[1:], demo.stop_seeding), name="demo-seed",
                                   daemon=True)
        seeding.start()
        return demo, server, sim, seeding
    except BaseException:
        if server is not None:
            server.server_close()
        sim.stop()
        raise


def _seed(app, scenarios, stop: threading.Event) -> None:
    """Walk each simulated attendee to their point in the lab, then validate what they did."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda sc: _seed_one(app, *sc, stop=stop), scenarios))


def _seed_one(app, demo_class: DemoClass, name: str, actions: list[tuple[str, str | None]],
              stop: threading.Event) -> None:
    from azuresim.student import scripted_student
    from webapp.services import attendees as attendee_service
    from webapp.services import validation

    log = logging.getLogger("labgrader.demo")
    with app.app_context():
        attendee = attendee_service.get(demo_class.lab, external_id(name))
        student, tasks = scripted_student(demo_class.lab, attendee_service.credentials(attendee))
        try:
            for task, mistake in actions:
                if stop.is_set():
                    return
                student.do(task, mistake)
                validation.run(attendee, task, trigger="sweep", triggered_by="demo")
            if actions:  # the next step, which they have not done yet
                validation.run(attendee, _next_task(tasks, actions[-1][0]) or actions[-1][0], trigger="sweep",
                               triggered_by="demo")
        except Exception:  # a demo attendee that fails to seed must not stop the others
            if not stop.is_set():
                log.exception("seeding %s failed", name)


def _next_task(tasks: tuple[str, ...], task: str) -> str | None:
    i = tasks.index(task)
    return tasks[i + 1] if i + 1 < len(tasks) else None


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=click.IntRange(0, 65535), show_default=True, help="0 picks a free port.")
@click.option("--dir", "folder", default=".labgrader-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's database and simulator state (emptied on start).")
@click.option("--attendees", default=len(SCENARIOS), show_default=True, type=click.IntRange(1, len(SCENARIOS)),
              help="How many simulated attendees in each lab's class (the first of Spot the Flaw's is you).")
@click.option("--training-seconds", default=8.0, show_default=True, type=float,
              help="How long a simulated training takes.")
@click.option("--provisioning-seconds", default=3.0, show_default=True, type=click.FloatRange(0),
              help="How long creating or deleting a simulated Azure resource takes.")
def demo_command(host: str, port: int, folder: str, attendees: int, training_seconds: float,
                 provisioning_seconds: float) -> None:
    """Run labgrader on azuresim with a seeded class: no configuration needed."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request: the URLs matter here
    demo, server, sim, seeding = start(Path(folder).resolve(), host, port, attendees, training_seconds,
                                       provisioning_seconds)
    click.echo(f"""
labgrader demo is running (Ctrl-C to stop). Everything runs locally on azuresim; nothing touches Azure.

  Student (you):     {demo.student_link}
                     Press Validate under a task, then use the Practice panel to do the task (or a mistake).
  Proctor dashboard: {demo.base_url}/proctor
                     sign in as {demo.proctor_email} / {demo.proctor_password}
                     classes: {CLASS} ({LAB}) and {DETECTION_CLASS} ({DETECTION_LAB})
  Platform API docs: {demo.base_url}/api/v1/docs
                     API key: {demo.api_key}
  Simulator:         {demo.sim_info['admin_url']}

Both classes are being seeded in the background; watch the proctor grids fill in.
""")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        demo.stop_seeding.set()
        seeding.join(timeout=15)  # the task in hand finishes against a live simulator: no tracebacks on Ctrl-C
        sim.stop()
