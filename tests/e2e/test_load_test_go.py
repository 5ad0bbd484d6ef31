"""The load_test module with engine=go (rtcstack-loadgen, built by scripts/build-loadgen.sh) against the
real livekit-server of the session: check mode, a run with simulcast VP8, a run with H.264 without
simulcast, a run whose report is invalid because its host was busier than the report's limit, and a
missing binary. Small and short (<= 6 participants, a few seconds each).
"""

import json
import os
import subprocess
import time

import adhoc
import pytest
from conftest import ROOT
from test_load_test_module import RESULT_KEYS, check_files, load_test, rooms_on

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def loadgen():
    """The binary (a second run of the build script only checks; bootstrap.sh builds it)."""
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build-loadgen.sh")], capture_output=True, text=True,
                         timeout=900, check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_check_mode_plans_and_joins_nobody(livekit, loadgen):
    prefix = "e2e-go-check-%d" % os.getpid()
    out = load_test({"engine": "go", "loadgen_path": loadgen, "preset": "initial", "participants": 5, "publishers": 2,
                     "rooms": 1, "room_prefix": prefix}, livekit, check=True)
    assert not out.get("failed"), out.get("msg")
    assert out["plan"]["participants"] == 5 and len(out["members"]) == 5
    assert rooms_on(livekit, ["%s-0" % prefix]) == {}


def run_go(livekit, loadgen, tmp_path, name, **plan):
    prefix = "e2e-go-%s-%d" % (name, os.getpid())
    result_path, progress_path = str(tmp_path / ("%s.json" % name)), str(tmp_path / ("%s-progress.json" % name))
    start_at = time.time() + 3
    args = dict(engine="go", loadgen_path=loadgen, preset="initial", rooms=1, room_prefix=prefix, start_at=start_at,
                join_rate=10, duration=5, progress_interval=2, result_path=result_path, progress_path=progress_path,
                host_name="gen-go")
    args.update(plan)
    out = load_test(args, livekit)
    assert not out.get("failed"), out.get("msg")
    r = out["result"]
    assert set(r) >= RESULT_KEYS
    assert (r["engine"], r["host"], r["complete"], r["errors"]) == ("go", "gen-go", True, [])
    assert r["start_at"] == pytest.approx(start_at, abs=0.01) and 0 <= r["skew_s"] < 1.0
    with open(result_path) as f:
        assert json.load(f) == r
    with open(progress_path) as f:
        assert json.load(f)["phase"] == "done"
    check_files(livekit, result_path, progress_path)
    return r


def check_media(r, subscribers, seconds):
    """Real packets on every subscription, none lost on loopback, and no more received than was sent."""
    p = r["participants"]
    assert p == {"planned": p["planned"], "connected": p["planned"], "failed": 0}
    assert r["tracks"]["subscribed"] == r["tracks"]["expected_subscriptions"] > 0
    assert len(r["subscribe_ms"]) == r["tracks"]["subscribed"]  # a first packet on every subscription
    assert all(0 < v < 5000 for v in r["subscribe_ms"])
    assert r["packets_lost"] == 0
    # one entry per published track (its SID), its subscriptions adding up to every subscription
    by_track = r["loss_by_track"]
    assert len(by_track) == r["tracks"]["published"] and all(t.startswith("TR_") for t in by_track)
    assert sum(t["subscriptions"] for t in by_track.values()) == r["tracks"]["subscribed"]
    assert all(t["lost_min"] == t["lost"] == 0 for t in by_track.values())
    kinds = r["bytes_received_by_kind"]
    assert kinds["audio"] > 0 and kinds["video"] > 0
    # audio: 50 packets/s per subscription; each subscriber saw most of the steady state
    audio_subscriptions = r["tracks"]["expected_subscriptions"] - subscribers
    assert r["packets_received"] > audio_subscriptions * 50 * seconds * 0.8
    # every received byte was sent once by a publisher of this run: received <= subscribers x sent
    assert 0 < r["bytes_received"] <= subscribers * r["bytes_sent"]
    assert r["timeline"] and r["timeline"][-1]["packets_received"] <= r["packets_received"]
    g, e = r["generator"], r["engine_process"]
    assert 0 < e["cpu_seconds"] <= g["cpu_seconds"] + 0.05  # the program is a child of the module
    assert 10 * 2**20 < e["max_rss_bytes"] < 1024 * 2**20


def test_run_with_simulcast_vp8(livekit, loadgen, tmp_path):
    # 1 video + 1 audio publisher, 4 subscribers: 4 x 3 subscriptions
    r = run_go(livekit, loadgen, tmp_path, "vp8", participants=6, publishers=2, video_publishers=1, audio_publishers=1,
               codec="vp8", simulcast=True, resolution="640x360")
    assert r["tracks"] == {"published": 3, "expected_subscriptions": 12, "subscribed": 12}
    assert r["video_codecs_sent"] == ["vp8"]
    check_media(r, 4, 5)


def test_run_with_h264_without_simulcast(livekit, loadgen, tmp_path):
    r = run_go(livekit, loadgen, tmp_path, "h264", participants=3, publishers=1, video_publishers=1, audio_publishers=0,
               codec="h264", simulcast=False, resolution="320x180", duration=4)
    assert r["tracks"] == {"published": 2, "expected_subscriptions": 4, "subscribed": 4}
    assert r["video_codecs_sent"] == ["h264"]
    check_media(r, 2, 4)


def test_report_of_a_saturated_generator_host_is_invalid(livekit, loadgen, tmp_path):
    """A real run measures its host's CPU; a report limit the run must exceed makes it invalid, with one message."""
    r = run_go(livekit, loadgen, tmp_path, "busy", participants=3, publishers=1, video_publishers=0, audio_publishers=1,
               duration=3)
    g = r["generator"]
    assert g["host_cores"] == os.cpu_count() and 0.01 < g["host_busy_pct"] <= 100
    args = dict(result_files=[str(tmp_path / "busy.json")], output_dir=str(tmp_path / "report"), name="busy",
                gates=dict(max_loss_pct=0, max_failed_joins=0), max_generator_host_busy_pct=0.01)
    out = adhoc.run_module("load_test_report", args)
    assert out.get("failed") is True and out["verdict"] == "invalid"
    assert out["msg"] == ("invalid: generator saturated: gen-go was %s %% busy (%d cores) over the run, above the limit "
                          "0.01 %%; the SFU gates (0 of 2 failed) do not decide this run"
                          % (("%.3f" % g["host_busy_pct"]).rstrip("0").rstrip("."), g["host_cores"]))
    assert [x["passed"] for x in out["gates"]] == [True, True]  # still computed and shown
    report = json.loads((tmp_path / "report" / "busy.json").read_text())
    assert report["summary"]["verdict"]["saturation"]["saturated"] == [
        dict(host="gen-go", host_busy_pct=g["host_busy_pct"], host_cores=g["host_cores"])]
    assert 'id="verdict">invalid: generator saturated</span>' in (tmp_path / "report" / "busy.html").read_text()
    # the default limit (90 %): the gates decide (this tiny run does not saturate the machine unless it is busy)
    default = dict((k, v) for k, v in args.items() if k != "max_generator_host_busy_pct")
    ok = adhoc.run_module("load_test_report", dict(default, name="busy-default"))
    assert ok["verdict"] == ("invalid" if g["host_busy_pct"] > 90 else "pass"), ok.get("msg")


def test_missing_binary_fails_before_any_call(livekit, tmp_path):
    started = time.monotonic()
    out = load_test({"engine": "go", "loadgen_path": str(tmp_path / "no-loadgen"), "mode": "smoke",
                     "room_prefix": "e2e-go-missing"}, livekit)
    assert time.monotonic() - started < 30
    assert out.get("failed") and out["msg"].startswith("engine=go needs the rtcstack-loadgen binary")
    assert rooms_on(livekit, ["e2e-go-missing-0"]) == {}
