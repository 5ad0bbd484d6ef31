"""Load test plans: presets, scaling, validation and the split across generator hosts."""

import collections

import pytest

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import (
    PRESETS,
    PlanError,
    build_plan,
    result_plan,
    roster,
    split,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import redact as scrub


def per_room(plan):
    rooms = collections.defaultdict(collections.Counter)
    for room, kind in roster(plan):
        rooms[room][kind] += 1
    return rooms


@pytest.mark.parametrize("name, participants, publishers, video, rooms", [
    ("smoke", 2, 1, 1, 1),
    ("initial", 100, 10, 5, 1),
    ("medium", 500, 50, 25, 2),
    ("high", 1000, 100, 50, 4),
    ("mega", 2500, 250, 150, 10),
])
def test_presets_follow_the_operators_table(name, participants, publishers, video, rooms):
    plan = build_plan(name)
    assert (plan["participants"], plan["publishers"], plan["video_publishers"], plan["rooms"]) == (
        participants, publishers, video, rooms)
    sizes = per_room(plan)
    assert len(sizes) == rooms
    assert max(sum(c.values()) for c in sizes.values()) <= 250


def test_smoke_is_one_audio_video_publisher_and_one_subscriber():
    assert roster(build_plan("smoke")) == [("loadtest-0", "video"), ("loadtest-0", "subscriber")]


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("scale", [0.001, 0.02, 0.06, 0.5])
def test_scaled_presets_keep_a_publisher_and_a_subscriber_per_room(name, scale):
    plan = build_plan(name, scale=scale)
    assert plan["participants"] <= max(2 * plan["rooms"], round(PRESETS[name]["participants"] * scale) + 1)
    for room, kinds in per_room(plan).items():
        assert kinds["video"] + kinds["audio"] >= 1, (room, kinds)
        assert kinds["subscriber"] >= 1, (room, kinds)


def test_scale_figures():
    assert build_plan("medium", scale=0.02) == dict(
        PRESETS["medium"], participants=10, publishers=2, video_publishers=1, audio_publishers=1)
    small = build_plan("initial", scale=0.06, rooms=2)
    assert (small["participants"], small["rooms"], small["publishers"]) == (6, 2, 2)
    assert build_plan("mega", scale=0.01)["rooms"] == 10


def test_overrides_win_and_publishers_split_half_and_half():
    plan = build_plan("initial", participants=20, publishers=5, codec="h264", simulcast=False)
    assert (plan["video_publishers"], plan["audio_publishers"], plan["codec"], plan["simulcast"]) == (3, 2, "h264", False)
    plan = build_plan("initial", video_publishers=8)
    assert (plan["publishers"], plan["audio_publishers"]) == (10, 2)


@pytest.mark.parametrize("overrides, message", [
    ({"publishers": 200}, "publishers (200) cannot be more than participants (100)"),
    ({"publishers": 10, "video_publishers": 3, "audio_publishers": 3},
     "video_publishers (3) + audio_publishers (3) must equal publishers (10)"),
    ({"rooms": 0}, "rooms must be at least 1"),
    ({"participants": -1}, "participants must not be negative, got -1"),
    ({"join_rate": 0}, "join_rate must be above 0, got 0"),
    ({"duration": -5}, "duration must be above 0, got -5"),
    ({"resolution": "big"}, "resolution must be WIDTHxHEIGHT"),
    ({"codec": "h265"}, "codec must be one of vp8, h264, vp9, av1"),
    ({"rooms": 5, "participants": 3, "publishers": 1, "video_publishers": 1, "audio_publishers": 0},
     "participants (3) must be at least rooms (5)"),
])
def test_bad_plans_fail_with_one_clear_message(overrides, message):
    with pytest.raises(PlanError) as e:
        build_plan("initial", **overrides)
    assert str(e.value).startswith("invalid load plan: ")
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_preset_field_and_scale():
    with pytest.raises(PlanError, match="unknown preset 'huge'"):
        build_plan("huge")
    with pytest.raises(PlanError, match="unknown plan field"):
        build_plan("initial", speakers=3)
    with pytest.raises(PlanError, match="scale must be a number above 0"):
        build_plan("initial", scale=0)


@pytest.mark.parametrize("name, scale, hosts", [
    ("smoke", None, 1), ("smoke", None, 2), ("initial", 0.06, 2), ("medium", None, 3),
    ("high", None, 7), ("mega", None, 10), ("initial", None, 1),
])
def test_split_deals_every_participant_exactly_once(name, scale, hosts):
    plan = build_plan(name, scale=scale)
    slices = split(plan, hosts)
    assert [s["host_index"] for s in slices] == list(range(hosts))
    members = [m for s in slices for m in s["members"]]
    identities = [m["identity"] for m in members]
    assert len(identities) == len(set(identities)) == plan["participants"]
    assert collections.Counter((m["room"], m["kind"]) for m in members) == collections.Counter(roster(plan))
    sizes = [s["participants"] for s in slices]
    assert max(sizes) - min(sizes) <= 1
    publishers = [s["publishers"] for s in slices]
    assert max(publishers) - min(publishers) <= 1
    assert sum(s["video_publishers"] for s in slices) == plan["video_publishers"]
    assert sum(s["join_rate"] for s in slices) == pytest.approx(plan["join_rate"])
    for s in slices:
        for m in s["members"]:
            room, host, n = m["identity"][len("lt-"):].rsplit("-", 2)
            assert (room, int(host)) == (m["room"], s["host_index"]) and int(n) >= 0


def test_split_is_deterministic_and_counts_expected_subscriptions():
    plan = build_plan("initial", scale=0.06, rooms=2)
    assert split(plan, 2) == split(plan, 2)
    slices = split(plan, 2)
    # Room 0 has the video publisher (2 tracks), room 1 the audio publisher (1 track).
    assert slices[0]["room_tracks"] == {"loadtest-0": 2, "loadtest-1": 1}
    total = sum(s["expected_subscriptions"] for s in slices)
    assert total == 2 * 2 + 2 * 1  # two subscribers in each room
    expected = ["lt-loadtest-1-1-0", "lt-loadtest-0-1-0", "lt-loadtest-1-1-1"]
    assert [m["identity"] for m in slices[1]["members"]] == expected
    plan_out = result_plan(slices[1])
    assert set(plan_out) >= {"rooms", "participants", "publishers", "video_publishers", "audio_publishers",
                             "subscribers", "resolution", "codec", "simulcast", "join_rate", "duration"}


def test_more_hosts_than_participants_leaves_empty_slices():
    slices = split(build_plan("smoke"), 3)
    assert [s["participants"] for s in slices] == [1, 1, 0]
    with pytest.raises(PlanError, match="hosts_total must be at least 1"):
        split(build_plan("smoke"), 0)


def test_room_prefix_names_rooms_and_identities():
    s, = split(build_plan("smoke"), 1, prefix="verify")
    assert [m["identity"] for m in s["members"]] == ["lt-verify-0-0-0", "lt-verify-0-0-1"]


def test_scrub_hides_secrets_and_tokens():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJBUEkifQ.c2lnbmF0dXJl"
    text = "invalid token: %s, error: bad; ws://h/rtc?access_token=abc&x=1 secret-123" % token
    assert scrub(text, ["secret-123"]) == "invalid token: ********, error: bad; ws://h/rtc?access_token=********&x=1 ********"
