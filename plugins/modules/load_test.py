#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: load_test
short_description: Run one load generator against a LiveKit server
version_added: 0.2.0
description:
  - Joins this host's share of a load test plan to a LiveKit server as real WebRTC participants
    (run by the O(engine)), publishes media, subscribes, measures, and returns the result.
  - A plan comes from a O(preset) (the operators' table), optionally scaled down with O(scale),
    with any field given explicitly on top. With several generator hosts, each runs this module
    with the same plan, the same O(start_at), O(hosts_total) and its own O(host_index); each host
    computes its own share, so every participant runs on exactly one host.
  - Before anything joins, the module makes one API call (CreateRoom for each room of its share,
    ListRooms in check mode), so a wrong URL or secret fails within seconds.
  - The rooms are created (get-or-create) with a short O(empty_timeout) so they close soon after the
    test. Nothing else on the server is changed. The module reports C(changed) as V(false) - it
    observes the server, and the rooms it joins are ephemeral.
  - The V(webrtc) engine runs an asyncio event loop inside the module (a generator is inherently
    concurrent); the collection's other modules run none. See C(docs/load-testing.md) for the
    measurements and their definitions.
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.connection
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.ACTIONGROUP
attributes:
  check_mode:
    support: full
    details:
      - Validates the plan, probes the server with one read-only call and returns the plan of this
        host without joining.
  diff_mode:
    support: none
options:
  mode:
    description:
      - V(run) runs the plan and returns the measurements.
      - V(smoke) runs the V(smoke) preset (one publisher of audio and video, one subscriber, 10 s)
        and fails unless media flowed as expected - every participant joined, the publisher sent, and
        the subscriber received both its audio and its video track. Use it after every deploy.
    type: str
    choices: [run, smoke]
    default: run
  engine:
    description:
      - V(webrtc) runs participants with the C(livekit) Python real-time SDK (needs the C(livekit)
        package on the host that runs the module).
      - V(lk) runs C(lk load-test) (the LiveKit CLI, O(lk_path)); it measures less (no join or
        subscribe times, no jitter, no timeline).
      - V(go) runs C(rtcstack-loadgen) (O(loadgen_path)), a small program on LiveKit's Go SDK that
        C(scripts/build-loadgen.sh) builds. Publishers loop clips encoded at build time (no encoder
        at run time, video with simulcast), subscribers count RTP packets without decoding. Several
        times cheaper per participant than V(webrtc); codecs V(vp8) and V(h264) only.
    type: str
    choices: [webrtc, lk, go]
    default: webrtc
  lk_path:
    description:
      - The C(lk) binary for O(engine=lk), a name looked up in PATH or a path.
    type: str
    default: lk
  loadgen_path:
    description:
      - The C(rtcstack-loadgen) binary for O(engine=go), a name looked up in PATH or a path.
    type: str
    default: rtcstack-loadgen
    version_added: 0.2.0
  preset:
    description:
      - The plan to start from. V(initial) 100 participants in 1 room, V(medium) 500 in 2, V(high)
        1000 in 4, V(mega) 2500 in 10; 10% of them publish, half of those (150 of 250 for V(mega))
        with video. V(smoke) is 1 publisher and 1 subscriber.
      - Default V(initial), or V(smoke) with O(mode=smoke).
    type: str
    choices: [smoke, initial, medium, high, mega]
  scale:
    description:
      - Multiply the preset's participants and publishers by this factor (for example V(0.02) for a
        small lab), keeping at least one publisher and one subscriber in every room. Rooms are kept
        unless there are too few participants for two in each.
    type: float
  rooms:
    description: Number of rooms (overrides the preset).
    type: int
  participants:
    description: Participants in all rooms together, publishers included.
    type: int
  publishers:
    description:
      - Participants that publish. Given alone, half of them (rounded up) publish video.
    type: int
  video_publishers:
    description: Publishers that send a camera track and a microphone track.
    type: int
  audio_publishers:
    description: Publishers that send a microphone track only.
    type: int
  resolution:
    description: Resolution of the synthetic camera track, C(WIDTHxHEIGHT).
    type: str
  codec:
    description: Video codec of the camera tracks.
    type: str
    choices: [vp8, h264, vp9, av1]
  simulcast:
    description: Publish the camera tracks with simulcast layers.
    type: bool
  join_rate:
    description:
      - Participants joining per second, all generator hosts together (each host joins at
        O(join_rate) / O(hosts_total)).
    type: float
  duration:
    description:
      - Seconds every participant stays after the last one of this host started to join.
    type: float
  room_prefix:
    description:
      - Rooms are named C(<room_prefix>-<n>); participant identities C(lt-<room>-<host index>-<n>).
    type: str
    default: loadtest
  empty_timeout:
    description: Seconds a room of the test stays open once empty.
    type: int
    default: 30
  hosts_total:
    description: Number of generator hosts that run this plan together.
    type: int
    default: 1
  host_index:
    description: Which share of the plan this host runs, from V(0) to O(hosts_total) - 1.
    type: int
    default: 0
  host_name:
    description:
      - Name of this generator in the result, for example C({{ inventory_hostname }}). Default the
        host's name.
    type: str
  start_at:
    description:
      - Epoch seconds at which every generator starts; the module sleeps until then and reports its
        lateness as RV(result.skew_s). Default now. At most one day ahead and 60 s behind.
    type: float
  progress_path:
    description:
      - A JSON file (mode 0600) rewritten every O(progress_interval) seconds with the connected
        participants, bitrate and loss so far; written through a temporary file and a rename.
      - Written by O(engine=webrtc) and O(engine=go).
    type: path
  progress_interval:
    description: Seconds between progress samples (and timeline points).
    type: float
    default: 10
  result_path:
    description:
      - Write the result as JSON to this file (mode 0600), also when the run fails.
    type: path
  metrics_urls:
    description:
      - Prometheus endpoints of the SFU nodes (C(http://node:6789/metrics)), read every
        O(metrics_interval) seconds during the run; selected values are returned in
        RV(result.server_samples). A failing endpoint is recorded, never fatal.
    type: list
    elements: str
    default: []
  metrics_interval:
    description: Seconds between two reads of O(metrics_urls).
    type: float
    default: 10
notes:
  - The V(webrtc) engine connects with the SDK's own TLS stack; O(validate_certs) and O(ca_path)
    apply to the API call and the metrics reads only.
  - O(engine=webrtc) never runs more than C(start_at) + join budget (participants / join rate + 30 s)
    + O(duration) + 60 s; what was measured until then is returned with RV(result.complete=false).
    O(engine=lk) stops C(lk) at O(duration) + the time it needs to join everyone (at most 10 a second)
    + 120 s.
  - No token or secret is returned or written; participant tokens are minted on the generator and
    live only in memory.
seealso:
  - module: rtcstack.livekit.room
"""

EXAMPLES = r"""
- name: Smoke check after a deploy
  rtcstack.livekit.load_test:
    url: wss://livekit.example.com
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
    mode: smoke

- name: The operators' initial test on two generators, started together
  rtcstack.livekit.load_test:
    url: wss://livekit.example.com
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
    preset: initial
    hosts_total: "{{ groups['livekit_loadgen'] | length }}"
    host_index: "{{ groups['livekit_loadgen'].index(inventory_hostname) }}"
    host_name: "{{ inventory_hostname }}"
    start_at: "{{ loadtest_start_at }}"  # e.g. set once: now(utc=true).timestamp() + 60
    metrics_urls: "{{ groups['livekit_sfu'] | map('regex_replace', '^(.*)$', 'http://\\1:6789/metrics') }}"
    progress_path: /var/tmp/loadtest-progress.json
    result_path: /var/tmp/loadtest-result.json
  register: loadtest

- name: A lab-sized medium test (10 participants over 2 rooms)
  rtcstack.livekit.load_test:
    preset: medium
    scale: 0.02
    duration: 30
"""

RETURN = r"""
plan:
  description: This host's share of the plan (check mode).
  returned: in check mode
  type: dict
  sample: {rooms: 2, participants: 3, publishers: 1, video_publishers: 1, audio_publishers: 0,
           subscribers: 2, resolution: 640x360, codec: vp8, simulcast: true, join_rate: 5.0,
           duration: 15, room_names: [loadtest-0, loadtest-1], host_index: 0, hosts_total: 2}
members:
  description: The participants this host would run (check mode).
  returned: in check mode
  type: list
  elements: dict
  sample: [{identity: lt-loadtest-0-0-0, room: loadtest-0, kind: video}]
result:
  description:
    - The measurements of this host (schema 1); the same document is written to O(result_path).
    - C(join_ms) is connect start to connected. C(subscribe_ms) runs from the moment this subscriber
      learned the track was published when it was already in the room, otherwise from the start of
      its own join, to the track's subscribed event (C(subscribe_from=published_or_joined)).
    - C(bytes_received), C(packets_received), C(packets_lost) and C(jitter_ms) (one value per
      received stream, at the end) come from the SDK's WebRTC inbound-rtp stats of the subscribers.
    - With O(engine=lk), C(not_measured) lists the fields lk does not measure and C(derived) how the
      others were worked out from lk's tables.
  returned: when the run started (not in check mode)
  type: dict
  contains:
    schema: {description: Version of this document, type: int}
    host: {description: Name of the generator, type: str}
    engine: {description: "V(webrtc), V(lk) or V(go)", type: str}
    plan: {description: This host's share of the plan, type: dict}
    start_at: {description: The agreed start (epoch seconds), type: float}
    started_at: {description: When this host really started, type: float}
    skew_s: {description: C(started_at - start_at), type: float}
    ended_at: {description: When the participants had left, type: float}
    participants: {description: "C(planned), C(connected), C(failed)", type: dict}
    join_ms: {description: Join time of every participant that joined, type: list, elements: float}
    subscribe_ms: {description: Subscribe time of every subscription, type: list, elements: float}
    subscribe_from: {description: Always V(published_or_joined), type: str}
    tracks: {description: "C(published), C(expected_subscriptions), C(subscribed)", type: dict}
    bytes_received: {description: Media bytes the subscribers received, type: int}
    packets_received: {description: RTP packets the subscribers received, type: int}
    packets_lost: {description: RTP packets lost on the way to the subscribers, type: int}
    jitter_ms: {description: Interarrival jitter of each received stream, type: list, elements: float}
    timeline: {description: One point per progress sample, type: list, elements: dict}
    server_samples: {description: Selected Prometheus values per sample and URL, type: list, elements: dict}
    bytes_sent: {description: Media bytes the publishers sent (outbound-rtp), type: int}
    bytes_received_by_kind: {description: C(bytes_received) split into C(audio) and C(video), type: dict}
    video_codecs_sent: {description: Video codecs the encoders really used, type: list, elements: str}
    loss_by_track:
      description:
        - "O(engine=go) only: per track SID, C(subscriptions) on this host, C(lost_min) (the least loss of one of
          them) and C(lost) (their sum)."
        - M(rtcstack.livekit.load_test_report) finds from it the loss every subscriber of a track saw alike
          (C(loss_shared)), which happened before the SFU copied the packet to its subscribers.
      type: dict
      returned: with O(engine=go)
      sample: {TR_AMMf33fuqxppW7: {subscriptions: 50, lost_min: 269, lost: 13770}}
    generator:
      description:
        - What the generator itself used, measured by the module with C(getrusage) from O(start_at) (after the
          wait for it) until the participants had left; V(null) when the engine did not start.
        - C(cpu_seconds) user + system CPU time of the module's process (all its threads, the SDK's
          native ones included) plus its finished child processes (the C(lk) processes).
        - C(max_rss_bytes) the peak resident memory of the module's process (its whole life, the import
          of the SDK included), or of its largest child process when that is larger.
        - C(wall_seconds) the wall time of the same window.
        - C(host_busy_pct) how busy the whole generator host was over the same window, in percent of all
          its cores (busy / total jiffies of C(/proc/stat)'s C(cpu) line; idle and iowait count as idle,
          steal as busy); everything on the host is included, not only this generator. C(host_cores) the
          host's online cores. Both V(null) where C(/proc/stat) cannot be read.
          M(rtcstack.livekit.load_test_report) makes a run invalid when a host was above its
          C(max_generator_host_busy_pct).
      type: dict
      returned: when the engine started
      sample: {cpu_seconds: 41.87, max_rss_bytes: 251658240, wall_seconds: 75.412, host_busy_pct: 38.51, host_cores: 4}
    errors: {description: "What went wrong: one line each, at most 100", type: list, elements: str}
    complete: {description: The run reached its planned end, type: bool}
  sample:
    schema: 1
    host: loadgen-1
    engine: webrtc
    participants: {planned: 2, connected: 2, failed: 0}
    join_ms: [136.6, 212.5]
    subscribe_ms: [216.1, 216.5]
    subscribe_from: published_or_joined
    tracks: {published: 2, expected_subscriptions: 2, subscribed: 2}
    bytes_received: 373939
    packets_received: 730
    packets_lost: 0
    skew_s: 0.006
    generator: {cpu_seconds: 5.31, max_rss_bytes: 183500800, wall_seconds: 12.204, host_busy_pct: 31.2, host_cores: 2}
    complete: true
"""

import json
import socket
import time

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitClient, LiveKitError
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines import ENGINES
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.base import Job
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.metrics import Sampler
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import (
    CODECS,
    PLAN_FIELDS,
    PRESETS,
    PlanError,
    build_plan,
    result_plan,
    split,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.runner import (
    RunError,
    empty_result,
    run,
    smoke_problems,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import livekit_module
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import redact, write_atomic

MAX_AHEAD = 86400
MAX_BEHIND = 60


def argument_spec():
    """The module's options besides the connection (livekit_module adds those)."""
    options = dict(
        mode=dict(type="str", choices=["run", "smoke"], default="run"),
        engine=dict(type="str", choices=list(ENGINES), default="webrtc"),
        lk_path=dict(type="str", default="lk"),
        loadgen_path=dict(type="str", default="rtcstack-loadgen"),
        preset=dict(type="str", choices=sorted(PRESETS)),
        scale=dict(type="float"),
        room_prefix=dict(type="str", default="loadtest"),
        empty_timeout=dict(type="int", default=30),
        hosts_total=dict(type="int", default=1),
        host_index=dict(type="int", default=0),
        host_name=dict(type="str"),
        start_at=dict(type="float"),
        progress_path=dict(type="path"),
        progress_interval=dict(type="float", default=10.0),
        result_path=dict(type="path"),
        metrics_urls=dict(type="list", elements="str", default=[]),
        metrics_interval=dict(type="float", default=10.0),
    )
    options.update(
        rooms=dict(type="int"), participants=dict(type="int"), publishers=dict(type="int"),
        video_publishers=dict(type="int"), audio_publishers=dict(type="int"), resolution=dict(type="str"),
        codec=dict(type="str", choices=list(CODECS)), simulcast=dict(type="bool"),
        join_rate=dict(type="float"), duration=dict(type="float"),
    )
    return options


def fail(module, msg, result=None):
    """Fail without the API secret in the message; with a result, write it to result_path first."""
    msg = redact(msg, [module.params["api_secret"]])
    result_path = module.params["result_path"]
    if result is not None and result_path:
        try:
            write_atomic(result_path, json.dumps(result, sort_keys=True))
        except OSError as e:
            msg += "; cannot write result_path: %s" % e
    module.fail_json(msg=msg, **({"result": result} if result is not None else {}))


def host_plan(module):
    """This host's share of the plan (a slice of plan.split)."""
    params = module.params
    preset = params["preset"] or ("smoke" if params["mode"] == "smoke" else "initial")
    if params["mode"] == "smoke" and preset != "smoke":
        fail(module, "mode=smoke runs the smoke preset: leave preset unset (or use mode=run)")
    try:
        plan = build_plan(preset, scale=params["scale"], **dict((k, params[k]) for k in PLAN_FIELDS))
        if not 0 <= params["host_index"] < max(1, params["hosts_total"]):
            raise PlanError("host_index must be from 0 to hosts_total - 1 (%d), got %d"
                            % (params["hosts_total"] - 1, params["host_index"]))
        if not params["room_prefix"] or not all(c.isalnum() or c in "-_" for c in params["room_prefix"]):
            raise PlanError("room_prefix must be letters, digits, '-' or '_', got %r" % params["room_prefix"])
        if params["progress_interval"] <= 0 or params["metrics_interval"] <= 0:
            raise PlanError("progress_interval and metrics_interval must be above 0")
        plan_slice = split(plan, params["hosts_total"], prefix=params["room_prefix"])[params["host_index"]]
    except PlanError as e:
        fail(module, str(e))
    return plan_slice


def start_time(module):
    """start_at, or now; refused when too far ahead or behind."""
    now = time.time()
    start_at = module.params["start_at"] if module.params["start_at"] is not None else now
    if start_at > now + MAX_AHEAD:
        fail(module, "start_at is %.0f s in the future; at most %d s ahead is accepted" % (start_at - now, MAX_AHEAD))
    if start_at < now - MAX_BEHIND:
        fail(module, "start_at is %.0f s in the past; give a start in the future (or at most %d s ago)"
             % (now - start_at, MAX_BEHIND))
    return start_at


def open_rooms(module, plan_slice, summary, host, start_at):
    """One API call first, so a wrong URL or secret fails within seconds: CreateRoom for each room of
    this host (get-or-create), ListRooms in check mode or when this host has no room."""
    params = module.params
    client = LiveKitClient.from_params(params)
    try:
        if module.check_mode:
            client.call("RoomService", "ListRooms", {"names": plan_slice["room_names"]})
        else:
            for room in plan_slice["room_names"] or []:
                client.call("RoomService", "CreateRoom", {
                    "name": room, "empty_timeout": params["empty_timeout"],
                    "departure_timeout": min(params["empty_timeout"], 10)})
            if not plan_slice["room_names"]:
                client.call("RoomService", "ListRooms", {"names": []})
    except LiveKitError as e:
        msg = redact(e, [params["api_secret"]])
        fail(module, msg, None if module.check_mode else empty_result(host, params["engine"], summary, start_at, [msg]))


def run_job(module, plan_slice, host, start_at):
    params = module.params
    sampler = Sampler(params["metrics_urls"], interval=params["metrics_interval"],
                      validate_certs=params["validate_certs"], ca_path=params["ca_path"])
    job = Job(params["url"], params["api_key"], params["api_secret"], plan_slice, start_at, host,
              progress_path=params["progress_path"], progress_interval=params["progress_interval"],
              lk_path=params["lk_path"], module=module, loadgen_path=params["loadgen_path"])
    try:
        result = run(params["engine"], job, sampler)
    except RunError as e:
        fail(module, str(e), e.result)
    return result


def save(module, result):
    result_path = module.params["result_path"]
    if result_path:
        try:
            write_atomic(result_path, json.dumps(result, sort_keys=True))
        except OSError as e:
            fail(module, "cannot write result_path %s: %s" % (result_path, e), result)


def check_result(module, result, summary):
    """Fail a smoke run without media both ways, or a run where nobody joined; warn about the rest."""
    p = result["participants"]
    if module.params["mode"] == "smoke":
        found = smoke_problems(result, summary)
        if found:
            fail(module, "smoke test failed: %s" % "; ".join(found), result)
    elif p["planned"] and not p["connected"]:
        fail(module, "none of the %d participants of this host could join: %s"
             % (p["planned"], result["errors"][0] if result["errors"] else "no error reported"), result)
    if p["failed"]:
        module.warn("%d of %d participants failed to join (see result.errors)" % (p["failed"], p["planned"]))
    if not result["complete"]:
        module.warn("the run did not complete: the result is partial (see result.errors)")


def main():
    module = livekit_module(argument_spec())
    host = module.params["host_name"] or socket.gethostname()
    plan_slice = host_plan(module)
    start_at = start_time(module)
    missing = ENGINES[module.params["engine"]].missing(host, module.params, plan_slice)
    if missing:
        fail(module, missing)
    summary = result_plan(plan_slice)
    open_rooms(module, plan_slice, summary, host, start_at)
    if module.check_mode:
        module.exit_json(changed=False, plan=summary, members=plan_slice["members"],
                         expected_subscriptions=plan_slice["expected_subscriptions"])
    result = run_job(module, plan_slice, host, start_at)
    save(module, result)
    check_result(module, result, summary)
    module.exit_json(changed=False, result=result)


if __name__ == "__main__":
    main()
