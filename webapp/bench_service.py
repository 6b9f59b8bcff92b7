"""Figures 3 to 6 of ``labgrader bench`` (issue 9, section 4): the web service around the validator.

3. the same validation through HTTP (``labgrader serve``, real sockets) and in this process: p50 ratio;
4. a burst of attendees, each with their own resources, pressing Validate within 5 s at L = 100 ms (errors,
   p95 / one validation, throughput, CPU per press of the server, the simulator and the load generator),
   and many presses on one F0 resource (calls/s reaching it, counted at the simulator);
5. the proctor's class page, its live grid and the progress JSON at two class sizes, on SQLite and on
   PostgreSQL, seeded by bulk inserts: render time and SQL queries per page;
6. a class re-validated by the background jobs against one attendee's whole lab x M / workers.

:func:`measure` runs them against the bench's simulator; :func:`print_figures` prints them next to TARGETS.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

LAB = "spot-the-flaw"
BURST_LATENCY_MS = 100.0
BURST_SECONDS = 5.0
PG_URL = os.environ.get("LABGRADER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGETS = {
    "http_p50_ratio": 1.10,
    "burst_errors": 0,
    "burst_p95_x_single": 3.0,
    "f0_calls_per_second": 2,
    "proctor_page_seconds": 0.25,
}
SIZES = {"quick": {"burst": 10, "f0_presses": 3, "classes": (30, 150), "revalidate": 3, "http_runs": 3},
         "full": {"burst": 300, "f0_presses": 10, "classes": (200, 2000), "revalidate": 100, "http_runs": 15}}
ATTEMPTS_PER_ATTENDEE = 25  # 2,000 attendees -> 50,000 attempts
JOB_WORKERS = 8
SERVE_THREADS = 32  # one worker: the in-process F0 pacing is the only one
SHARED_THREADS = 8  # per worker, with Redis: `labgrader serve`'s defaults (and its 2 workers per CPU, at most 8)


def measure(sim, creds: dict, who, lab, latency_ms: float, quick: bool, pause, runtime,
            redis_url: str | None = None) -> dict:
    """Figures 3-6 against ``sim`` (``creds``/``who``: an attendee whose whole lab is done; ``pause``: waits
    for the F0 pace to free up, as between a student's presses). With ``redis_url``, ``labgrader serve`` runs
    as a production deployment would: several workers sharing that Redis (rate limits, F0 pacing, caches);
    without, one worker."""
    from validator import validate

    size = SIZES["quick" if quick else "full"]
    sample = validate(who, "1", lab, runtime=runtime).to_json()  # what an attempt stores, for the seeded ones
    with tempfile.TemporaryDirectory(prefix="labgrader-bench-") as tmp:
        service = _Service(Path(tmp), redis_url)
        try:
            service.start()
            key = service.api_key()
            service.add_attendee("bench-http", creds)
            figures = {"http": _timed("3", _http, sim, service, key, who, lab, latency_ms, size["http_runs"], pause,
                                       runtime)}
            figures["burst"] = _timed("4", _burst, sim, service, key, size["burst"], size["f0_presses"], pause)
        finally:
            service.stop()
        figures["class_revalidation"] = _timed("6", _class_revalidation, sim, service, latency_ms,
                                               size["revalidate"])
        figures["proctor_scale"] = _timed("5", _proctor_scale, Path(tmp), size["classes"], sample)
    return figures


def _timed(figure: str, fn, *args) -> dict:
    t0 = time.perf_counter()
    out = fn(*args)
    click.echo(f"figure {figure} measured in {time.perf_counter() - t0:.0f} s", err=True)
    return out


# -- the service: an app in this process and `labgrader serve` on the same SQLite file ------------------


class _Service:
    def __init__(self, folder: Path, redis_url: str | None = None) -> None:
        self.folder = folder
        self.redis_url = redis_url
        if redis_url:
            self.serve = {"workers": min(8, 2 * (os.cpu_count() or 1)), "threads": SHARED_THREADS, "redis": True}
        else:
            self.serve = {"workers": 1, "threads": SERVE_THREADS, "redis": False}
        self.config = {"DATABASE_URL": f"sqlite:///{folder / 'labgrader.sqlite3'}",
                       "SECRET_KEY": secrets.token_hex(32), "ALLOW_CUSTOM_CLOUD": "true",
                       "VALIDATE_RATE_LIMIT": "100000 per minute", "JOB_WORKERS": str(JOB_WORKERS)}
        self.app = _app(folder / "instance", self.config)
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def api_key(self) -> str:
        from .services import apikeys

        with self.app.app_context():
            return apikeys.create("bench")[1]

    def add_attendee(self, name: str, creds: dict) -> int:
        from .services import attendees

        with self.app.app_context():
            return attendees.upsert(LAB, name, cohort="bench", azure={k: v for k, v in creds.items()
                                                                       if k != "injects"},
                                    injects=creds["injects"]).id

    def start(self) -> None:
        """``labgrader serve`` on the same SQLite file: one worker (the in-process F0 pacing is then the only
        one), or with Redis several (the app in this process does not use it: its background jobs stay here)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABGRADER_")}
        env.update({f"LABGRADER_{k}": v for k, v in self.config.items()}, NO_PROXY="127.0.0.1,localhost")
        if self.redis_url:
            env["LABGRADER_REDIS_URL"] = self.redis_url
        with (self.folder / "serve.log").open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "webapp.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", str(self.serve["workers"]), "--threads", str(self.serve["threads"])],
                env=env, cwd=self.folder, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"
        import requests

        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise click.ClickException("labgrader serve did not start:\n"
                                           + (self.folder / "serve.log").read_text(errors="replace")[-2000:])
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)  # the group this bench started (start_new_session)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=30)


def _app(instance: Path, config: dict):
    from . import create_app

    return create_app({"INSTANCE_PATH": str(instance), "AUTO_MIGRATE": True, "ALLOW_CUSTOM_CLOUD": True,
                       **{k: v for k, v in config.items() if k != "ALLOW_CUSTOM_CLOUD"}})


def _client():
    """A platform's HTTP client for the loopback service: no proxy, .netrc or CA look-up in the environment on
    every request (requests does them unless told not to; they are the client's time, not labgrader's)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    return session


def _press(session, url: str, key: str, attendee: str, step: str) -> tuple[float, int, str]:
    """One Validate through the API: (ms, HTTP status, result status)."""
    t0 = time.perf_counter()
    try:
        r = session.post(f"{url}/api/v1/labs/{LAB}/attendees/{attendee}/validations", json={"step": step},
                         headers={"Authorization": f"Bearer {key}"}, timeout=120)
    except Exception as exc:  # noqa: BLE001 - a refused or dropped connection is an error the figure counts
        return (time.perf_counter() - t0) * 1000, 0, type(exc).__name__
    ms = (time.perf_counter() - t0) * 1000
    return ms, r.status_code, (r.json().get("status", "") if r.status_code == 200 else r.text[:200])


# -- 3. through HTTP -------------------------------------------------------------------------------------


def _http(sim, service: _Service, key: str, who, lab, latency_ms: float, runs: int, pause, runtime) -> dict:

    from validator import validate

    step = "3.1"  # a warm step with Custom Vision calls: the path every press takes
    session = _client()
    for _ in range(2):  # the server's token, clients and caches, as in this process
        pause()
        _press(session, service.url, key, "bench-http", step)
    sim.faults.add({"operation": "*", "latency_ms": latency_ms})
    try:
        http, local = [], []
        for _ in range(runs):
            pause()
            ms, code, status = _press(session, service.url, key, "bench-http", step)
            if code != 200:
                raise click.ClickException(f"figure 3: the API answered {code}: {status}")
            http.append(ms)
            pause()
            t0 = time.perf_counter()
            validate(who, step, lab, runtime=runtime)
            local.append((time.perf_counter() - t0) * 1000)
    finally:
        sim.faults.clear()
    p50_http, p50_local = statistics.median(http), statistics.median(local)
    return {"task": step, "runs": runs, "http_p50_ms": round(p50_http, 1), "in_process_p50_ms": round(p50_local, 1),
            "p50_ratio": round(p50_http / p50_local, 2), "target": {"p50_ratio": TARGETS["http_p50_ratio"]}}


# -- 4. burst ---------------------------------------------------------------------------------------------


def _burst(sim, service: _Service, key: str, attendees: int, f0_presses: int, pause) -> dict:

    from azuresim.student import Student

    spare = 3  # pressed alone, once each: what one validation takes, cold as in the burst
    # pressed together first, untimed: every worker has served a press (its first builds what later ones reuse)
    warm = 2 * service.serve["workers"] if service.serve["workers"] > 1 else 0

    def make(i: int) -> str:
        creds = sim.create_attendee(f"burst-{i}")
        Student(creds).do("1")
        name = f"burst-{i}"
        service.add_attendee(name, creds)
        return name

    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(make, range(attendees + spare + warm)))
    step = "1"
    sim.faults.add({"operation": "*", "latency_ms": BURST_LATENCY_MS})
    try:
        if warm:
            with ThreadPoolExecutor(warm) as pool:
                list(pool.map(lambda name: _press(_client(), service.url, key, name, step), names[-warm:]))
        singles = [_press(_client(), service.url, key, name, step)[0]
                   for name in names[attendees:attendees + spare]]
        single = statistics.median(singles)
        start = time.perf_counter() + 0.5
        results: list[tuple[float, int, str]] = [(0.0, 0, "")] * attendees
        ends: list[float] = [0.0] * attendees

        def press(i: int) -> None:
            time.sleep(max(0.0, start + BURST_SECONDS * i / attendees - time.perf_counter()))
            results[i] = _press(_client(), service.url, key, names[i], step)
            ends[i] = time.perf_counter()

        threads = [threading.Thread(target=press, args=(i,)) for i in range(attendees)]
        parties = _Parties(service, sim)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cpu = parties.cpu_ms_per(attendees)
    finally:
        sim.faults.clear()
    times = sorted(ms for ms, _, _ in results)
    errors = [f"{code} {status}" for _, code, status in results if code != 200 or status == "ERROR"]
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    return {"latency_ms": BURST_LATENCY_MS, "attendees": attendees, "task": step, "seconds": BURST_SECONDS,
            "errors": len(errors), "error_examples": errors[:3], "single_ms": round(single, 1),
            "p50_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1),
            "p95_x_single": round(p95 / single, 2),
            "throughput_per_second": round(attendees / (max(ends) - start), 1),
            "cpu_ms_per_press": cpu, "serve": service.serve,
            "target": {k: TARGETS[k] for k in ("burst_errors", "burst_p95_x_single", "f0_calls_per_second")},
            "one_f0_resource": _one_resource(sim, service, key, f0_presses, pause)}


class _Parties:
    """CPU the server's workers, the simulator and this process (the load generator) use from now on: which of
    them a burst keeps busy. Linux's /proc; elsewhere nothing is reported."""

    def __init__(self, service: _Service, sim) -> None:
        workers = _children(service.proc.pid) if service.proc is not None else []
        sim_pid = getattr(sim, "pid", None)  # azuresim.process.SimulatorProcess; an in-process one is in ours
        self.pids = {"server": workers, "simulator": [sim_pid] if sim_pid else [],
                     "load_generator" if sim_pid else "load_generator_and_simulator": [os.getpid()]}
        self.start = self._now()

    def _now(self) -> dict[str, float | None]:
        return {party: _cpu_seconds(pids) for party, pids in self.pids.items() if pids}

    def cpu_ms_per(self, presses: int) -> dict[str, float] | None:
        now = self._now()
        if any(v is None for v in (*now.values(), *self.start.values())):
            return None
        return {party: round((now[party] - self.start[party]) * 1000 / presses, 1) for party in now}


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (gunicorn's workers), from /proc; [] where there is none."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _cpu_seconds(pids: list[int]) -> float | None:
    """User and system CPU seconds of ``pids`` so far (/proc/PID/stat), or None where /proc cannot tell."""
    total = 0.0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return total


def _one_resource(sim, service: _Service, key: str, presses: int, pause) -> dict:
    """``presses`` presses at once on one attendee's F0 resource: the most Custom Vision calls that reach
    it in any 1 s (sampled at the simulator every 50 ms), the sustained rate, and what the students saw."""

    from validator.bench import _cv_calls

    pause()
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.perf_counter(), _cv_calls(sim)))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(presses) as pool:
            results = list(pool.map(lambda _: _press(_client(), service.url, key, "bench-http", "3.1"),
                                    range(presses)))
    finally:
        done.set()
        sampler.join()
    most = max((c2 - c1 for i, (t1, c1) in enumerate(samples) for t2, c2 in samples[i:] if t2 - t1 <= 1.0),
               default=0)
    first = next((t for t, c in samples if c > samples[0][1]), samples[0][0])
    calls = samples[-1][1] - samples[0][1]
    last = next((t for t, c in samples if c == samples[-1][1]), samples[-1][0])
    errors = [f"{code} {status}" for _, code, status in results if code != 200 or status == "ERROR"]
    return {"presses": presses, "custom_vision_calls": calls, "max_calls_in_1s": most,
            # calls after the first over the time from the first to the last: the rate once the burst is spent
            "sustained_calls_per_second": round((calls - 1) / (last - first), 2) if last > first else None,
            "errors": len(errors), "error_examples": errors[:3],
            "longest_wait_ms": round(max(ms for ms, _, _ in results), 1)}


# -- 6. class re-validation -------------------------------------------------------------------------------


def _class_revalidation(sim, service: _Service, latency_ms: float, attendees: int) -> dict:
    from azuresim.student import Student

    from .extensions import db
    from .models import Attempt
    from .proctor.views import revalidate_all
    from .services import jobs

    def make(i: int) -> int:
        creds = sim.create_attendee(f"class-{i}")
        Student(creds, counts={"Non Defective": 5, "Defect": 5}).do_all()
        return service.add_attendee(f"class-{i}", creds)

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(make, range(attendees + 1)))
    app = service.app
    sim.faults.add({"operation": "*", "latency_ms": latency_ms})
    try:
        with app.app_context():
            t0 = time.perf_counter()
            revalidate_all(ids[-1], "bench@example.com")  # one attendee, first time, as each job below
            one = time.perf_counter() - t0
            t0 = time.perf_counter()
            futures = [jobs.submit(revalidate_all, i, "bench@example.com") for i in ids[:-1]]
            ran = sum(f.result() for f in futures)
            wall = time.perf_counter() - t0
            recorded = db.session.query(Attempt).filter_by(trigger="proctor").count()
    finally:
        sim.faults.clear()
        _close(app)
    ideal = one * attendees / JOB_WORKERS
    floor = one * max(1.0, attendees / JOB_WORKERS)  # fewer attendees than workers: one lab is the least
    return {"attendees": attendees, "workers": JOB_WORKERS, "latency_ms": latency_ms, "steps_run": ran,
            "attempts_recorded": recorded, "one_attendee_s": round(one, 2), "wall_s": round(wall, 2),
            "ideal_s": round(ideal, 2), "x_ideal": round(wall / ideal, 2), "floor_s": round(floor, 2),
            "x_floor": round(wall / floor, 2),
            "target": {"x_ideal": "none set; 1.0 is ideal"}}


# -- 5. proctor scale -------------------------------------------------------------------------------------


def _proctor_scale(folder: Path, classes: tuple[int, int], sample: dict) -> dict:
    out = {"classes": list(classes), "attempts_per_attendee": ATTEMPTS_PER_ATTENDEE,
           "target": {"page_seconds": TARGETS["proctor_page_seconds"], "queries": "constant in class size"},
           "sqlite": _scale_on(folder / "scale", f"sqlite:///{folder / 'scale.sqlite3'}", classes, sample)}
    error = _pg_error()
    if error:
        out["postgresql"] = {"skipped": error}
        return out
    import psycopg

    schema, plain = f"lg_bench_{secrets.token_hex(4)}", PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
        out["postgresql"] = _scale_on(folder / "scale-pg", url, classes, sample)
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return out


def _pg_error() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {str(exc).strip().splitlines()[0]}"


def _scale_on(instance: Path, url: str, classes: tuple[int, int], sample: dict) -> dict:
    import re

    from sqlalchemy import event

    from .extensions import db
    from .services import apikeys, proctors

    app = _app(instance, {"DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32)})
    password = secrets.token_urlsafe(16)
    try:
        with app.app_context():
            t0 = time.perf_counter()
            for size in classes:
                _seed(f"size-{size}", size, sample)
            seeded = round(time.perf_counter() - t0, 1)
            key = apikeys.create("bench")[1]
            proctors.add("bench@example.com", password, is_admin=True)
            for size in classes:
                proctors.grant("bench@example.com", LAB, f"size-{size}")
            db.session.commit()
            engine = db.engine
        client = app.test_client()
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/proctor/login").get_data(as_text=True))
        signed = client.post("/proctor/login", data={"email": "bench@example.com", "password": password,
                                                     "csrf_token": token.group(1) if token else ""})
        if signed.status_code != 303:
            raise click.ClickException(f"figure 5: the proctor could not sign in ({signed.status_code})")
        queries = [0]

        def count(*_args) -> None:
            queries[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        rows = {}
        try:
            for size in classes:
                name = f"size-{size}"
                pages = {"class_page": (f"/proctor/labs/{LAB}/classes/{name}", {}),
                         "live_grid": (f"/proctor/labs/{LAB}/classes/{name}/grid", {}),
                         "progress_json": (f"/api/v1/labs/{LAB}/progress?class={name}",
                                           {"Authorization": f"Bearer {key}"}),
                         # A filter and a sort across the whole class, then a later page.
                         "stuck_by_time_page_2": (f"/proctor/labs/{LAB}/classes/{name}/grid?stuck=1&sort=time&page=2",
                                                  {})}
                row = {}
                for page, (path, headers) in pages.items():
                    times = []
                    # The first warms the pack and template caches; then the median of five: eight progress requests
                    # in a row at 2,000 attendees on PostgreSQL took 0.13-0.29 s on the 2-CPU machine, idle.
                    for _ in range(6):
                        queries[0] = 0
                        t0 = time.perf_counter()
                        r = client.get(path, headers=headers)
                        times.append(time.perf_counter() - t0)
                        if r.status_code != 200:
                            raise click.ClickException(f"figure 5: {path} answered {r.status_code}")
                    row[page] = {"seconds": round(statistics.median(times[1:]), 3), "queries": queries[0]}
                rows[str(size)] = row
        finally:
            event.remove(engine, "before_cursor_execute", count)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return {"seed_seconds": seeded, "by_class_size": rows}
    finally:
        _close(app)


def _close(app) -> None:
    """Stop what an app started in this process (job pool, webhook sweeper, automatic checks' scheduler)
    before its database goes."""
    from .services import autocheck, jobs, webhooks

    jobs.shutdown(app)
    webhooks.stop_sweeper(app)
    autocheck.stop_scheduler(app)


def _seed(cohort_name: str, size: int, sample: dict) -> None:
    """``size`` attendees in class ``cohort_name`` at every stage of the lab, with ATTEMPTS_PER_ATTENDEE
    attempts each and their per-step summaries: bulk inserts through SQLAlchemy Core, not through Azure."""
    from sqlalchemy import insert, select, text

    from labguide.packs import load_pack

    from .extensions import db
    from .models import Attempt, Attendee, AttendeeStanding, StepSummary
    from .services import attendees, labs

    steps = load_pack(LAB).steps
    labs.ensure(LAB)
    cohort = attendees.get_cohort(LAB, cohort_name)
    db.session.commit()
    db.session.execute(insert(Attendee), [
        {"lab_id": LAB, "external_id": f"{cohort_name}-{i:05d}", "cohort_id": cohort.id,
         "display_name": f"Attendee {i}", "injects": {}, "azure": {}} for i in range(size)])
    ids = db.session.scalars(select(Attendee.id).where(Attendee.cohort_id == cohort.id).order_by(Attendee.id)).all()
    now = datetime.now(UTC)
    attempts, summaries = [], []
    for n, attendee_id in enumerate(ids):
        reached = n % (len(steps) + 1)  # steps passed: every stage of the lab, in equal shares
        touched = steps[:min(reached + 1, len(steps))]
        per_step = [ATTEMPTS_PER_ATTENDEE // len(touched)] * len(touched)
        per_step[-1] += ATTEMPTS_PER_ATTENDEE - sum(per_step)
        for k, (step, count) in enumerate(zip(touched, per_step, strict=True)):
            passed = k < reached
            first = now - timedelta(minutes=90 - 10 * k)
            for j in range(count):
                last = j == count - 1
                status = "PASS" if passed and last else "FAIL"
                attempts.append({"attendee_id": attendee_id, "step_id": step.id, "task": step.task,
                                 "status": status, "message": sample["message"], "hint": None,
                                 "result": sample, "trigger": "student", "triggered_by": None,
                                 "started_at": first + timedelta(seconds=30 * j), "duration_ms": 400,
                                 "azure_calls": 2})
            when = first + timedelta(seconds=30 * (count - 1))
            summaries.append({"attendee_id": attendee_id, "step_id": step.id, "status": "PASS" if passed else "FAIL",
                              "last_status": "PASS" if passed else "FAIL", "message": sample["message"],
                              "attempts": count, "fails": count - 1 if passed else count,
                              "consecutive_fails": 0 if passed else count, "first_attempt_at": first,
                              "last_attempt_at": when, "passed_at": when if passed else None,
                              "first_passed_at": when if passed else None,
                              "failing_checks": [] if passed else [{"check_id": step.checks[0].id,
                                                                     "message": sample["message"]}],
                              "judged_on": None, "observed": None})
    for chunk in range(0, len(attempts), 5000):
        db.session.execute(insert(Attempt), attempts[chunk:chunk + 5000])
    db.session.execute(insert(StepSummary), summaries)
    # What recording the attempts would have kept (services.standings): nothing judged, so nothing out of date.
    db.session.execute(insert(AttendeeStanding), [{"attendee_id": i, "out_of_date": [], "updated_at": now}
                                                   for i in ids])
    db.session.commit()
    # The planner statistics a live database has (PostgreSQL's autovacuum gathers them after a bulk load).
    db.session.execute(text("ANALYZE"))
    db.session.commit()


# -- output ---------------------------------------------------------------------------------------------


def print_figures(f: dict) -> None:
    t, echo = TARGETS, click.echo
    h = f["http"]
    echo(f"3. Through HTTP vs in-process (Task {h['task']}, {h['runs']} runs): p50 {h['http_p50_ms']} ms vs "
         f"{h['in_process_p50_ms']} ms = {h['p50_ratio']} (target <= {t['http_p50_ratio']})")
    b = f["burst"]
    serve = b["serve"]
    echo(f"4. Burst ({serve['workers']} gunicorn worker{'s' if serve['workers'] > 1 else ''} x {serve['threads']} "
         f"threads{', sharing Redis' if serve['redis'] else ''}): {b['attendees']} attendees press Task {b['task']} "
         f"within {b['seconds']:g} s at L = "
         f"{b['latency_ms']:g} ms: {b['errors']} errors (target {t['burst_errors']}); p95 {b['p95_ms']} ms = "
         f"{b['p95_x_single']} x a single validation ({b['single_ms']} ms; target <= {t['burst_p95_x_single']}); "
         f"p50 {b['p50_ms']} ms; {b['throughput_per_second']} validations/s")
    if b.get("cpu_ms_per_press"):
        echo("   CPU per press during the burst: " + ", ".join(f"{party.replace('_', ' ')} {ms} ms"
                                                          for party, ms in b["cpu_ms_per_press"].items()))
    o = b["one_f0_resource"]
    echo(f"   {o['presses']} presses at once on one F0 resource: at most {o['max_calls_in_1s']} Custom Vision calls "
         f"in any 1 s, {o['sustained_calls_per_second']} calls/s sustained (target <= {t['f0_calls_per_second']}"
         f"/s); {o['errors']} errors; the longest wait {o['longest_wait_ms']} ms")
    p = f["proctor_scale"]
    echo(f"5. Proctor scale ({ATTEMPTS_PER_ATTENDEE} attempts per attendee; target <= "
         f"{t['proctor_page_seconds']} s per page, queries constant in class size):")
    for backend in ("sqlite", "postgresql"):
        data = p[backend]
        if "skipped" in data:
            echo(f"   {backend}: skipped ({data['skipped']})")
            continue
        for size, row in data["by_class_size"].items():
            cells = ", ".join(f"{page} {v['seconds']} s / {v['queries']} queries" for page, v in row.items())
            echo(f"   {backend:<10} {size:>5} attendees: {cells}")
    c = f["class_revalidation"]
    echo(f"6. Class re-validation: {c['attendees']} attendees by {c['workers']} background workers at L = "
         f"{c['latency_ms']:g} ms: {c['wall_s']} s vs one attendee's whole lab ({c['one_attendee_s']} s) x "
         f"{c['attendees']} / {c['workers']} = {c['ideal_s']} s: {c['x_ideal']} x (ideal 1.0; "
         f"{c['x_floor']} x max(that, one lab))")
