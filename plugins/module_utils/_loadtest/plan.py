# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load test plans: presets, scaling, validation, and the split across generator hosts.

Private to this collection: the interface may change without notice. Pure Python: no LiveKit SDK.

A video publisher sends a camera track and a microphone track; an audio publisher sends a
microphone track only; a subscriber publishes nothing and subscribes to every track of its room.
"""

from __future__ import annotations

import re

PLAN_FIELDS = ("rooms", "participants", "publishers", "video_publishers", "audio_publishers",
               "resolution", "codec", "simulcast", "join_rate", "duration")
COUNT_FIELDS = ("rooms", "participants", "publishers", "video_publishers", "audio_publishers")
CODECS = ("vp8", "h264", "vp9", "av1")

_COMMON = dict(resolution="640x360", codec="vp8", simulcast=True, join_rate=10.0)
# The operators' load test table (docs/load-testing.md); mega has 150 video publishers of 250.
PRESETS = {
    "smoke": dict(_COMMON, rooms=1, participants=2, publishers=1, video_publishers=1, audio_publishers=0,
                  resolution="320x240", simulcast=False, join_rate=5.0, duration=10),
    "initial": dict(_COMMON, rooms=1, participants=100, publishers=10, video_publishers=5,
                    audio_publishers=5, duration=120),
    "medium": dict(_COMMON, rooms=2, participants=500, publishers=50, video_publishers=25,
                   audio_publishers=25, duration=180),
    "high": dict(_COMMON, rooms=4, participants=1000, publishers=100, video_publishers=50,
                 audio_publishers=50, duration=180),
    "mega": dict(_COMMON, rooms=10, participants=2500, publishers=250, video_publishers=150,
                 audio_publishers=100, duration=240),
}

_RESOLUTION = re.compile(r"^(\d+)x(\d+)$")


class PlanError(ValueError):
    pass


def parse_resolution(value):
    """(width, height) from ``"WxH"``."""
    match = _RESOLUTION.match(str(value).strip().lower())
    if not match:
        raise PlanError("resolution must be WIDTHxHEIGHT, for example 640x360, got %r" % (value,))
    return int(match.group(1)), int(match.group(2))


def _scaled(preset, scale, rooms):
    """The preset's counts times ``scale``, keeping one publisher and one subscriber per room."""
    participants = max(2 * rooms, int(round(preset["participants"] * scale)))
    publishers = max(rooms, int(round(preset["publishers"] * scale)))
    publishers = min(publishers, participants - rooms)
    video = int(round(preset["video_publishers"] * scale))
    if preset["video_publishers"]:
        video = max(1, video)
    video = min(video, publishers)
    return dict(participants=participants, publishers=publishers, video_publishers=video,
                audio_publishers=publishers - video)


def build_plan(preset="initial", scale=None, **overrides):
    """A validated plan: the preset, scaled by ``scale``, then the fields given in ``overrides``.

    With ``scale``, rooms are kept (fewer when there are too few participants for two per room)
    unless given; an explicit ``publishers`` without ``video_publishers`` / ``audio_publishers``
    is split half and half (video first).
    """
    if preset not in PRESETS:
        raise PlanError("unknown preset %r; known: %s" % (preset, ", ".join(sorted(PRESETS))))
    unknown = sorted(set(overrides) - set(PLAN_FIELDS))
    if unknown:
        raise PlanError("unknown plan field(s): %s" % ", ".join(unknown))
    given = dict((k, v) for k, v in overrides.items() if v is not None)
    plan = dict(PRESETS[preset])
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise PlanError("scale must be a number above 0, got %r" % (scale,))
        if scale != 1:
            rooms = given.get("rooms")
            if not isinstance(rooms, int) or rooms <= 0:
                rooms = max(1, min(plan["rooms"], int(round(plan["participants"] * scale)) // 2))
            plan["rooms"] = rooms
            plan.update(_scaled(plan, scale, rooms))
    plan.update(given)
    counts = set(given) & {"publishers", "video_publishers", "audio_publishers"}
    if all(isinstance(plan[k], int) for k in ("publishers", "video_publishers", "audio_publishers")):
        if counts == {"publishers"}:
            plan["video_publishers"] = (plan["publishers"] + 1) // 2
            plan["audio_publishers"] = plan["publishers"] // 2
        elif counts == {"video_publishers"}:
            plan["publishers"] = max(plan["publishers"], plan["video_publishers"])
            plan["audio_publishers"] = plan["publishers"] - plan["video_publishers"]
        elif counts == {"audio_publishers"}:
            plan["video_publishers"] = max(0, plan["publishers"] - plan["audio_publishers"])
            plan["publishers"] = plan["video_publishers"] + plan["audio_publishers"]
    validate(plan)
    return plan


def problems(plan):
    """Everything wrong with ``plan``, as short sentences (empty when it is valid)."""
    found = []
    for field in COUNT_FIELDS:
        value = plan.get(field)
        if isinstance(value, bool) or not isinstance(value, int):
            found.append("%s must be a whole number, got %r" % (field, value))
        elif value < 0:
            found.append("%s must not be negative, got %d" % (field, value))
    if found:
        return found
    if plan["rooms"] == 0:
        found.append("rooms must be at least 1")
    if plan["participants"] < plan["rooms"]:
        found.append("participants (%d) must be at least rooms (%d): every room needs a participant"
                     % (plan["participants"], plan["rooms"]))
    if plan["publishers"] > plan["participants"]:
        found.append("publishers (%d) cannot be more than participants (%d)"
                     % (plan["publishers"], plan["participants"]))
    if plan["video_publishers"] + plan["audio_publishers"] != plan["publishers"]:
        found.append("video_publishers (%d) + audio_publishers (%d) must equal publishers (%d)"
                     % (plan["video_publishers"], plan["audio_publishers"], plan["publishers"]))
    for field in ("join_rate", "duration"):
        value = plan.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            found.append("%s must be above 0, got %r" % (field, value))
    try:
        width, height = parse_resolution(plan.get("resolution"))
        if not (16 <= width <= 3840 and 16 <= height <= 2160) or width % 2 or height % 2:
            found.append("resolution must be even numbers between 16x16 and 3840x2160, got %s"
                         % plan["resolution"])
    except PlanError as e:
        found.append(str(e))
    if plan.get("codec") not in CODECS:
        found.append("codec must be one of %s, got %r" % (", ".join(CODECS), plan.get("codec")))
    if not isinstance(plan.get("simulcast"), bool):
        found.append("simulcast must be true or false, got %r" % (plan.get("simulcast"),))
    return found


def validate(plan):
    found = problems(plan)
    if found:
        raise PlanError("invalid load plan: " + "; ".join(found))


def _spread(total, parts, index):
    """How many of ``total`` items part ``index`` of ``parts`` gets (the first ones get one more)."""
    return total // parts + (1 if index < total % parts else 0)


def room_names(plan, prefix="loadtest"):
    return ["%s-%d" % (prefix, i) for i in range(plan["rooms"])]


def roster(plan, prefix="loadtest"):
    """Every participant of the plan, in a fixed order: video publishers, then audio publishers,
    dealt over the rooms in turn; then the subscribers, room by room (so that dealing the roster
    over hosts puts the subscribers of one room on several hosts). Items: (room, kind), kind in
    ``video`` / ``audio`` / ``subscriber``."""
    names = room_names(plan, prefix)
    rooms = plan["rooms"]
    room_size = [_spread(plan["participants"], rooms, i) for i in range(rooms)]
    kinds = ["video"] * plan["video_publishers"] + ["audio"] * plan["audio_publishers"]
    room_publishers = [0] * rooms
    people = []
    for n, kind in enumerate(kinds):
        people.append((names[n % rooms], kind))
        room_publishers[n % rooms] += 1
    for i in range(rooms):
        people.extend([(names[i], "subscriber")] * (room_size[i] - room_publishers[i]))
    return people


def room_tracks(plan, prefix="loadtest"):
    """Tracks published in each room of the whole plan: 2 per video publisher, 1 per audio publisher."""
    tracks = dict((name, 0) for name in room_names(plan, prefix))
    for room, kind in roster(plan, prefix):
        tracks[room] += {"video": 2, "audio": 1}.get(kind, 0)
    return tracks


def split(plan, hosts, prefix="loadtest"):
    """The plan dealt over ``hosts`` generator hosts: a list of slices, one per host index.

    The roster is dealt in turn (participant k goes to host k % hosts), so every participant is in
    exactly one slice, publishers of each kind are spread evenly and hosts differ by at most one
    participant. A host may get participants of several rooms. Identities are
    ``lt-<room>-<host index>-<n>``, n counting per room and host. Each host joins at
    ``join_rate / hosts`` per second, so all hosts together join at ``join_rate``.
    """
    if isinstance(hosts, bool) or not isinstance(hosts, int) or hosts < 1:
        raise PlanError("hosts_total must be at least 1, got %r" % (hosts,))
    validate(plan)
    tracks = room_tracks(plan, prefix)
    slices = []
    for index in range(hosts):
        slices.append(dict(
            host_index=index, hosts_total=hosts, room_prefix=prefix,
            resolution=plan["resolution"], codec=plan["codec"], simulcast=plan["simulcast"],
            join_rate=float(plan["join_rate"]) / hosts, duration=plan["duration"], members=[]))
    counters = {}
    for k, (room, kind) in enumerate(roster(plan, prefix)):
        index = k % hosts
        n = counters.get((room, index), 0)
        counters[(room, index)] = n + 1
        slices[index]["members"].append(dict(
            identity="lt-%s-%d-%d" % (room, index, n), room=room, kind=kind))
    for s in slices:
        members = s["members"]
        s["room_names"] = sorted(set(m["room"] for m in members), key=lambda r: int(r.rsplit("-", 1)[1]))
        s["room_tracks"] = dict((r, tracks[r]) for r in s["room_names"])
        s.update(summary(s))
    return slices


def summary(plan_slice):
    """The counts of a slice, as the load test result reports its ``plan``."""
    members = plan_slice["members"]
    count = dict((kind, sum(1 for m in members if m["kind"] == kind)) for kind in ("video", "audio", "subscriber"))
    published = 2 * count["video"] + count["audio"]
    expected = sum(plan_slice["room_tracks"][m["room"]] for m in members if m["kind"] == "subscriber")
    return dict(
        rooms=len(plan_slice["room_names"]), participants=len(members),
        publishers=count["video"] + count["audio"], video_publishers=count["video"],
        audio_publishers=count["audio"], subscribers=count["subscriber"],
        resolution=plan_slice["resolution"], codec=plan_slice["codec"], simulcast=plan_slice["simulcast"],
        join_rate=plan_slice["join_rate"], duration=plan_slice["duration"],
        tracks_published=published, expected_subscriptions=expected)


RESULT_PLAN_FIELDS = ("rooms", "participants", "publishers", "video_publishers", "audio_publishers",
                      "subscribers", "resolution", "codec", "simulcast", "join_rate", "duration")


def result_plan(plan_slice):
    """The ``plan`` of a result: this host's counts plus the room names and host index."""
    plan = dict((k, plan_slice[k]) for k in RESULT_PLAN_FIELDS)
    plan.update(room_names=plan_slice["room_names"], host_index=plan_slice["host_index"],
                hosts_total=plan_slice["hosts_total"])
    return plan
