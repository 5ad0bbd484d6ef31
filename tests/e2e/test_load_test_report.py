"""load_test_report run through ``ansible`` (no server needed): check mode -> run -> rerun unchanged ->
an impossible gate fails with one line per failed gate, and the files are still written.

The inputs are result files of two generators: one ``webrtc`` result built here, and one ``lk`` result
parsed from tests/unit/fixtures/lk/run_failures.txt (SHAPED FROM lk's SOURCE, NOT CAPTURED FROM A RUN;
see the README there).
"""

import json
import os
import stat
from html.parser import HTMLParser

import adhoc
from conftest import assert_no_secrets

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.lk import parse_lk_output

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T0 = 1795000000.0
SECRET = "e2e-report-secret-4b8f1e0c2a9d7766"


def webrtc_result():
    timeline = [dict(t=T0 + 10 * i, connected=20, bitrate_kbps=4000.0 + 50 * i, packets_received=3000 * i,
                     packets_lost=i // 3) for i in range(7)]
    server = [dict(t=T0 + 10 * i, url="ws://127.0.0.1:7880", participants=20.0, rooms=1.0, cpu_seconds=50.0 + 4.5 * i,
                   memory_bytes=3.0e8, packets_in=None, packets_out=None, bytes_in=None, bytes_out=None) for i in range(7)]
    return {
        "schema": 1, "host": "gen1", "engine": "webrtc",
        "plan": dict(rooms=["loadtest-0"], participants=20, publishers=2, video_publishers=1, audio_publishers=1,
                     subscribers=18, resolution="640x360", codec="vp8", simulcast=True, join_rate=5.0, duration=60.0),
        "start_at": T0, "started_at": T0 + 0.04, "skew_s": 0.04, "ended_at": T0 + 60.04,
        "participants": {"planned": 20, "connected": 20, "failed": 0},
        "join_ms": [float(200 + 3 * i) for i in range(20)],
        "subscribe_ms": [float(30 + (i * 7) % 90) for i in range(54)],
        "subscribe_from": "published_or_joined",
        "tracks": {"published": 3, "expected_subscriptions": 54, "subscribed": 54},
        "bytes_received": 31000000, "packets_received": 18000, "packets_lost": 2, "jitter_ms": [2.5, 3.1],
        "timeline": timeline, "server_samples": server, "errors": [], "complete": True,
        "api_secret": SECRET,  # not part of the contract: must not reach the report or the output
    }


def lk_result():
    with open(os.path.join(ROOT, "unit", "fixtures", "lk", "run_failures.txt"), encoding="utf-8") as f:
        text = f.read()
    plan = dict(rooms=["loadtest-1"], participants=15, publishers=3, video_publishers=3, audio_publishers=0,
                subscribers=12, resolution="640x360", codec="h264", simulcast=True, join_rate=5.0, duration=60.0)
    return parse_lk_output(text, plan=plan, host="gen2", start_at=T0, started_at=T0 - 0.02, ended_at=T0 + 61.0)


def write(path, data):
    with open(path, "w") as f:
        json.dump(data, f)
    return str(path)


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_report_module(tmp_path):
    files = [write(tmp_path / "gen1.json", webrtc_result()), write(tmp_path / "gen2.json", lk_result())]
    out = tmp_path / "reports"
    args = dict(result_files=files, output_dir=str(out), name="medium",
                gates=dict(max_loss_pct=1.0, max_failed_joins=5))
    json_path, html_path = out / "medium.json", out / "medium.html"

    checked = adhoc.run_module("load_test_report", args, check=True)
    assert not checked.get("failed"), checked["_output"]
    assert checked["changed"] is True
    assert not out.exists()
    assert checked["summary"]["participants"] == {"planned": 35, "connected": 32, "failed": 3}

    ran = adhoc.run_module("load_test_report", args)
    assert not ran.get("failed"), ran["_output"]
    assert ran["changed"] is True
    assert ran["json_path"] == str(json_path) and ran["html_path"] == str(html_path)
    for path in (json_path, html_path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    report = json.loads(json_path.read_text())
    assert report["summary"] == ran["summary"]
    assert [g["passed"] for g in report["gates"]] == [True, True]
    assert report["summary"]["hosts"] == ["gen1", "gen2"]
    # 18000 + 247625 received, 2 + 196 lost
    assert report["summary"]["loss_pct"] == round(100.0 * 198 / (18000 + 247625 + 198), 4)
    tags = Tags()
    tags.feed(html_path.read_text())
    assert tags.tags.count("svg") == 4 and "script" not in tags.tags
    before = [(p.read_bytes(), os.stat(p).st_mtime_ns) for p in (json_path, html_path)]

    again = adhoc.run_module("load_test_report", args)
    assert not again.get("failed"), again["_output"]
    assert again["changed"] is False
    assert [(p.read_bytes(), os.stat(p).st_mtime_ns) for p in (json_path, html_path)] == before

    impossible = dict(args, name="medium-gated", gates=dict(min_bitrate_kbps=1e9, max_loss_pct=0.0, max_failed_joins=5))
    failed = adhoc.run_module("load_test_report", impossible)
    assert failed.get("failed") is True
    lines = failed["msg"].splitlines()
    assert lines[0] == "2 load test gate(s) failed:"
    assert lines[1].startswith("gate max_loss_pct: packet loss 0.074") and "exceeds the limit 0%" in lines[1]
    assert lines[2].startswith("gate min_bitrate_kbps: total received bitrate") and "below the minimum" in lines[2]
    assert "Traceback" not in failed["_output"]
    assert os.path.exists(failed["json_path"]) and os.path.exists(failed["html_path"])
    gated = json.loads((out / "medium-gated.json").read_text())
    assert [g["passed"] for g in gated["gates"]] == [True, False, False]  # sorted by gate name

    for result in (checked, ran, again, failed):
        assert_no_secrets(result["_output"], [SECRET], "load_test_report output")
    for path in out.iterdir():
        assert_no_secrets(path.read_text(), [SECRET, "api_secret"], str(path))


def test_report_module_bad_input(tmp_path):
    bad = write(tmp_path / "bad.json", {"schema": 7, "host": "x"})
    result = adhoc.run_module("load_test_report", dict(result_files=[bad], output_dir=str(tmp_path / "r")))
    assert result.get("failed") is True
    assert result["msg"] == "results[0] is not a load test result of schema 1 (schema: 7)"
    assert "Traceback" not in result["_output"]
    assert not (tmp_path / "r").exists()
