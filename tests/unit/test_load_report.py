"""Aggregation, gates, comparison and the HTML report of load test results (_loadtest/report.py, report_html.py).

Inputs are three generators of one run: two ``webrtc`` engines and one ``lk`` engine whose result is
parsed from the lk fixture (shaped from lk's source, see tests/unit/fixtures/lk/README.md). Expected
percentiles and sums are worked out by hand in the comments.
"""

import copy
import json
import os
import re
from html.parser import HTMLParser

import pytest

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.lk import parse_lk_output
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.report import (
    ReportError,
    compare,
    gates,
    merge,
    percentile,
    redact,
    report_json,
    verdict,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.report_html import render_html

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "lk")
T0 = 1795000000.0
URL = "wss://sfu1.example.com"
LEAKY = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJnZW4xIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


MIB = 1048576


def webrtc(host, subscribe, received, lost, skew, cpu, extra_errors=(), usage=None):
    """A webrtc generator result: 120 s run, timeline every 10 s, SFU sampled every 10 s."""
    started = T0 + skew
    timeline, server = [], []
    for i in range(13):
        t = started + 10 * i
        timeline.append(dict(t=t, connected=50, bitrate_kbps=9000.0 + 100 * i,
                             packets_received=received * i // 12, packets_lost=lost * i // 12))
    for i, c in enumerate(cpu):
        server.append(dict(t=T0 + 10 * i, url=URL, participants=100.0 + i, rooms=2.0, cpu_seconds=c,
                           memory_bytes=1.0e9 + 1e7 * i, packets_in=None, packets_out=None, bytes_in=None, bytes_out=None))
    return {
        "schema": 1, "host": host, "engine": "webrtc",
        "plan": dict(rooms=["r1", "r2"], participants=50, publishers=5, video_publishers=3, audio_publishers=2,
                     subscribers=45, resolution="720p", codec="vp8", simulcast=True, join_rate=10.0, duration=120.0),
        "start_at": T0, "started_at": started, "skew_s": skew, "ended_at": started + 120.0,
        "participants": {"planned": 50, "connected": 50, "failed": 0},
        "join_ms": [float(v) for v in range(100, 150)], "subscribe_ms": subscribe,
        "subscribe_from": "published_or_joined",
        "tracks": {"published": 8, "expected_subscriptions": 360, "subscribed": 360},
        "bytes_received": 15000000 * 12, "packets_received": received, "packets_lost": lost,
        "jitter_ms": [3.0, 4.0, 5.0], "timeline": timeline, "server_samples": server,
        "generator": usage, "errors": list(extra_errors), "complete": True,
        "api_secret": "must-not-pass-through", "token": LEAKY,
    }


def lk_result():
    with open(os.path.join(FIXTURES, "run_ok.txt"), encoding="utf-8") as f:
        text = f.read()
    plan = dict(rooms=["rt-load-a"], participants=6, publishers=2, video_publishers=2, audio_publishers=0,
                subscribers=4, resolution="high", codec="h264", simulcast=True, join_rate=5.0, duration=120.0)
    return parse_lk_output(text, plan=plan, host="gen3", start_at=T0, started_at=T0 + 0.2, ended_at=T0 + 120.2)


SUB_A = [40.0, 35.0, 52.0, 61.0, 47.0, 90.0, 38.0, 44.0, 120.0, 55.0]
SUB_B = [30.0, 42.0, 36.0, 48.0, 200.0, 51.0, 39.0, 45.0, 66.0, 41.0]


def results():
    return [
        webrtc("gen1", SUB_A, 100000, 50, 0.05, [100.0, 115.0, 139.0],
               usage=dict(cpu_seconds=60.0, max_rss_bytes=200 * MIB, wall_seconds=120.0)),
        webrtc("gen2", SUB_B, 80000, 150, -0.12, [100.0, 115.0, 139.0],
               extra_errors=["Sub 7: join failed: token=%s" % LEAKY],
               usage=dict(cpu_seconds=90.0, max_rss_bytes=300 * MIB, wall_seconds=120.0, extra="dropped")),
        lk_result(),
    ]


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 50) == 5.0   # rank ceil(5.0) = 5
    assert percentile(values, 90) == 9.0   # rank ceil(9.0) = 9
    assert percentile(values, 99) == 10.0  # rank ceil(9.9) = 10
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_merge_multi_host():
    s = merge(results())
    assert s["hosts"] == ["gen1", "gen2", "gen3"]
    assert s["engines"] == ["lk", "webrtc"]
    # 20 subscribe times sorted: 30 35 36 38 39 40 41 42 44 45 | 47 48 51 52 55 61 66 90 120 200
    # p50 rank 10 -> 45; p90 rank 18 -> 90; p99 rank ceil(19.8) = 20 -> 200
    assert s["subscribe_ms"]["count"] == 20
    assert (s["subscribe_ms"]["p50"], s["subscribe_ms"]["p90"], s["subscribe_ms"]["p99"]) == (45.0, 90.0, 200.0)
    # join: 100..149 twice (100 values): p50 rank 50 -> 124, p90 rank 90 -> 144, p99 rank 99 -> 149
    assert (s["join_ms"]["p50"], s["join_ms"]["p90"], s["join_ms"]["p99"]) == (124.0, 144.0, 149.0)
    assert s["participants"] == {"planned": 106, "connected": 106, "failed": 0}
    # packets: 100000 + 80000 + 51784 (lk fixture) received; 50 + 150 + 3 lost
    assert s["packets_received"] == 231784 and s["packets_lost"] == 203
    assert s["loss_pct"] == round(100.0 * 203 / (231784 + 203), 4)
    # rooms: r1, r2 (shared by gen1 and gen2) + rt-load-a
    assert s["rooms"] == 3
    # webrtc: 180 MB in 120 s = 12000 kbps each; lk: 10.7 Mbit/s printed
    assert s["bitrate_kbps"]["per_generator"] == {"gen1": 12000.0, "gen2": 12000.0, "gen3": 10700.0}
    assert s["bitrate_kbps"]["total"] == 34700.0
    # started_at: T0+0.05, T0-0.12, T0+0.2 -> spread 0.32; max |skew| 0.2
    assert s["start_skew"] == {"started_at_spread_s": 0.32, "max_abs_skew_s": 0.2}
    # the same SFU sampled by two generators at the same times counts once; cores 15/10 and 24/10
    server = s["servers"][URL]
    assert server["samples"] == 3 and server["max_cpu_cores"] == 2.4
    assert server["max_participants"] == 102.0 and server["max_rooms"] == 2.0 and server["max_memory_bytes"] == 1.02e9
    assert s["errors"]["count"] == 1
    assert s["not_measured"]["subscribe_ms"] == ["gen3"]
    gen2 = [g for g in s["generators"] if g["host"] == "gen2"][0]
    assert gen2["subscribe_ms"]["p99"] == 200.0 and gen2["loss_pct"] == round(100.0 * 150 / 80150, 4)


def test_shared_loss_needs_every_generator_and_takes_the_least_loss_per_track():
    # webrtc and lk give no per-track loss: nothing to say
    assert merge(results())["loss_shared"] is None
    a = webrtc("gen1", SUB_A, 100000, 70, 0.0, [100.0, 115.0])
    b = webrtc("gen2", SUB_B, 80000, 42, 0.0, [100.0, 115.0])
    # track T1: 3 subscriptions on gen1 lost 10, 12, 10 and 2 on gen2 lost 10, 11 -> 10 each alike;
    # track T2: lost 0 somewhere -> nothing alike
    a["loss_by_track"] = {"T1": {"subscriptions": 3, "lost_min": 10, "lost": 32},
                          "T2": {"subscriptions": 3, "lost_min": 0, "lost": 38}}
    b["loss_by_track"] = {"T1": {"subscriptions": 2, "lost_min": 10, "lost": 21},
                          "T2": {"subscriptions": 1, "lost_min": 21, "lost": 21}}
    s = merge([a, b])
    assert s["packets_lost"] == 112
    assert s["loss_shared"] == {"packets": 50, "pct_of_lost": 44.6, "tracks": 1}
    failed = [g for g in gates(s, max_loss_pct=0) if g["gate"] == "max_loss_pct"][0]
    assert not failed["passed"] and "44.6% of the lost packets every subscriber of the track lost alike" in failed["message"]
    assert "lost alike by every subscriber" in render_html(s, [a, b])
    with pytest.raises(ReportError, match=r"results\[0\].loss_by_track must be a dict, got \[1\]"):
        merge([dict(a, loss_by_track=[1]), b])


def test_merge_generator_usage():
    s = merge(results())
    by = dict((g["host"], g["usage"]) for g in s["generators"])
    # gen1: 60 CPU s in 120 s = 0.5 cores, over 50 planned participants = 0.01 core each; 200 MiB / 50 = 4 MiB
    assert by["gen1"] == dict(cpu_seconds=60.0, wall_seconds=120.0, max_rss_bytes=200 * MIB, cpu_cores=0.5,
                              cpu_cores_per_participant=0.01, rss_bytes_per_participant=4 * MIB,
                              host_busy_pct=None, host_cores=None)  # an older result: no host figures
    assert by["gen2"]["cpu_cores"] == 0.75 and by["gen2"]["cpu_cores_per_participant"] == 0.015
    assert by["gen3"] is None  # the lk result built by the parser has no generator block
    # the generators run at the same time: cores and RSS add up; per participant over the measured hosts
    # (100 planned): 1.25 / 100 cores, 500 MiB / 100 = 5 MiB
    assert s["generator_usage"] == dict(measured=2, cpu_seconds=150.0, cpu_cores=1.25, max_cpu_cores=0.75,
                                        rss_bytes=500 * MIB, max_rss_bytes=300 * MIB,
                                        cpu_cores_per_participant=0.0125, rss_bytes_per_participant=5 * MIB)
    # only the contract's keys of the block are kept
    report = json.loads(report_json(s, results(), [], None))
    second = [r["generator"] for r in report["results"]][1]
    assert second == dict(cpu_seconds=90.0, max_rss_bytes=300 * MIB, wall_seconds=120.0, host_busy_pct=None, host_cores=None)
    page = render_html(s, results())
    assert "<td>0.75</td>" in page and "<td>300.0 MiB</td>" in page and "1.25 / 0.0125" in page
    # a result without the block (an older generator): nothing measured, nothing fails
    none = merge([lk_result()])
    assert none["generator_usage"]["measured"] == 0 and none["generator_usage"]["cpu_cores"] is None
    assert "generators&#x27; CPU" not in render_html(none, [lk_result()])
    bad = results()
    bad[0]["generator"] = dict(cpu_seconds="lots")
    with pytest.raises(ReportError, match="generator.cpu_seconds must be a number"):
        merge(bad)


def test_no_secret_passes_through():
    s = merge(results())
    text = report_json(s, results(), [], None) + render_html(s, results())
    assert "must-not-pass-through" not in text
    assert LEAKY not in text
    assert "api_secret" not in text
    assert "token=<redacted>" in text and "eyJ" not in text  # the JWT is masked
    assert "abc.def" not in redact("Authorization: Bearer abc.def")
    assert redact("wss://sfu/rtc?access_token=abc&x=1") == "wss://sfu/rtc?access_token=<redacted>&x=1"
    assert redact('api_secret: "s3cr3t value"') == "api_secret: <redacted>"
    assert redact("join took 41 ms") == "join took 41 ms"


def test_gates_pass_and_fail():
    s = merge(results())
    passing = gates(s, max_loss_pct=0.5, max_subscribe_p99_ms=250, max_failed_joins=0, min_bitrate_kbps=30000)
    assert [g["passed"] for g in passing] == [True, True, True, True]
    failing = gates(s, max_loss_pct=0.05, max_subscribe_p99_ms=150, max_failed_joins=0, min_bitrate_kbps=40000)
    by = dict((g["gate"], g) for g in failing)
    assert by["max_loss_pct"]["passed"] is False and "exceeds" in by["max_loss_pct"]["message"]
    assert by["max_subscribe_p99_ms"]["passed"] is False and by["max_subscribe_p99_ms"]["value"] == 200.0
    assert by["max_failed_joins"]["passed"] is True
    assert by["min_bitrate_kbps"]["passed"] is False and "below" in by["min_bitrate_kbps"]["message"]
    with pytest.raises(ReportError, match="unknown gate"):
        gates(s, max_lossy=1)


def test_gate_on_a_value_lk_does_not_measure_fails():
    s = merge([lk_result()])
    g = gates(s, max_subscribe_p99_ms=1000)[0]
    assert g["passed"] is False and "not measured" in g["message"]


def with_host_cpu(busy1, busy2):
    """The three results, gen1 and gen2 with their host's CPU figure (4 cores); gen3 (lk) an older result without."""
    rs = results()
    for r, busy in zip(rs, (busy1, busy2)):
        r["generator"] = dict(r["generator"], host_busy_pct=busy, host_cores=4)
    return rs


def test_saturated_generator_host_makes_the_run_invalid():
    rs = with_host_cpu(42.5, 97.25)
    s = merge(rs)
    passing = gates(s, max_loss_pct=0.5, max_failed_joins=0)
    v = verdict(s, passing, 90)
    assert (v["result"], v["label"]) == ("invalid", "invalid: generator saturated")
    assert v["saturation"] == dict(limit_pct=90, saturated=[dict(host="gen2", host_busy_pct=97.25, host_cores=4)],
                                   not_measured=["gen3"])
    assert v["message"].startswith("invalid: generator saturated: gen2 was 97.25 % busy (4 cores) over the run, "
                                   "above the limit 90 %; the SFU gates (0 of 2 failed) do not decide this run")
    # failing gates do not turn it into a fail either: the gates are shown, the verdict stays invalid
    failing = gates(s, max_loss_pct=0.0)
    assert verdict(s, failing, 90)["result"] == "invalid" and "(1 of 1 failed)" in verdict(s, failing, 90)["message"]
    s["verdict"] = v
    page = render_html(s, rs, passing)
    assert '<span class="invalid" id="verdict">invalid: generator saturated</span>' in page
    assert "Gates (shown; not the verdict: generator saturated)" in page
    assert "<td>97.25 % (4)</td>" in page and "<td>42.5 % (4)</td>" in page
    assert "invalid: generator saturated, loss" in page  # the operators' row says it first
    assert json.loads(report_json(s, rs, passing, None))["summary"]["verdict"]["result"] == "invalid"


def test_below_the_limit_the_gates_decide():
    s = merge(with_host_cpu(42.5, 89.9))
    v = verdict(s, gates(s, max_loss_pct=0.5), 90)
    assert (v["result"], v["label"], v["saturation"]["saturated"]) == ("pass", "pass", [])
    v = verdict(s, gates(s, max_loss_pct=0.05), 90)
    assert v["result"] == "fail" and v["message"].startswith("1 of 1 gate(s) failed")
    s["verdict"] = v
    assert '<span class="fail" id="verdict">fail</span>' in render_html(s, results(), gates(s, max_loss_pct=0.05))


def test_missing_host_figure_is_noted_not_invalid():
    s = merge(results())  # no result has host_busy_pct (older load_test)
    v = verdict(s, gates(s, max_loss_pct=0.5), 0.01)
    assert v["result"] == "pass" and v["saturation"]["not_measured"] == ["gen1", "gen2", "gen3"]
    assert v["message"] == ("every gate passed; generator host CPU not measured on gen1, gen2, gen3 "
                            "(not checked for saturation)")


def test_compare_flags_regressions_only():
    base = merge(results())
    same = compare(merge(results()), base, 10)
    assert same == []
    worse_results = results()
    worse_results[0]["subscribe_ms"] = [v * 1.5 for v in SUB_A]  # 120 -> 180 ms; p99 stays 200 (gen2)
    worse_results[1]["subscribe_ms"] = [v * 1.2 for v in SUB_B]  # p99 200 -> 240: +20 %
    worse_results[1]["packets_lost"] = 600
    worse_results[1]["participants"] = {"planned": 50, "connected": 48, "failed": 2}
    worse = merge(worse_results)
    metrics = sorted(r["metric"] for r in compare(worse, base, 10))
    assert metrics == ["failed_joins", "loss_pct", "subscribe_p99_ms"]
    # +20 % p99 is within a 25 % tolerance
    assert "subscribe_p99_ms" not in [r["metric"] for r in compare(worse, base, 25)]
    # bitrate down
    less = results()
    less[0]["bytes_received"] //= 2
    assert [r["metric"] for r in compare(merge(less), base, 10)] == ["bitrate_kbps"]
    # the baseline may be the whole JSON report
    assert compare(worse, json.loads(report_json(base, results(), [], None)), 10)
    with pytest.raises(ReportError, match="baseline"):
        compare(worse, {"foo": 1}, 10)


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.titles, self.svg_titles, self._in = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in = tag
        if tag in ("script", "link", "img", "iframe"):
            raise AssertionError("external or active content: <%s>" % tag)
        for k, v in attrs:
            if k in ("src", "href") or (v and "http" in v and k != "xmlns"):
                raise AssertionError("external reference %s=%s" % (k, v))

    def handle_data(self, data):
        if self._in == "title":
            self.svg_titles.append(data)


def test_html_self_contained_with_plots():
    rs = results()
    rs[0]["host"] = "gen1<script>alert(1)</script>"
    s = merge(rs)
    page = render_html(s, rs, gates(s, max_loss_pct=0.05), compare(s, merge(results()), 10), name="medium & <b>")
    c = Collector()
    c.feed(page)
    c.close()
    assert c.tags.count("svg") == 4
    for title in ("Subscribe time distribution", "Received bitrate over time", "Packet loss over time", "SFU CPU over time"):
        assert title in c.svg_titles
    assert page.count("<polyline") >= 5  # 3 bitrate lines (lk: none) ... at least gen1, gen2 bitrate + loss + CPU
    assert "<rect" in page  # histogram bars
    for points in re.findall(r'points="([^"]*)"', page):  # every line stays inside its plot frame
        for xy in points.split():
            x, y = map(float, xy.split(","))
            assert 64 <= x <= 744 and 30 <= y <= 236, (x, y)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "medium &amp; &lt;b&gt;" in page
    # the operators' columns
    for col in ("scenario", "participants", "publishers (video)", "rooms", "duration", "result"):
        assert "<th>%s</th>" % col in page
    assert "subscribe p50 45 ms, p90 90 ms, p99 200 ms" in page
    assert "FAIL" in page


def test_html_for_lk_only_says_not_measured():
    r = lk_result()
    s = merge([r])
    page = render_html(s, [r])
    assert page.count("<svg") == 4
    assert "not measured by engine(s) lk" in page
    assert "subscribe time not measured" in page


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r.update(schema=2), "schema"),
    (lambda r: r.pop("host"), "no host"),
    (lambda r: r.update(packets_lost="many"), "must be a number"),
])
def test_bad_results_refused(mutate, message):
    rs = results()
    mutate(rs[1])
    with pytest.raises(ReportError, match=message):
        merge(rs)


def test_duplicate_host_refused():
    rs = results()
    rs.append(copy.deepcopy(rs[0]))
    with pytest.raises(ReportError, match="twice"):
        merge(rs)


def test_registered_task_results_are_unwrapped():
    rs = [{"changed": True, "result": r} for r in results()]
    assert merge(rs)["hosts"] == ["gen1", "gen2", "gen3"]
