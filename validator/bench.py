"""``labgrader bench``: how fast labgrader grades, as ratios against the simulator's injected Azure latency.

Everything runs against azuresim on this machine, in a process of its own, with a fault rule
``{"operation": "*", "latency_ms": L}``; ratios (wall / L, wall / floor) hold on a noisy machine where
milliseconds do not. Figures (issue 9, section 4; the numbers are the issue's):

1. per step, warm (pressed again: the resource, key and project remembered) and cold (every cache emptied):
   median wall / L, Azure calls and the Custom Vision calls among them;
2. the whole lab for one attendee from one snapshot: wall / floor, floor = max(longest chain of dependent
   calls x L, the F0 pacing of its Custom Vision calls), and Azure calls;
7. a fresh process per check (``labgrader validate --task N``: imports, sign-in, calls) against the same
   step validated warm in this process: the ratio per step;
8. start-up: ``labgrader --help``, the imports of ``labgrader validate``, and how long a ``labgrader validate``
   process runs before its first Azure call (medians, whole process), and resident memory after validations
   across many attendees.

Figures 3 (through HTTP), 4 (burst), 5 (proctor scale) and 6 (class re-validation): ``webapp.bench_service``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

SMALL = {"Non Defective": 30, "Defect": 40}  # images per tag: the verdicts do not matter here, the calls do
TARGETS = {
    "warm_step_x_latency": 2.5,
    "warm_step_cv_calls": 2,
    "whole_lab_x_floor": 1.3,
    "whole_lab_calls": 9,
    "per_check_script_speedup": 5.0,
    "help_seconds": 0.35,
    "validate_imports_seconds": 0.5,
    "validate_first_call_seconds": 0.5,
}


@click.command("bench")
@click.option("--quick", is_flag=True, help="Fewer repetitions and attendees: under 2 minutes.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, writable=True),
              help="Also write every figure as JSON to this file.")
@click.option("--latency-ms", type=float, default=50.0, show_default=True,
              help="Latency L the simulator adds to every Azure call.")
@click.option("--redis-url", help="Serve figures 3 and 4 as a production deployment would: several gunicorn "
                                  "workers sharing this Redis (default: one worker, no Redis).")
def bench_command(quick: bool, json_file: str | None, latency_ms: float, redis_url: str | None) -> None:
    """Measure labgrader against azuresim: per step, whole lab, per-check scripts, start-up, memory."""
    from azuresim.student import Student
    from labguide.packs import load_pack

    from . import Attendee, Observation

    repeat = 2 if quick else 5
    # --quick: one cold run per step (each waits a window for the F0 pace to free up first)
    runs = {"cold": 1, "warm": repeat} if quick else {"cold": repeat, "warm": repeat}
    lab = load_pack("spot-the-flaw")
    figures: dict[str, Any] = {
        "machine": _machine(), "latency_ms": latency_ms, "quick": quick, "targets": TARGETS,
    }
    t0 = time.perf_counter()
    with _simulator() as sim, Observation() as runtime:
        creds = sim.create_attendee("bench")
        Student(creds, counts=dict(SMALL)).do_all()
        who = Attendee.from_json(creds, lab)
        _warm_up(who, lab, runtime)
        sim.faults.add({"operation": "*", "latency_ms": latency_ms})
        done = f"{repeat} runs per figure" + (" (cold steps: 1)" if quick else "")
        click.echo(f"azuresim, injected latency L = {latency_ms:g} ms; {done}; the lab done in "
                   f"{time.perf_counter() - t0:.0f} s", err=True)
        pause = _Pacing(sim, runtime.limiters.free)
        figures["steps"] = timed("1", _steps, sim, pause, who, lab, latency_ms, runs, runtime)
        figures["whole_lab"] = timed("2", _whole_lab, sim, pause, who, lab, latency_ms, repeat, runtime)
        figures["per_check_script"] = timed("7", _per_check_script, pause, creds, who, lab,
                                            ["1", "4"] if quick else [s.task for s in lab.steps], runtime)
        sim.faults.clear()
        figures["memory"] = timed("8 (memory)", _memory, sim, lab, 20 if quick else 200, 100 if quick else 2000,
                                  runtime)
        from webapp.bench_service import measure

        figures.update(measure(sim, creds, who, lab, latency_ms, quick, pause, runtime, redis_url))
    figures["startup"] = timed("8 (start-up)", _startup, 3 if quick else 7)
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    click.echo(f"measured in {figures['seconds']:.0f} s", err=True)
    _print(figures)
    if json_file:
        Path(json_file).write_text(json.dumps(figures, indent=2), encoding="utf-8")


def _simulator():
    """azuresim in a process of its own, as Azure is elsewhere: in this one it would share the interpreter's
    GIL with the grader and the load the figures put on it, and their waits would count as labgrader's."""
    from azuresim.process import SimulatorProcess

    return SimulatorProcess(training_seconds=0.2)


def timed(figure: str, fn, *args):
    """``fn(*args)``, saying on stderr how long figure ``figure`` took to measure."""
    t0 = time.perf_counter()
    out = fn(*args)
    click.echo(f"figure {figure} measured in {time.perf_counter() - t0:.0f} s", err=True)
    return out


# -- figures --------------------------------------------------------------------------------------------


def _warm_up(who, lab, runtime) -> None:
    from . import validate

    for step in lab.steps:  # the token, the clients, the key and domain caches
        validate(who, step.id, lab, runtime=runtime)


class _Pacing:
    """Waits until the F0 pace (at most 2 calls in any window) is free again, as it is for a student's presses,
    which are seconds apart: one window after the last Custom Vision call, if any was made since the last wait."""

    def __init__(self, sim, free) -> None:
        self.sim = sim
        self.free = free  # the F0 limiter
        self.seen: int | None = None  # unknown before the first wait: wait a whole window

    def __call__(self) -> None:
        made = 1 if self.seen is None else _cv_calls(self.sim) - self.seen
        if made:
            time.sleep(self.free.span)
        self.seen = _cv_calls(self.sim)


def _clear_caches(runtime) -> None:
    runtime.caches.clear()  # keys, domains, what discovery found, trained iterations' performance


def _steps(sim, pause: _Pacing, who, lab, latency_ms: float, runs: dict[str, int], runtime) -> list[dict]:
    from . import validate

    rows = []
    for step in lab.steps:
        row: dict[str, Any] = {"task": step.task}
        for mode in ("cold", "warm"):
            times, calls, cv_calls = [], 0, 0
            for _ in range(runs[mode]):
                if mode == "cold":
                    _clear_caches(runtime)
                pause()
                before, cv_before = sim.call_count(), _cv_calls(sim)
                t0 = time.perf_counter()
                validate(who, step.id, lab, runtime=runtime)
                times.append((time.perf_counter() - t0) * 1000)
                calls, cv_calls = sim.call_count() - before, _cv_calls(sim) - cv_before
            row[mode] = {"runs": runs[mode], "median_ms": round(statistics.median(times), 1),
                         "x_latency": round(statistics.median(times) / latency_ms, 2), "azure_calls": calls,
                         "custom_vision_calls": cv_calls}
        rows.append(row)
    return rows


def _whole_lab(sim, pause: _Pacing, who, lab, latency_ms: float, repeat: int, runtime) -> dict:
    from checks import facts as F

    from . import validate, validate_many

    reads = [r for s in lab.steps for c in s.checks for r in _reads(c.id)]
    chain = _fetch_chain(F.closure(reads))
    times, calls, cv_calls = [], 0, 0
    for _ in range(repeat):
        pause()
        before, cv_before = sim.call_count(), _cv_calls(sim)
        t0 = time.perf_counter()
        validate_many(who, None, lab, runtime=runtime)
        times.append((time.perf_counter() - t0) * 1000)
        calls, cv_calls = sim.call_count() - before, _cv_calls(sim) - cv_before
    free = runtime.limiters.free
    # The pace lets `burst` calls go at once and the next ones a window (span) later each time: the earliest the
    # last Custom Vision call can start.
    pacing_ms = max(0, cv_calls - 1) // free.burst * free.span * 1000
    floor_ms = max(chain * latency_ms, pacing_ms)
    step_by_step_calls = 0
    pause()
    before = sim.call_count()
    for step in lab.steps:
        validate(who, step.id, lab, runtime=runtime)
    step_by_step_calls = sim.call_count() - before
    median = statistics.median(times)
    return {"median_ms": round(median, 1), "azure_calls": calls, "custom_vision_calls": cv_calls,
            "step_by_step_calls": step_by_step_calls, "chain": chain, "pacing_ms": round(pacing_ms, 1),
            "floor_ms": round(floor_ms, 1), "x_floor": round(median / floor_ms, 2) if floor_ms else None}


def _reads(check_id: str) -> tuple[str, ...]:
    from checks import registry

    return registry.get(check_id).reads


def _fetch_chain(facts: tuple) -> int:
    """The longest chain of facts fetched one after another (derived facts cost no call, nor do deleted
    accounts while the training resource exists)."""
    depth: dict[str, int] = {}
    for fact in facts:  # dependencies first
        own = 0 if fact.derived or fact.only_without is not None else 1
        depth[fact] = own + max((depth.get(d, 0) for d in fact.depends_on), default=0)
    return max(depth.values(), default=0)


def _cv_calls(sim) -> int:
    return sum(c["count"] for c in sim.call_log() if c["account"])


def _per_check_script(pause: _Pacing, creds: dict, who, lab, tasks: list[str], runtime) -> list[dict]:
    from . import validate

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "attendee.json"
        path.write_text(json.dumps(creds), encoding="utf-8")
        for task in tasks:
            pause()
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "webapp.cli", "validate", "--attendee", str(path), "--task", task,
                            "--json"], capture_output=True, timeout=120, check=False)
            script_ms = (time.perf_counter() - t0) * 1000
            pause()
            t0 = time.perf_counter()
            validate(who, task, lab, runtime=runtime)
            warm_ms = (time.perf_counter() - t0) * 1000
            rows.append({"task": task, "script_ms": round(script_ms, 1), "warm_ms": round(warm_ms, 1),
                         "speedup": round(script_ms / warm_ms, 1)})
    return rows


def _memory(sim, lab, attendees: int, validations: int, runtime) -> dict:
    from . import Attendee, validate

    people = [Attendee.from_json(sim.create_attendee(f"bench-mem-{i}"), lab) for i in range(attendees)]
    before = _rss_mb()
    t0 = time.perf_counter()
    for i in range(validations):
        validate(people[i % attendees], "1", lab, runtime=runtime)
    return {"attendees": attendees, "validations": validations, "rss_before_mb": before, "rss_after_mb": _rss_mb(),
            "seconds": round(time.perf_counter() - t0, 1)}


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: kilobytes


# A `labgrader validate` process that notes when it first connects to a host: without Redis configured, the
# first Azure call (its sign-in). An audit hook sees the connection without changing what the process does.
_FIRST_CALL_PROBE = """
import sys, time
def hook(event, args):
    if event == "socket.connect" and not hasattr(hook, "at"):
        hook.at = time.time()
        print("FIRST_CALL", hook.at, file=sys.stderr, flush=True)
sys.addaudithook(hook)
from webapp.cli import main
main(sys.argv[1:], prog_name="labgrader")
"""


def _startup(runs: int) -> dict:
    from azuresim.server import Simulator

    def median_wall(args: list[str]) -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(args, capture_output=True, timeout=60, check=False)
            times.append(time.perf_counter() - t0)
        return round(statistics.median(times), 3)

    def median_first_call(args: list[str]) -> float:
        env = {k: v for k, v in os.environ.items() if k != "LABGRADER_REDIS_URL"}  # its first connection: Azure
        times = []
        for _ in range(runs):
            t0 = time.time()  # the wall clock: the child's hook reads it too
            done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False, env=env)
            line = next((x for x in done.stderr.splitlines() if x.startswith("FIRST_CALL ")), None)
            if line is None:
                raise click.ClickException(f"labgrader validate made no Azure call: {done.stderr[-500:]}")
            times.append(float(line.split()[1]) - t0)
        return round(statistics.median(times), 3)

    imports = "import webapp.cli, validator.cli, validator, validator.gather, labguide.packs"
    with Simulator() as sim, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "attendee.json"
        path.write_text(json.dumps(sim.create_attendee("bench-startup")), encoding="utf-8")
        first_call = median_first_call([sys.executable, "-c", _FIRST_CALL_PROBE, "validate", "--attendee", str(path),
                                        "--task", "1", "--json"])
    return {
        "help_seconds": median_wall([sys.executable, "-m", "webapp.cli", "--help"]),
        "validate_imports_seconds": median_wall([sys.executable, "-c", imports]),
        "validate_first_call_seconds": first_call,
        "python_seconds": median_wall([sys.executable, "-c", "pass"]),
        "load_average": round(os.getloadavg()[0], 2),
    }


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine()}


# -- output ---------------------------------------------------------------------------------------------


def _print(f: dict) -> None:
    t = f["targets"]
    echo = click.echo
    echo(f"\n1. Per step (x L = median wall / {f['latency_ms']:g} ms; target warm <= {t['warm_step_x_latency']} "
         f"with <= {t['warm_step_cv_calls']} Custom Vision calls)")
    echo(f"   {'task':<5} {'warm xL':>8} {'calls':>6} {'(CV)':>5} {'cold xL':>8} {'calls':>6} {'(CV)':>5}")
    for r in f["steps"]:
        w, c = r["warm"], r["cold"]
        echo(f"   {r['task']:<5} {w['x_latency']:>8} {w['azure_calls']:>6} {w['custom_vision_calls']:>5} "
             f"{c['x_latency']:>8} {c['azure_calls']:>6} {c['custom_vision_calls']:>5}")
    w = f["whole_lab"]
    echo(f"2. Whole lab, one snapshot: {w['median_ms']} ms = {w['x_floor']} x floor ({w['floor_ms']} ms: chain "
         f"{w['chain']} x L, F0 pacing {w['pacing_ms']} ms; target <= {t['whole_lab_x_floor']}); "
         f"{w['azure_calls']} Azure calls (target <= {t['whole_lab_calls']}; step by step {w['step_by_step_calls']})")
    echo(f"7. A fresh process per check vs a warm validation (target >= {t['per_check_script_speedup']}x):")
    for r in f["per_check_script"]:
        echo(f"   Task {r['task']:<4} script {r['script_ms']} ms, warm {r['warm_ms']} ms: {r['speedup']}x")
    s, m = f["startup"], f["memory"]
    echo(f"8. labgrader --help {s['help_seconds']} s (target <= {t['help_seconds']}); imports of labgrader validate "
         f"{s['validate_imports_seconds']} s (target <= {t['validate_imports_seconds']}); labgrader validate before "
         f"its first Azure call {s['validate_first_call_seconds']} s (target <= {t['validate_first_call_seconds']}); "
         f"bare python {s['python_seconds']} s; load average {s['load_average']}")
    echo(f"   resident memory {m['rss_before_mb']} MB -> {m['rss_after_mb']} MB after {m['validations']} validations "
         f"across {m['attendees']} attendees")
    from webapp.bench_service import print_figures

    print_figures(f)
