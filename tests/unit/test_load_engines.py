"""The engine registry and runner.run, the load_test module's entry (_loadtest/engines, runner.py).

The lk engine runs the stand-in executable of test_load_lk.py (NOT lk: a script that prints a fixture
shaped from lk's source). The metrics URL points at a closed port on loopback: a real refused
connection, which the runner must record without failing the run.
"""

import importlib.util
import json
import os

import pytest
from test_load_lk import SECRET, stand_in

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines import ENGINES
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.base import Engine, Job
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.metrics import Sampler, busy_pct, host_cpu_times
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import build_plan, result_plan, split
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.runner import RunError, run

CLOSED = "http://127.0.0.1:1/metrics"


def test_every_engine_implements_the_interface():
    assert list(ENGINES) == ["webrtc", "lk", "go"]
    for name, engine in ENGINES.items():
        assert isinstance(engine, Engine) and engine.name == name
        assert type(engine).run is not Engine.run, "%s has no run()" % name
    has_sdk = importlib.util.find_spec("livekit") is not None
    assert (ENGINES["webrtc"].missing("gen1") is None) == has_sdk
    assert ENGINES["lk"].missing("gen1") is None  # lk is looked for when it runs


def job(lk_path, start_at):
    plan_slice = split(build_plan("smoke"), 1, prefix="rt")[0]
    return Job("ws://127.0.0.1:7880", "APIkey123", SECRET, plan_slice, start_at, "gen1", lk_path=lk_path)


def test_run_adds_samples_usage_and_scrubs(tmp_path):
    lk, record = stand_in(tmp_path)
    j = job(lk, 0)
    result = run("lk", j, Sampler([CLOSED], interval=0.2, timeout=1.0))
    assert result["engine"] == "lk" and result["plan"] == result_plan(j.plan_slice)
    g = result["generator"]
    assert set(g) == {"cpu_seconds", "max_rss_bytes", "wall_seconds", "host_busy_pct", "host_cores"}
    assert g["host_cores"] == os.cpu_count() and 0 <= g["host_busy_pct"] <= 100  # this machine, over the run
    assert result["server_samples"] and all(s["url"] == CLOSED and s["error"] for s in result["server_samples"])
    assert result["errors"][-1].startswith("metrics %s: " % CLOSED)
    argv = json.loads(record.read_text().splitlines()[0])["argv"]
    assert argv[argv.index("--identity-prefix") + 1] == "lt-rt-h0-0"
    assert argv[argv.index("--room") + 1] == "rt-0"
    assert SECRET not in json.dumps(result)


def test_engine_failure_gives_the_partial_result(tmp_path):
    with pytest.raises(RunError) as failed:
        run("lk", job(str(tmp_path / SECRET / "lk"), 0), Sampler([]))
    assert str(failed.value).startswith("the lk engine failed: lk (the LiveKit CLI) not found")
    r = failed.value.result
    assert (r["engine"], r["complete"], r["participants"]["planned"]) == ("lk", False, 2)
    assert r["generator"] is not None and r["server_samples"] == []
    assert "not found" in r["errors"][0] and SECRET not in r["errors"][0] and "********" in r["errors"][0]


def test_host_cpu_times_from_proc_stat(tmp_path):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice: guest is inside user, not counted twice
    stat.write_text("cpu  100 0 50 800 20 0 10 20 40 0\ncpu0 50 0 25 400 10 0 5 10 20 0\ncpu1 50 0 25 400 10 0 5 10 20 0\n"
                    "intr 1 2 3\nctxt 5\n")
    before = host_cpu_times(str(stat))
    assert before == (180, 1000, 2)  # busy = user + system + softirq + steal; total without guest
    stat.write_text("cpu  400 0 150 1000 20 0 10 20 40 0\ncpu0 1\ncpu1 1\n")
    # 400 more busy of 600 more jiffies
    assert busy_pct(before, host_cpu_times(str(stat))) == pytest.approx(100.0 * 400 / 600)
    assert busy_pct(before, before) is None and busy_pct(None, before) is None
    assert host_cpu_times(str(tmp_path / "missing")) is None
    real = host_cpu_times()
    assert real[2] == os.cpu_count() and 0 < real[0] < real[1]
