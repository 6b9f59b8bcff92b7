"""Benchmark: how long a Validate takes relative to Azure's own latency.

Runs azuresim with an injected per-call latency L (fixed, with jitter), walks a scripted student through the
lab, then validates every step R times and reports, per step, the median validate time divided by L. A step
whose checks need k sequential round trips cannot beat k; concurrency in the fact gatherer brings the ratio
below the number of calls. Ratios, not milliseconds, so the numbers hold on a noisy machine.

    .venv/bin/python benchmarks/validate_latency.py [--latency-ms 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from azuresim.server import Simulator
from azuresim.student import Student
from labguide.packs import load_pack
from validator import Attendee, Observation, validate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--jitter-ms", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold", action="store_true",
                        help="empty every cache (keys, domains, discovery) before each run")
    parser.add_argument("--pause", type=float, default=1.5,
                        help="seconds between runs, so the F0 rate limiter (2 calls/s) starts each run full "
                             "as it does for a student pressing Validate; 0 measures back-to-back presses")
    args = parser.parse_args()

    lab = load_pack("spot-the-flaw")
    with Simulator(training_seconds=0.2) as sim, Observation() as runtime:
        creds = sim.create_attendee("bench")
        Student(creds).do_all()
        who = Attendee.from_json(creds, lab)
        for step in lab.steps:  # warm up: token, clients, key cache
            validate(who, step.id, lab, runtime=runtime)
        sim.faults.add({"operation": "*", "latency_ms": args.latency_ms, "jitter_ms": args.jitter_ms})
        rows = []
        for step in lab.steps:
            times, calls = [], 0
            for _ in range(args.repeat):
                if args.cold:
                    runtime.caches.clear()
                time.sleep(args.pause)
                t0 = time.perf_counter()
                result = validate(who, step.id, lab, runtime=runtime)
                times.append((time.perf_counter() - t0) * 1000)
                calls = result.azure_calls
                assert result.status.value == "PASS", result.message
            median = statistics.median(times)
            rows.append({
                "task": step.task, "azure_calls": calls, "median_ms": round(median, 1),
                "ratio_to_latency": round(median / args.latency_ms, 2),
                "ratio_to_sequential": round(median / (calls * args.latency_ms), 2) if calls else None,
            })
    print(f"injected latency {args.latency_ms} ms ± {args.jitter_ms} ms, {args.repeat} runs per step, "
          f"{'cold' if args.cold else 'warm'} caches, {args.pause}s between runs")
    print(f"{'task':<5} {'calls':>5} {'median ms':>10} {'x latency':>10} {'x sequential':>13}")
    for r in rows:
        print(f"{r['task']:<5} {r['azure_calls']:>5} {r['median_ms']:>10} {r['ratio_to_latency']:>10} "
              f"{r['ratio_to_sequential']!s:>13}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
