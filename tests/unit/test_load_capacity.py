"""benchmarks/load_capacity.py: the plans of each shape, and how a step is judged (pass, fail, generator-bound)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "benchmarks"))
import load_capacity as cap  # noqa: E402

T0 = 1795000000.0


def test_operator_plan_one_room_per_250_and_ten_percent_publishers():
    p = cap.plan_for("operator", 300, None, 30, 10, "640x360")
    assert (p["rooms"], p["participants"], p["publishers"], p["video_publishers"], p["audio_publishers"]) == (2, 300, 30, 15, 15)
    assert cap.plan_for("operator", 20, 2, 30, 10, "640x360")["rooms"] == 2  # --rooms: at least that many


def test_audio_plan_step_is_subscribers_per_room():
    p = cap.plan_for("audio", 300, 2, 30, 10, "640x360")
    assert (p["rooms"], p["participants"], p["publishers"], p["video_publishers"], p["subscribers"]) == (2, 620, 20, 0, 600)
    with pytest.raises(SystemExit, match="at least 4"):
        cap.parse_steps("2,10", "operator", None)
    assert cap.parse_steps("4,1", "audio", 2) == [1, 4]


def step(gen_cores, sfu_cpu_seconds, verdict="pass", p99=120.0, lost=0):
    """A step whose SFU nodes used sfu_cpu_seconds[i] CPU seconds each over 10 s (two samples per node)."""
    samples = []
    for i, cpu in enumerate(sfu_cpu_seconds):
        url = "http://127.0.0.1:%d/metrics" % (9000 + i)
        samples += [dict(t=T0, url=url, cpu_seconds=100.0), dict(t=T0 + 10, url=url, cpu_seconds=100.0 + cpu)]
    summary = dict(participants=dict(planned=10, connected=10, failed=0), loss_pct=0.0 if not lost else 1.0,
                   packets_lost=lost, subscribe_ms=dict(p99=p99), tracks=dict(subscribed=9, expected_subscriptions=9),
                   window=dict(start=T0, end=T0 + 10), servers={}, generator_usage=dict(cpu_cores=gen_cores),
                   verdict=dict(result=verdict, message="invalid: generator saturated: gen0 was 97 % busy"
                                if verdict == "invalid" else "every gate passed"))
    s = dict(plan=cap.plan_for("operator", 10, None, 10, 10, "640x360"), summary=summary, problems=[], invalid=[],
             notes=[], rooms=["r-0"], results=dict(gen0=dict(complete=True, server_samples=samples), gen1=dict(complete=True)))
    cap.judge(s)
    return s


def test_sfu_bound_step_passes_and_sums_the_nodes():
    s = step(0.3, [4.0, 6.0])  # the SFU: 0.4 + 0.6 cores
    assert cap.sfu_cpu(s)[0] == pytest.approx(1.0)
    assert cap.status(s) == "pass" and not cap.stops_the_ladder(s)
    assert cap.shares_text(s) == "generators 0.30, SFU 1.00: the SFU took more"


def test_sfu_bound_step_that_fails_the_gates_is_a_fail():
    s = step(0.3, [10.0], p99=600.0)
    assert cap.status(s) == "FAIL" and cap.stops_the_ladder(s)
    assert s["problems"] == ["subscribe p99 600 ms >= 400 ms"]


def test_generators_taking_more_is_generator_bound_not_a_fail():
    s = step(1.5, [10.0], p99=600.0)
    assert cap.status(s) == "generator-bound / invalid"
    assert s["invalid"] == ["the generators took more CPU (1.50 cores) than the SFU (1.00)"]
    assert cap.usage_row(dict(s, load_before=0.0, load_after=0.0, machine_busy_pct=None))[2].startswith(
        "generator-bound / invalid: the generators took more CPU")
    within = step(1.5, [10.0])  # within the gates: generator-bound, but the climb goes on
    assert cap.status(within) == "generator-bound / invalid" and not cap.stops_the_ladder(within)


def test_saturated_host_is_invalid_and_stops_the_ladder():
    s = step(0.3, [10.0], verdict="invalid")
    assert cap.status(s) == "generator-bound / invalid" and cap.stops_the_ladder(s)
    assert s["invalid"] == ["invalid: generator saturated: gen0 was 97 % busy"]
