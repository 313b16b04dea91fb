"""scripts/bench.py runs end to end (a --quick smoke run) and reports every figure. It asserts
no timing: the figures are for the README, not for pass/fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"

FIGURES = ["hello", "page_offset0", "page_middle_link", "page_middle_offset", "page_last_link",
           "page_last_offset", "receiver_post"]


def test_quick_bench_writes_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    bench = subprocess.Popen([sys.executable, str(SCRIPT), "--quick", "--quiet", "--json", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = bench.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        bench.terminate()  # SIGTERM: the script stops its gunicorn servers on the way out
        bench.communicate(timeout=30)
        raise
    assert bench.returncode == 0, stderr[-3000:] + stdout[-3000:]
    assert "targets:" in stdout
    figures = json.loads(out.read_text())
    assert figures["load_generator"]
    for name in FIGURES:
        figure = figures["figures"][name]
        assert figure["rps"] > 0 and figure["p99_ms"] >= figure["p50_ms"] > 0, name
        assert figure["errors"] == 0
    assert figures["push"]["cdrs_per_s"] > 0
    assert figures["push"]["record_to_stored_p50_ms"] > 0
    for when in ("memory_idle", "memory_after"):
        for server in ("hello", "cpo", "emsp"):
            memory = figures[when][server]
            assert memory["master"]["rss_mb"] > 0 and len(memory["workers"]) == 2
    assert set(figures["startup_s"]) == {"hello", "cpo", "emsp"}
    assert figures["import_ocpi_lite_app_ms"] > 0
    assert {row["target"] for row in figures["targets"]} >= {"page_offset0_vs_hello", "push_cdrs_per_s"}
    for key in ("cores", "python", "sqlite"):
        assert figures["machine"][key]
