"""The load_test module against the real livekit-server of the session (WebRTC over loopback).

In order: check mode, a smoke run, a two-generator run started together, the Prometheus samples of
a second server started with metrics on, and bad input. Runs stay small (<= 8 participants, <= 30 s):
the machine has two cores.
"""

import concurrent.futures
import json
import os
import stat
import subprocess
import sys
import time

import adhoc
import pytest
from conftest import ROOT, TEST_PORT, assert_no_secrets

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitClient
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import build_plan, split

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import local_livekit  # noqa: E402

pytestmark = pytest.mark.server

METRICS_PORT = TEST_PORT + 20  # a second server with Prometheus on: this port and the next three
RESULT_KEYS = {"schema", "host", "engine", "plan", "start_at", "started_at", "skew_s", "ended_at", "participants",
               "join_ms", "subscribe_ms", "subscribe_from", "tracks", "bytes_received", "packets_received",
               "packets_lost", "jitter_ms", "timeline", "server_samples", "generator", "errors", "complete"}
SAMPLE_KEYS = {"t", "url", "participants", "rooms", "cpu_seconds", "memory_bytes", "packets_in", "packets_out",
               "bytes_in", "bytes_out"}


def load_test(args, livekit, check=False, extra_env=None, secrets=()):
    result = adhoc.run_module("load_test", args, livekit, check=check, extra_env=extra_env)
    assert_no_secrets(result["_output"], list(livekit.secrets) + list(secrets), "the output of load_test")
    assert "Traceback" not in result["_output"], result["_output"][-3000:]
    assert "eyJ" not in result["_output"], "a token appeared in the output of load_test"
    return result


def rooms_on(livekit, names):
    client = LiveKitClient(livekit["url"], livekit["api_key"], livekit["api_secret"])
    return dict((r["name"], r) for r in client.call("RoomService", "ListRooms", {"names": names}).get("rooms") or [])


def check_generator_usage(r):
    """The module's own CPU / memory block: positive, and within what the machine can give in the run."""
    g = r["generator"]
    assert set(g) == {"cpu_seconds", "max_rss_bytes", "wall_seconds", "host_busy_pct", "host_cores"}, g
    assert g["host_cores"] == os.cpu_count() and 0 < g["host_busy_pct"] <= 100, g  # the whole machine over the run
    # the window starts at started_at (the module waits for start_at first) and ends after the leave
    assert g["wall_seconds"] == pytest.approx(r["ended_at"] - r["started_at"], abs=1.0)
    assert 0 < g["cpu_seconds"] <= g["wall_seconds"] * (os.cpu_count() or 1) + 1.0
    assert 30 * 2**20 < g["max_rss_bytes"] < 4 * 2**30  # Python + the SDK's native library: tens to hundreds of MiB


def check_files(livekit, *paths):
    for path in paths:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        with open(path) as f:
            text = f.read()
        assert_no_secrets(text, livekit.secrets, path)
        assert "eyJ" not in text, "a token appeared in %s" % path


def test_check_mode_returns_the_plan_and_joins_nobody(livekit):
    prefix = "e2e-lt-check-%d" % os.getpid()
    out = load_test({"mode": "smoke", "room_prefix": prefix}, livekit, check=True)
    assert not out.get("failed"), out
    assert out["changed"] is False and "result" not in out
    assert out["plan"]["participants"] == 2 and out["plan"]["publishers"] == 1
    assert [m["identity"] for m in out["members"]] == ["lt-%s-0-0-0" % prefix, "lt-%s-0-0-1" % prefix]
    assert out["expected_subscriptions"] == 2
    assert rooms_on(livekit, ["%s-0" % prefix]) == {}  # check mode created nothing


def test_smoke_run_shows_media_flowing(livekit, tmp_path):
    prefix = "e2e-lt-smoke-%d" % os.getpid()
    result_path, progress_path = str(tmp_path / "result.json"), str(tmp_path / "progress.json")
    start_at = time.time() + 4
    out = load_test({"mode": "smoke", "room_prefix": prefix, "start_at": start_at, "duration": 6,
                     "result_path": result_path, "progress_path": progress_path, "progress_interval": 2,
                     "host_name": "gen-smoke"}, livekit)
    assert not out.get("failed"), out.get("msg")
    assert out["changed"] is False
    r = out["result"]
    assert set(r) >= RESULT_KEYS
    assert (r["schema"], r["engine"], r["host"], r["complete"]) == (1, "webrtc", "gen-smoke", True)
    assert r["participants"] == {"planned": 2, "connected": 2, "failed": 0}
    assert r["tracks"] == {"published": 2, "expected_subscriptions": 2, "subscribed": 2}
    assert r["bytes_received"] > 10000 and r["packets_received"] > 100
    assert r["bytes_received_by_kind"]["audio"] > 0 and r["bytes_received_by_kind"]["video"] > 0
    assert r["bytes_sent"] > 0 and r["video_codecs_sent"] == ["vp8"]
    assert len(r["join_ms"]) == 2 and all(0 < v < 20000 for v in r["join_ms"])
    assert len(r["subscribe_ms"]) == 2 and all(0 <= v < 20000 for v in r["subscribe_ms"])
    assert r["subscribe_from"] == "published_or_joined"
    assert r["start_at"] == pytest.approx(start_at, abs=0.01)
    assert 0 <= r["skew_s"] < 1.0
    # join phase (2 participants at 5/s) + 6 s, then leave
    assert 6 <= r["ended_at"] - r["started_at"] < 20
    assert r["timeline"] and r["timeline"][-1]["connected"] == 2 and r["timeline"][-1]["bitrate_kbps"] > 0
    assert len(r["jitter_ms"]) == 2 and r["errors"] == []
    check_generator_usage(r)
    with open(result_path) as f:
        assert json.load(f) == r
    with open(progress_path) as f:
        progress = json.load(f)
    assert progress["phase"] == "done" and progress["connected"] == 2
    check_files(livekit, result_path, progress_path)
    assert rooms_on(livekit, ["%s-0" % prefix])["%s-0" % prefix]["empty_timeout"] == 30


def test_two_generators_started_together_share_the_plan(livekit, tmp_path):
    prefix = "e2e-lt-split-%d" % os.getpid()
    common = {"preset": "initial", "scale": 0.06, "rooms": 2, "duration": 15, "join_rate": 4,
              "hosts_total": 2, "room_prefix": prefix, "resolution": "320x180", "progress_interval": 5,
              "codec": "h264"}
    plan = build_plan("initial", scale=0.06, rooms=2, duration=15, join_rate=4, resolution="320x180")
    assert (plan["participants"], plan["rooms"]) == (6, 2)

    planned = [load_test(dict(common, host_index=i), livekit, check=True) for i in (0, 1)]
    identities = [set(m["identity"] for m in p["members"]) for p in planned]
    assert not identities[0] & identities[1]
    assert identities[0] | identities[1] == set(m["identity"] for s in split(plan, 2, prefix) for m in s["members"])
    assert len(identities[0] | identities[1]) == 6

    start_at = time.time() + 10  # both ansible processes are up by then
    cpu_before = os.times()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda i: load_test(dict(
            common, host_index=i, start_at=start_at, host_name="gen-%d" % i,
            result_path=str(tmp_path / ("result-%d.json" % i))), livekit), (0, 1)))
    cpu_after = os.times()
    results = [out["result"] for out in runs]
    for i, (out, r) in enumerate(zip(runs, results)):
        assert not out.get("failed"), out.get("msg")
        assert r["host"] == "gen-%d" % i and r["plan"]["host_index"] == i and r["complete"]
        assert r["participants"]["failed"] == 0 and r["participants"]["connected"] == r["participants"]["planned"] == 3
        # Subscribers of one room are on both hosts: each sees the other host's publisher too.
        assert r["tracks"]["subscribed"] == r["tracks"]["expected_subscriptions"] > 0
        assert r["bytes_received"] > 0 and r["packets_received"] > 0
        assert r["start_at"] == pytest.approx(start_at, abs=0.01)
        assert 0 <= r["skew_s"] < 2.0
        assert len(r["join_ms"]) == 3 and len(r["subscribe_ms"]) == r["tracks"]["subscribed"]
        assert r["errors"] == []
        assert r["video_codecs_sent"] == (["h264"] if r["plan"]["video_publishers"] else [])
        check_generator_usage(r)
        check_files(livekit, str(tmp_path / ("result-%d.json" % i)))
    assert sum(r["plan"]["participants"] for r in results) == 6
    assert sum(r["plan"]["publishers"] for r in results) == plan["publishers"]
    assert abs(results[0]["started_at"] - results[1]["started_at"]) < 2.0
    cpu = (cpu_after.children_user + cpu_after.children_system) - (cpu_before.children_user + cpu_before.children_system)
    # the modules are children of the ansible processes this test waited for: their CPU is part of ``cpu``
    assert sum(r["generator"]["cpu_seconds"] for r in results) <= cpu + 0.5
    print("two generators, 6 participants, %.0f s: %.1f CPU seconds in ansible + modules, %.1f in the generators' runs" % (
        results[0]["ended_at"] - start_at, cpu, sum(r["generator"]["cpu_seconds"] for r in results)))


def test_server_samples_from_prometheus(livekit, tmp_path):
    """A second livekit-server with `prometheus: {port: N}`; the module samples its /metrics."""
    for port in range(METRICS_PORT, METRICS_PORT + 4):
        if local_livekit.port_open(port):
            pytest.fail("port %d is taken: set RTCSTACK_TEST_PORT to a free range" % port)
    workdir = str(tmp_path)
    config = os.path.join(workdir, "metrics.yaml")
    with open(config, "w") as f:
        f.write("\n".join([
            "port: %d" % METRICS_PORT, "bind_addresses: [127.0.0.1]", "rtc:", "  tcp_port: %d" % (METRICS_PORT + 1),
            "  udp_port: %d" % (METRICS_PORT + 2), "  node_ip: 127.0.0.1", "  use_external_ip: false",
            "key_file: %s" % livekit["key_file"], "prometheus:", "  port: %d" % (METRICS_PORT + 3),
            "logging:", "  level: warn", ""]))
    with open(os.path.join(workdir, "metrics.log"), "ab") as log:
        proc = subprocess.Popen([local_livekit.server_binary(), "--config", config], stdout=log,
                                stderr=subprocess.STDOUT, cwd=workdir, env=local_livekit.clean_env())
    url = "http://127.0.0.1:%d" % METRICS_PORT
    try:
        deadline = time.monotonic() + 30
        while not local_livekit.http_ok(url + "/"):
            assert proc.poll() is None and time.monotonic() < deadline, "the metrics server did not start"
            time.sleep(0.2)
        metrics = "http://127.0.0.1:%d/metrics" % (METRICS_PORT + 3)
        dead = "http://127.0.0.1:1/metrics"
        out = load_test({"mode": "smoke", "url": url, "duration": 6, "metrics_urls": [metrics, dead],
                         "metrics_interval": 2, "room_prefix": "e2e-lt-metrics"}, livekit)
        assert not out.get("failed"), out.get("msg")
        samples = out["result"]["server_samples"]
        good = [s for s in samples if s["url"] == metrics]
        bad = [s for s in samples if s["url"] == dead]
        assert len(good) >= 3 and len(bad) == len(good)
        assert all(set(s) >= SAMPLE_KEYS for s in samples)
        assert all(s["cpu_seconds"] > 0 and s["memory_bytes"] > 0 and s["rooms"] is not None for s in good)
        assert max(s["participants"] for s in good) == 2
        assert good[-1]["packets_in"] > 0 and good[-1]["bytes_out"] > 0
        assert good[-1]["cpu_seconds"] >= good[0]["cpu_seconds"]
        assert all(s["participants"] is None and "error" in s for s in bad)
        assert [e for e in out["result"]["errors"] if e.startswith("metrics %s" % dead)]
    finally:
        for sig in (15, 15, 9):  # livekit-server drains on the first SIGTERM and exits on the second
            if proc.poll() is not None:
                break
            proc.send_signal(sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                continue


def test_more_publishers_than_participants_fails_with_one_message(livekit):
    out = load_test({"preset": "initial", "participants": 4, "publishers": 5}, livekit)
    assert out.get("failed") and "result" not in out
    assert out["msg"] == "invalid load plan: publishers (5) cannot be more than participants (4)"


def test_wrong_secret_fails_fast_and_writes_the_result(livekit, tmp_path):
    wrong = "wrong-secret-%s" % ("y" * 32)
    result_path = str(tmp_path / "result.json")
    started = time.monotonic()
    out = load_test({"mode": "smoke", "result_path": result_path}, livekit,
                    extra_env={"LIVEKIT_API_SECRET": wrong}, secrets=[wrong])
    assert time.monotonic() - started < 30
    assert out.get("failed")
    assert "unauthenticated" in out["msg"] and "check api_key and api_secret" in out["msg"]
    assert "\n" not in out["msg"]
    with open(result_path) as f:
        written = json.load(f)
    assert written["complete"] is False and written["participants"]["connected"] == 0
    assert written["errors"] == [out["msg"]]
    assert written["generator"] is None  # the engine never started
    check_files(livekit, result_path)
    with open(result_path) as f:
        assert wrong not in f.read()


def test_lk_engine_without_lk_fails_with_one_message(livekit, tmp_path):
    result_path = str(tmp_path / "result.json")
    out = load_test({"mode": "smoke", "engine": "lk", "lk_path": str(tmp_path / "no-such-lk"),
                     "result_path": result_path, "room_prefix": "e2e-lt-nolk"}, livekit)
    assert out.get("failed")
    assert out["msg"].startswith("the lk engine failed: lk (the LiveKit CLI) not found")
    with open(result_path) as f:
        written = json.load(f)
    assert written["engine"] == "lk" and written["complete"] is False and written["errors"]
    check_files(livekit, result_path)


def test_unreachable_url_fails_fast(livekit):
    started = time.monotonic()
    out = load_test({"mode": "smoke", "url": "http://127.0.0.1:1", "retries": 1}, livekit)
    assert time.monotonic() - started < 30
    assert out.get("failed")
    assert out["msg"].startswith("cannot reach LiveKit at http://127.0.0.1:1")
    assert "\n" not in out["msg"]


def test_verify_playbook_smoke_checks_the_server(livekit):
    """playbooks/verify.yml on localhost (no livekit_loadgen group), connection from LIVEKIT_*."""
    env = adhoc.ansible_env(livekit)
    proc = subprocess.run([os.path.join(adhoc.BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", "verify.yml")],
                          env=env, capture_output=True, text=True, timeout=180, check=False)
    output = proc.stdout + proc.stderr
    assert_no_secrets(output, livekit.secrets, "the output of verify.yml")
    assert "eyJ" not in output
    assert proc.returncode == 0, output[-3000:]
    assert "2/2 joined" in output and "2/2 tracks subscribed" in output
