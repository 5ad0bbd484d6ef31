"""The go engine's Python side (_loadtest/engines/go.py): the result built from the program's output,
the job it is given, the checks before the start, and the subprocess handling.

run_go() is tested here with a stand-in executable (NOT rtcstack-loadgen: a Python script that reads
the job and prints lines in the program's format); tests/e2e/test_load_test_go.py runs the real
program against a real livekit-server.
"""

import json
import os
import stat
import sys
import time

import pytest

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines import ENGINES
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.base import EngineError, Job
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.go import (
    FDS_PER_PARTICIPANT,
    fd_problem,
    go_result,
    hard_deadline,
    job_input,
    run_go,
    timeline_point,
    ws_url,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import build_plan, split

SECRET = "go-unit-secret-5a4b3c2d1e0f99887766"


def plan_slice(**overrides):
    fields = dict(rooms=1, participants=3, publishers=1, video_publishers=1, audio_publishers=0, duration=5)
    fields.update(overrides)
    return split(build_plan("initial", **fields), 1, prefix="gt")[0]


def raw_result(start=1000.0):
    """A result line as the program prints it: 1 video publisher, 2 subscribers, one of which failed."""
    return {
        "type": "result", "started_at": start + 0.004, "ended_at": start + 9.5, "complete": True,
        "members": [
            {"identity": "lt-gt-0-0-0", "room": "gt-0", "kind": "video", "connect_start": start + 0.01,
             "connected_at": start + 0.05, "failed": False, "tracks_published": 2, "bytes_sent": 5000},
            {"identity": "lt-gt-0-0-1", "room": "gt-0", "kind": "subscriber", "connect_start": start + 0.2,
             "connected_at": start + 0.22, "failed": False, "tracks_published": 0, "bytes_sent": 0},
            {"identity": "lt-gt-0-0-2", "room": "gt-0", "kind": "subscriber", "connect_start": start + 0.4,
             "connected_at": 0, "failed": True, "tracks_published": 0, "bytes_sent": 0},
        ],
        "subscriptions": [
            {"subscriber": "lt-gt-0-0-1", "track": "TR_a", "kind": "audio", "from": "published", "start": start + 0.3,
             "subscribed_at": start + 0.45, "first_packet_at": start + 0.45, "packets": 400, "bytes": 30000,
             "lost": 0, "jitter_ms": 0.4},
            {"subscriber": "lt-gt-0-0-1", "track": "TR_v", "kind": "video", "from": "published", "start": start + 0.3,
             "subscribed_at": start + 0.5, "first_packet_at": start + 0.52, "packets": 900, "bytes": 600000,
             "lost": 2, "jitter_ms": 1.5},
        ],
        "errors": ["lt-gt-0-0-2: join failed: timed out"],
        "process": {"cpu_seconds": 1.25, "max_rss_bytes": 41943040},
    }


def test_the_engine_is_registered():
    assert list(ENGINES) == ["webrtc", "lk", "go"]
    assert ENGINES["go"].name == "go"


def test_result_from_the_program_output():
    s = plan_slice()
    r = go_result(raw_result(), s, "gen1", 1000.0, [{"t": 1002.0}], ["before"])
    assert (r["schema"], r["engine"], r["host"], r["complete"]) == (1, "go", "gen1", True)
    assert r["skew_s"] == 0.004 and r["started_at"] == 1000.004
    assert r["participants"] == {"planned": 3, "connected": 2, "failed": 1}
    assert r["join_ms"] == [40.0, 20.0]
    # published -> first RTP packet at the subscriber
    assert r["subscribe_ms"] == [150.0, 220.0] and r["track_subscribed_ms"] == [150.0, 200.0]
    assert r["tracks"] == {"published": 2, "expected_subscriptions": s["expected_subscriptions"], "subscribed": 2}
    assert (r["bytes_received"], r["packets_received"], r["packets_lost"]) == (630000, 1300, 2)
    assert r["bytes_received_by_kind"] == {"audio": 30000, "video": 600000}
    assert r["jitter_ms"] == [0.4, 1.5] and r["bytes_sent"] == 5000 and r["video_codecs_sent"] == ["vp8"]
    assert r["errors"] == ["before", "lt-gt-0-0-2: join failed: timed out"]
    assert r["engine_process"] == {"cpu_seconds": 1.25, "max_rss_bytes": 41943040}
    assert r["not_measured"] == [] and any(d.startswith("subscribe_ms") for d in r["derived"])
    assert r["timeline"] == [{"t": 1002.0}] and r["server_samples"] == []
    assert r["loss_by_track"] == {"TR_a": {"subscriptions": 1, "lost_min": 0, "lost": 0},
                                  "TR_v": {"subscriptions": 1, "lost_min": 2, "lost": 2}}


def test_a_result_without_a_start_is_incomplete_and_errors_are_capped():
    raw = dict(raw_result(), started_at=0, errors=["e%d" % i for i in range(150)])
    r = go_result(raw, plan_slice(), "gen1", 1000.0, [])
    assert r["complete"] is False and r["started_at"] is None and r["skew_s"] is None
    assert len(r["errors"]) == 101 and r["errors"][-1] == "... and 50 more errors"


def test_timeline_point_rates_bytes_since_the_last_point():
    sample = {"t": 12.0, "connected": 3, "failed": 0, "bytes_received": 250000, "packets_received": 300, "packets_lost": 1}
    assert timeline_point(sample, (10.0, 0)) == {"t": 12.0, "connected": 3, "bitrate_kbps": 1000.0,
                                                 "packets_received": 300, "packets_lost": 1}
    assert timeline_point(sample, None)["bitrate_kbps"] == 0.0
    assert timeline_point(sample, (12.0, 0))["bitrate_kbps"] == 0.0


def test_job_input_has_the_plan_and_no_secret():
    s = plan_slice(resolution="1280x720", codec="h264", simulcast=False, join_rate=4)
    job = Job("https://sfu.example.com/", "APIkey123", SECRET, s, 1000.0, "gen1", progress_interval=2)
    deadline = hard_deadline(s, 1000.0)
    assert deadline == 1000.0 + 3 / 4.0 + 30 + 5 + 60
    data = job_input(job, deadline)
    assert SECRET not in json.dumps(data)
    assert data["url"] == "wss://sfu.example.com" and data["api_key"] == "APIkey123"
    assert (data["height"], data["codec"], data["simulcast"], data["join_rate"]) == (720, "h264", False, 4.0)
    assert data["members"] == s["members"] and data["deadline"] == deadline - 15.0
    assert ws_url("http://127.0.0.1:7880") == "ws://127.0.0.1:7880" and ws_url("wss://a") == "wss://a"


def test_open_file_limit_is_checked_before_the_start():
    assert fd_problem(10, limit=10 * FDS_PER_PARTICIPANT + 64) is None
    msg = fd_problem(1000, limit=1024)
    assert msg.startswith("1000 participants need about %d open files" % (1000 * FDS_PER_PARTICIPANT + 64))
    assert "is 1024" in msg


def test_missing_binary_is_one_sentence(tmp_path):
    engine = ENGINES["go"]
    msg = engine.missing("gen1", {"loadgen_path": str(tmp_path / "nope")})
    assert msg.startswith("engine=go needs the rtcstack-loadgen binary") and "on gen1" in msg
    binary = stand_in(tmp_path, "result")
    assert engine.missing("gen1", {"loadgen_path": binary}, plan_slice()) is None


STAND_IN = r"""#!%(python)s
import json, os, sys, time
job = json.load(sys.stdin)
with open(%(record)r, "w") as f:
    json.dump({"argv": sys.argv, "job": job, "secret": os.environ.get("LIVEKIT_API_SECRET")}, f)
mode = %(mode)r
if mode == "fatal":
    print(json.dumps({"type": "fatal", "error": "codec av1: the go engine sends vp8 or h264"}))
    sys.exit(2)
if mode == "crash":
    sys.stderr.write("panic: something " + os.environ["LIVEKIT_API_SECRET"] + "\n")
    sys.exit(2)
start = time.time()
print(json.dumps({"type": "started", "t": start}), flush=True)
print(json.dumps({"type": "sample", "t": start + 1, "connected": 2, "failed": 1, "bytes_received": 125000,
                  "packets_received": 100, "packets_lost": 0}), flush=True)
print("not json from the SDK")
print(%(result)r)
"""


def stand_in(tmp_path, mode):
    path = tmp_path / "loadgen-stand-in"
    path.write_text(STAND_IN % dict(python=sys.executable, record=str(tmp_path / "call.json"), mode=mode,
                                    result=json.dumps(raw_result(time.time()))))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_run_go_passes_the_secret_in_the_environment_and_writes_progress(tmp_path):
    binary = stand_in(tmp_path, "result")
    progress = str(tmp_path / "progress.json")
    s = plan_slice()
    job = Job("ws://127.0.0.1:7880", "APIkey123", SECRET, s, time.time(), "gen1", progress_path=progress)
    r = run_go(job, binary)
    call = json.loads((tmp_path / "call.json").read_text())
    assert call["secret"] == SECRET and SECRET not in json.dumps(call["job"]) and call["argv"] == [binary]
    assert r["engine"] == "go" and r["participants"]["connected"] == 2
    assert len(r["timeline"]) == 1 and r["timeline"][0]["bitrate_kbps"] == 1000.0
    assert stat.S_IMODE(os.stat(progress).st_mode) == 0o600
    with open(progress) as f:
        written = json.load(f)
    assert written["phase"] == "done" and written["host"] == "gen1" and written["planned"] == 3
    assert SECRET not in json.dumps(r)


def test_run_go_fatal_and_crash_raise_one_message_without_the_secret(tmp_path):
    job = Job("ws://x", "k", SECRET, plan_slice(), time.time(), "gen1")
    with pytest.raises(EngineError, match=r"^rtcstack-loadgen: codec av1: the go engine sends vp8 or h264$"):
        run_go(job, stand_in(tmp_path, "fatal"))
    with pytest.raises(EngineError) as crashed:
        run_go(job, stand_in(tmp_path, "crash"))
    assert str(crashed.value).startswith("rtcstack-loadgen: it exited with status 2 without a result; stderr: panic")
    assert SECRET not in str(crashed.value)


def test_codecs_without_clips_are_refused_before_the_start(tmp_path):
    job = Job("ws://x", "k", SECRET, plan_slice(codec="av1"), time.time(), "gen1")
    with pytest.raises(EngineError, match="sends vp8 or h264"):
        run_go(job, stand_in(tmp_path, "result"))
    assert not (tmp_path / "call.json").exists()
