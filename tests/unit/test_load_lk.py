"""The lk engine adapter: command line, secret handling, and the parser of lk load-test's tables.

The fixtures in tests/unit/fixtures/lk/ are SHAPED FROM lk's SOURCE, NOT CAPTURED FROM A RUN (lk cannot
be built or downloaded here). They follow the format strings of livekit/livekit-cli
pkg/loadtester/loadtest.go (LoadTest.Run) at 37fd01fc0619d3d9b8e2d952b305d47ca3680936,
pkg/loadtester/stats.go + util.go at 93b8a8c5931bc1ed9e4f0fe0e44590760de0db5d and pkg/util/table.go
at 57d02cfd339488d476404a3ce85e581ab7688533; flags from cmd/lk/perf.go at
1aa4e186120d73e5fc5a13eeb382d5ad92ffea62. See the README in that folder.

The expected numbers below were added up by hand from the fixture rows.

run_lk is exercised with a stand-in executable written by the test (clearly not lk: a Python script
that records its argv and environment and prints a fixture), to check the subprocess handling.
"""

import json
import os
import stat
import sys
import time

import pytest

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.lk import (
    LkError,
    lk_argv,
    lk_env,
    parse_lk_output,
    parse_tables,
    run_lk,
    split_plan,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "lk")
SECRET = "lk-unit-secret-9f8e7d6c5b4a39281706"


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return f.read()


def plan(**kw):
    # plan.py counts: video publishers send camera + microphone, audio publishers a microphone only
    p = dict(rooms=["rt-load-a"], participants=6, publishers=2, video_publishers=2, audio_publishers=0,
             subscribers=4, resolution="1280x720", codec="h264", simulcast=True, join_rate=5.0, duration=30.0)
    p.update(kw)
    return p


# ---- command line --------------------------------------------------------------------------------


def test_argv_flags_and_no_secret():
    argv = lk_argv(plan(), "wss://sfu.example.com", "APIkey123", room="rt-load-a", identity_prefix="gen1")
    assert argv[:2] == ["lk", "load-test"]
    flags = dict(zip(argv[2::2], argv[3::2]))
    assert flags["--url"] == "wss://sfu.example.com"
    assert flags["--api-key"] == "APIkey123"
    assert flags["--room"] == "rt-load-a"
    assert flags["--identity-prefix"] == "gen1"
    assert flags["--duration"] == "30s"
    assert flags["--video-publishers"] == "2"
    assert flags["--audio-publishers"] == "2"  # the 2 video publishers also publish audio
    assert flags["--subscribers"] == "4"
    assert flags["--video-resolution"] == "high"
    assert flags["--video-codec"] == "h264"
    assert flags["--num-per-second"] == "5"
    assert "--no-simulcast" not in argv
    assert "--api-secret" not in argv
    assert not any(SECRET in a for a in argv)


@pytest.mark.parametrize("resolution, expected", [
    ("1280x720", "high"), ("1920x1080", "high"), ("640x360", "medium"), ("960x540", "high"), ("320x240", "low"),
    ("320x180", "low"), ("medium", "medium"),
])
def test_argv_resolution(resolution, expected):
    argv = lk_argv(plan(resolution=resolution), "ws://x", "k")
    assert argv[argv.index("--video-resolution") + 1] == expected


def test_argv_audio_only_publishers():
    argv = lk_argv(plan(video_publishers=3, audio_publishers=2, subscribers=10), "ws://x", "k")
    assert argv[argv.index("--video-publishers") + 1] == "3"
    assert argv[argv.index("--audio-publishers") + 1] == "5"  # lk: testers 0-2 publish both, 3-4 audio only


def test_argv_options():
    argv = lk_argv(plan(simulcast=False, codec="auto", join_rate=25, duration=90.5), "ws://x", "k")
    assert "--no-simulcast" in argv
    assert "--video-codec" not in argv
    assert argv[argv.index("--num-per-second") + 1] == "10"  # lk caps it at 10
    assert argv[argv.index("--duration") + 1] == "90500ms"


@pytest.mark.parametrize("bad, message", [
    (dict(resolution="4k"), "high, medium or low"),
    (dict(codec="vp9"), "h264 or vp8"),
    (dict(codec="av1"), "h264 or vp8"),
    (dict(duration=0), "runs until it is stopped"),
    (dict(video_publishers=0, audio_publishers=0, subscribers=0), "no publishers and no subscribers"),
    (dict(subscribers=-1), "whole number"),
])
def test_argv_refuses(bad, message):
    with pytest.raises(LkError, match=message):
        lk_argv(plan(**bad), "ws://x", "k")


def test_env_carries_secret_only_there():
    env = lk_env(SECRET, base={"PATH": "/bin", "LIVEKIT_URL": "ws://other", "LIVEKIT_API_KEY": "other"})
    assert env["LIVEKIT_API_SECRET"] == SECRET
    assert "LIVEKIT_URL" not in env and "LIVEKIT_API_KEY" not in env
    assert env["PATH"] == "/bin"
    with pytest.raises(LkError):
        lk_env("")


def test_split_plan_over_rooms():
    parts = split_plan(plan(rooms=["a", "b", "c"], video_publishers=5, audio_publishers=10, subscribers=100))
    assert [part[0] for part in parts] == ["a", "b", "c"]
    assert [part[1]["video_publishers"] for part in parts] == [2, 2, 1]
    assert [part[1]["audio_publishers"] for part in parts] == [4, 3, 3]
    assert [part[1]["subscribers"] for part in parts] == [34, 33, 33]
    assert sum(part[1]["participants"] for part in parts) == 115
    assert split_plan(plan(rooms=1)) == [(None, plan(rooms=1))]


# ---- parser --------------------------------------------------------------------------------------


def test_parse_ok_run():
    r = parse_lk_output(fixture("run_ok.txt"), plan=plan(), host="gen1", start_at=1000.0, started_at=1000.5,
                        ended_at=1032.5)
    assert r["schema"] == 1 and r["engine"] == "lk" and r["host"] == "gen1"
    assert r["participants"] == {"planned": 6, "connected": 6, "failed": 0}
    # audio 2 x (1585+1584+1583+1582) + video 2 x (4870+4883+4896+4909)
    assert r["packets_received"] == 12668 + 39116
    assert r["packets_lost"] == 3
    assert r["tracks"] == {"published": 4, "expected_subscriptions": 16, "subscribed": 16}
    assert r["lk_bitrate_bps"] == 10.7e6
    assert r["bytes_received"] == int(round(10.7e6 * 32.0 / 8))
    assert r["skew_s"] == 0.5
    assert r["errors"] == []
    assert r["complete"] is True
    for key in ("join_ms", "subscribe_ms", "jitter_ms", "timeline", "server_samples"):
        assert r[key] == [] and key in r["not_measured"]


def test_parse_failures_run():
    p = plan(rooms=["rt-load-b"], video_publishers=3, audio_publishers=0, subscribers=12, duration=60.0)
    r = parse_lk_output(fixture("run_failures.txt"), plan=p, host="gen2")
    assert r["participants"] == {"planned": 15, "connected": 12, "failed": 3}
    assert r["tracks"]["expected_subscriptions"] == 72
    assert r["tracks"]["subscribed"] == 39
    # audio 2 x (3100 x 10 + 52), video 2 x (9800 x 10 - 7 x 52) - 9751 (Sub 7 lacks one video track)
    assert r["packets_received"] == 62104 + 185521
    assert r["packets_lost"] == 196
    assert r["bytes_received"] == int(round(25.3e6 * 60.0 / 8))
    assert sorted(e.split(":")[0] for e in r["errors"]) == ["Pub 1", "Sub 10", "Sub 4"]
    assert any("websocket: bad handshake" in e for e in r["errors"])


def test_parse_rows_in_detail():
    parsed = parse_tables(fixture("run_failures.txt"))
    names = [t["tester"] for t in parsed["testers"]]
    assert names[:4] == ["Sub 0", "Sub 1", "Sub 10", "Sub 11"]  # lk sorts names as strings
    sub10 = parsed["testers"][2]
    assert sub10["tracks"] == 0 and sub10["bitrate_bps"] is None and sub10["lost"] == 0
    sub9 = [t for t in parsed["testers"] if t["tester"] == "Sub 9"][0]
    assert sub9["lost"] == 94 and sub9["bitrate_bps"] == 2.7e6
    assert [t["kind"] for t in parsed["tracks"] if t["tester"] == "Sub 7"] == ["audio", "audio", "video"]
    assert set(parsed["not_connected"]) == {"Pub 1", "Sub 4", "Sub 10"}


def test_parse_publishers_only():
    r = parse_lk_output(fixture("run_publishers_only.txt"), plan=plan(subscribers=0))
    assert r["participants"] == {"planned": 2, "connected": 2, "failed": 0}
    assert r["packets_received"] == 0 and r["tracks"]["subscribed"] == 0


def test_parse_with_terminal_styles():
    # lipgloss v2 may emit SGR sequences even when stdout is a pipe (comment in cmd/lk/main.go)
    text = fixture("run_ok.txt").replace("│", "\x1b[38;5;252m│\x1b[0m").replace("Total", "\x1b[1;7mTotal\x1b[0m")
    assert parse_lk_output(text, plan=plan())["packets_lost"] == 3


@pytest.mark.parametrize("text, message", [
    ("", "printed nothing"),
    ("   \n\n", "printed nothing"),
    ("Error: could not connect: connection refused\n", "no 'Subscriber summaries'"),
])
def test_empty_or_no_tables(text, message):
    with pytest.raises(LkError, match=message):
        parse_lk_output(text, plan=plan())


def test_truncated_output():
    text = fixture("run_ok.txt")
    cut = text[:text.index("│ Sub 2  │ 4/4")]
    with pytest.raises(LkError, match="not closed"):
        parse_lk_output(cut, plan=plan())
    only_tracks = text[:text.index("Subscriber summaries:")]
    with pytest.raises(LkError, match="no 'Subscriber summaries'"):
        parse_lk_output(only_tracks, plan=plan())


def test_garbled_values():
    text = fixture("run_ok.txt")
    with pytest.raises(LkError, match="not a bitrate"):
        parse_lk_output(text.replace("2.7mbps  ", "2.7 Mb/s "), plan=plan())
    with pytest.raises(LkError, match="not a packet loss"):
        parse_lk_output(text.replace("3 (0.023%)", "3 percent "), plan=plan())
    # a Total that does not add up
    with pytest.raises(LkError, match="rows add up"):
        parse_lk_output(text.replace("3 (0.006%) ", "4 (0.008%) "), plan=plan())
    # another table layout
    with pytest.raises(LkError, match="unknown lk table"):
        parse_lk_output(text.replace("Total Pkt. Loss", "Total Pkt. Lost"), plan=plan())


# ---- run_lk with a stand-in executable -----------------------------------------------------------

STAND_IN = """#!%(python)s
# Stand-in for lk in unit tests (NOT lk): records argv and env, prints a fixture, maybe sleeps.
import json, os, signal, sys, time
with open(%(record)r, "a") as f:
    f.write(json.dumps({"argv": sys.argv, "secret": os.environ.get("LIVEKIT_API_SECRET")}) + "\\n")
stopped = []
signal.signal(signal.SIGINT, lambda *a: stopped.append(1))
end = time.time() + %(sleep)s
while time.time() < end and not stopped:
    time.sleep(0.05)
sys.stdout.write(open(%(fixture)r, encoding="utf-8").read())
sys.exit(%(rc)d)
"""


def stand_in(tmp_path, sleep=0, rc=0, name="run_ok.txt"):
    path = tmp_path / "lk-stand-in"
    record = tmp_path / "calls.jsonl"
    path.write_text(STAND_IN % dict(python=sys.executable, record=str(record), sleep=sleep, rc=rc,
                                    fixture=os.path.join(FIXTURES, name)))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path), record


def test_run_lk_waits_and_keeps_secret_in_env(tmp_path):
    lk, record = stand_in(tmp_path)
    start_at = time.time() + 1.0
    r = run_lk(None, plan(), "wss://sfu.example.com", "APIkey123", SECRET, start_at, 30.0, lk_path=lk,
               timeout=30, host="gen1")
    assert r["started_at"] >= start_at
    assert abs(r["skew_s"]) < 0.5
    assert r["packets_lost"] == 3 and r["complete"] is True
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(calls) == 1
    assert calls[0]["secret"] == SECRET
    assert SECRET not in " ".join(calls[0]["argv"])
    assert SECRET not in json.dumps(r)


def test_run_lk_deadline_stops_lk(tmp_path):
    lk = stand_in(tmp_path, sleep=60)[0]
    began = time.time()
    r = run_lk(None, plan(), "ws://x", "k", SECRET, time.time(), 30.0, lk_path=lk, timeout=1.5, host="gen1")
    assert time.time() - began < 20
    assert r["complete"] is False
    assert any("did not finish" in e for e in r["errors"])
    assert r["packets_lost"] == 3  # lk still printed its tables after SIGINT


def test_run_lk_reports_garbage_clearly(tmp_path):
    lk = stand_in(tmp_path, rc=1, name="README.md")[0]
    with pytest.raises(LkError, match=r"lk load-test \(exit 1\): .*Subscriber summaries"):
        run_lk(None, plan(), "ws://x", "k", SECRET, time.time(), 30.0, lk_path=lk, timeout=10)


def test_run_lk_missing_binary():
    with pytest.raises(LkError, match="not found"):
        run_lk(None, plan(), "ws://x", "k", SECRET, time.time(), 30.0, lk_path="no-such-lk-binary-here")


def test_run_lk_one_process_per_room(tmp_path):
    lk, record = stand_in(tmp_path)
    r = run_lk(None, plan(rooms=["r1", "r2"]), "ws://x", "k", SECRET, time.time(), 30.0, lk_path=lk, timeout=30,
               host="gen1")
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    rooms = sorted(c["argv"][c["argv"].index("--room") + 1] for c in calls)
    assert rooms == ["r1", "r2"]
    assert r["participants"]["planned"] == 6
    assert r["packets_lost"] == 6  # the stand-in prints the same table for both rooms
