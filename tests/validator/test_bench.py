"""`labgrader bench --quick` runs end to end and reports every figure it measures (never its timings: those
are the bench's business, not the tests')."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from validator.bench import bench_command

# Two minutes of measuring: `make test-slow` (and CI) runs it, `make test` leaves it out to stay quick.
pytestmark = pytest.mark.slow


def test_quick_bench_reports_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    done = CliRunner().invoke(bench_command, ["--quick", "--json", str(out)])
    assert done.exit_code == 0, done.output
    f = json.loads(out.read_text())
    assert {"machine", "latency_ms", "targets", "steps", "whole_lab", "per_check_script", "startup",
            "memory"} <= set(f)
    assert [r["task"] for r in f["steps"]] == ["1", "2", "3.1", "3.2", "4", "5.1", "5.2", "6"]
    for row in f["steps"]:
        for mode in ("warm", "cold"):
            assert {"median_ms", "x_latency", "azure_calls", "custom_vision_calls"} <= set(row[mode])
    assert {"median_ms", "azure_calls", "step_by_step_calls", "floor_ms", "x_floor"} <= set(f["whole_lab"])
    assert f["per_check_script"] and all({"script_ms", "warm_ms", "speedup"} <= set(r) for r in f["per_check_script"])
    assert {"help_seconds", "validate_imports_seconds", "validate_first_call_seconds"} <= set(f["startup"])
    assert {"rss_before_mb", "rss_after_mb", "validations", "attendees"} <= set(f["memory"])
    assert {"http_p50_ms", "in_process_p50_ms", "p50_ratio", "target"} <= set(f["http"])
    burst = f["burst"]
    assert {"attendees", "errors", "single_ms", "p95_ms", "p95_x_single", "throughput_per_second",
            "target"} <= set(burst)
    assert {"max_calls_in_1s", "sustained_calls_per_second", "errors",
            "longest_wait_ms"} <= set(burst["one_f0_resource"])
    scale = f["proctor_scale"]
    assert len(scale["classes"]) == 2 and "target" in scale
    for backend in ("sqlite", "postgresql"):  # PostgreSQL may be unreachable: then it says so
        if "skipped" in scale[backend]:
            assert backend == "postgresql" and scale[backend]["skipped"]
            continue
        rows = scale[backend]["by_class_size"]
        assert set(rows) == {str(n) for n in scale["classes"]}
        for row in rows.values():
            assert set(row) == {"class_page", "live_grid", "progress_json", "stuck_by_time_page_2"}
            assert all({"seconds", "queries"} <= set(v) for v in row.values())
        small, large = (rows[str(n)] for n in scale["classes"])
        assert {p: v["queries"] for p, v in small.items()} == {p: v["queries"] for p, v in large.items()}
    assert {"attendees", "workers", "one_attendee_s", "wall_s", "ideal_s", "x_ideal"} <= set(f["class_revalidation"])
    for figure in ("1. Per step", "2. Whole lab", "3. Through HTTP", "4. Burst", "5. Proctor scale",
                   "6. Class re-validation", "7. A fresh process", "8. labgrader --help"):
        assert figure in done.output
