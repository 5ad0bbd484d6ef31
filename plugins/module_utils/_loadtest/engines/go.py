# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``go`` load test engine: ``rtcstack-loadgen`` (tools/loadgen), a small Go program on LiveKit's Go SDK.

Private to this collection: the interface may change without notice. Standard library only.

Like ``lk load-test``: publishers loop clips encoded once when the binary was built (no encoder at run
time), video with simulcast; subscribers do not decode, they count RTP packets and payload bytes and
find lost packets from the sequence numbers. The program reads the job as JSON on stdin (the API
secret only in its environment) and writes JSON lines: ``started``, a ``sample`` every progress
interval, and one ``result`` (or ``fatal``). ``go_result()`` turns those into the result (schema 1).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest import SCHEMA
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.base import Engine, EngineError, ws_url
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import parse_resolution, result_plan
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import redact, write_atomic

CONNECT_TIMEOUT = 20.0
JOIN_SLACK = 30.0
DEADLINE_SLACK = 60.0
KILL_GRACE = 30.0        # after the hard deadline the program is killed
MAX_ERRORS = 100
CODECS = ("vp8", "h264")
FDS_PER_PARTICIPANT = 12  # measured: a signal WebSocket and two peer connections' sockets, with room to spare
FDS_RESERVED = 64
DERIVED = [
    "subscribe_ms: ends at the first RTP packet of the track at the subscriber (not at an SDK event)",
    "bytes_received, bytes_sent: RTP payload bytes (headers and padding not counted), as WebRTC's inbound/outbound-rtp stats",
    "video_codecs_sent: the codec of the clips (encoded when the binary was built; nothing is encoded at run time)",
]


def find_binary(path):
    """The loadgen binary: a path, or a name looked up in PATH; None when it is not there."""
    if os.sep in path:
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    return shutil.which(path)


def fd_problem(participants, limit=None):
    """Why this many participants do not fit the process' open-file limit (Go raises its soft limit to the hard one)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1] if limit is None else limit
    need = participants * FDS_PER_PARTICIPANT + FDS_RESERVED
    if hard != resource.RLIM_INFINITY and need > hard:
        return ("%d participants need about %d open files (%d each), but the open-file limit (nofile, hard) of this "
                "generator is %d: raise it (node_tuning role) or run fewer participants per generator"
                % (participants, need, FDS_PER_PARTICIPANT, hard))
    return None


def job_input(job, deadline):
    """The JSON document the program reads on stdin. No secret: that goes in its environment."""
    plan = job.plan_slice
    height = parse_resolution(plan["resolution"])[1]
    return dict(url=ws_url(job.url), api_key=job.api_key, members=plan["members"], start_at=job.start_at,
                join_rate=float(plan["join_rate"]), duration=float(plan["duration"]), height=height,
                codec=plan["codec"], simulcast=bool(plan["simulcast"]), progress_interval=float(job.progress_interval),
                deadline=deadline - 15.0, connect_timeout=CONNECT_TIMEOUT,
                token_ttl=max(600.0, deadline - time.time() + 600.0))


def hard_deadline(plan_slice, start_at):
    """start_at + join budget (participants / join rate + 30 s) + duration + 60 s, as the webrtc engine."""
    return (start_at + len(plan_slice["members"]) / float(plan_slice["join_rate"]) + JOIN_SLACK
            + float(plan_slice["duration"]) + DEADLINE_SLACK)


def timeline_point(sample, last):
    """A timeline point from a ``sample`` line; ``last`` is (t, bytes) of the previous point or of the start."""
    kbps = 0.0
    if last is not None and sample["t"] > last[0]:
        kbps = max(0.0, (sample["bytes_received"] - last[1]) * 8 / 1000.0 / (sample["t"] - last[0]))
    return dict(t=round(sample["t"], 3), connected=sample["connected"], bitrate_kbps=round(kbps, 1),
                packets_received=sample["packets_received"], packets_lost=sample["packets_lost"])


def _ms(later, earlier):
    return round((later - earlier) * 1000.0, 1)


def go_result(raw, plan_slice, host, start_at, timeline, errors=()):
    """The result (schema 1) from the program's ``result`` line."""
    members = raw.get("members") or []
    subs = raw.get("subscriptions") or []
    joined = [m for m in members if m.get("connected_at")]
    received = [s for s in subs if s.get("first_packet_at")]
    by_kind = dict(audio=0, video=0)
    for s in subs:
        if s.get("kind") in by_kind:
            by_kind[s["kind"]] += s.get("bytes", 0)
    video_sent = any(m["kind"] == "video" and m.get("tracks_published", 0) >= 2 for m in members)
    all_errors = list(errors) + list(raw.get("errors") or [])
    if len(all_errors) > MAX_ERRORS:
        all_errors = all_errors[:MAX_ERRORS] + ["... and %d more errors" % (len(all_errors) - MAX_ERRORS)]
    started_at = raw.get("started_at") or None
    process = raw.get("process") or {}
    return dict(
        schema=SCHEMA, host=host, engine="go", plan=result_plan(plan_slice), start_at=start_at,
        started_at=round(started_at, 3) if started_at else None,
        skew_s=round(started_at - start_at, 3) if started_at else None,
        ended_at=round(raw["ended_at"], 3) if raw.get("ended_at") else round(time.time(), 3),
        participants=dict(planned=len(plan_slice["members"]), connected=len(joined),
                          failed=sum(1 for m in members if m.get("failed"))),
        join_ms=[_ms(m["connected_at"], m["connect_start"]) for m in joined],
        subscribe_ms=[_ms(s["first_packet_at"], s["start"]) for s in received],
        subscribe_from="published_or_joined",
        tracks=dict(published=sum(m.get("tracks_published", 0) for m in members),
                    expected_subscriptions=plan_slice.get("expected_subscriptions", 0), subscribed=len(subs)),
        bytes_received=sum(s.get("bytes", 0) for s in subs),
        packets_received=sum(s.get("packets", 0) for s in subs),
        packets_lost=sum(s.get("lost", 0) for s in subs),
        jitter_ms=[s.get("jitter_ms", 0.0) for s in received],
        bytes_sent=sum(m.get("bytes_sent", 0) for m in members),
        bytes_received_by_kind=by_kind,
        video_codecs_sent=[plan_slice["codec"]] if video_sent else [],
        timeline=list(timeline), server_samples=[], errors=all_errors,
        complete=bool(raw.get("complete")) and started_at is not None,
        not_measured=[], derived=list(DERIVED),
        # extra: the program's own CPU and peak RSS, and the SDK's track-subscribed moments
        engine_process=dict(cpu_seconds=round(process.get("cpu_seconds", 0.0), 3),
                            max_rss_bytes=int(process.get("max_rss_bytes", 0))),
        track_subscribed_ms=[_ms(s["subscribed_at"], s["start"]) for s in subs if s.get("subscribed_at")],
        loss_by_track=loss_by_track(subs),
    )


def loss_by_track(subs):
    """{track: {subscriptions, lost_min, lost}} over this host's subscriptions: lost_min is the loss every one of
    them saw (the report's shared loss: before the SFU's copy to each subscriber)."""
    tracks = {}
    for s in subs:
        t = tracks.setdefault(s["track"], dict(subscriptions=0, lost_min=None, lost=0))
        lost = int(s.get("lost", 0))
        t["subscriptions"] += 1
        t["lost"] += lost
        t["lost_min"] = lost if t["lost_min"] is None else min(t["lost_min"], lost)
    return tracks


class _Progress:
    """Reads the program's JSON lines; keeps the timeline and rewrites the progress file."""

    def __init__(self, job, host, planned, secrets):
        self.job = job
        self.host = host
        self.planned = planned
        self.secrets = secrets
        self.timeline = []
        self.started_at = None
        self.last = None
        self.result = None
        self.fatal = None
        self.errors = []
        self.progress_path = job.progress_path

    def write(self, point, phase, failed=0):
        if not self.progress_path:
            return
        data = dict(point, host=self.host, phase=phase, planned=self.planned, failed=failed, errors=len(self.errors),
                    start_at=self.job.start_at, started_at=self.started_at)
        try:
            write_atomic(self.progress_path, json.dumps(data, sort_keys=True))
        except OSError as e:
            self.errors.append("cannot write progress file %s: %s" % (self.progress_path, e))
            self.progress_path = None

    def line(self, text):
        try:
            data = json.loads(text)
        except ValueError:
            return
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "started":
            self.started_at = round(data["t"], 3)
            self.last = (data["t"], 0)
            self.write(dict(t=self.started_at, connected=0, bitrate_kbps=0.0, packets_received=0, packets_lost=0),
                       "joining")
        elif kind == "sample":
            point = timeline_point(data, self.last)
            self.last = (data["t"], data["bytes_received"])
            self.timeline.append(point)
            self.write(point, "running", data.get("failed", 0))
        elif kind == "result":
            self.result = data
        elif kind == "fatal":
            self.fatal = redact(str(data.get("error")), self.secrets)


def run_go(job, binary):
    """Run the program for ``job`` (engines.base.Job) and return its result (schema 1)."""
    plan = job.plan_slice
    if plan["codec"] not in CODECS:
        raise EngineError("the go engine sends vp8 or h264 (its clips), not %s: use codec vp8 or h264, or engine webrtc"
                          % plan["codec"])
    deadline = hard_deadline(plan, job.start_at)
    secrets = [job.api_secret]
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("LIVEKIT_"))
    env["LIVEKIT_API_SECRET"] = job.api_secret
    progress = _Progress(job, job.host, len(plan["members"]), secrets)
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env)
        killer = threading.Timer(max(1.0, deadline + KILL_GRACE - time.time()), proc.kill)
        killer.daemon = True
        killer.start()
        try:
            proc.stdin.write(json.dumps(job_input(job, deadline)).encode())
            proc.stdin.close()
            for text in proc.stdout:
                progress.line(text)
            proc.wait()
        finally:
            killer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr.seek(0)
        tail = redact(stderr.read()[-2000:].decode("utf-8", "replace").strip(), secrets)
    if progress.result is None:
        why = progress.fatal or ("it exited with status %s without a result%s"
                                 % (proc.returncode, "; stderr: " + tail[-800:] if tail else ""))
        raise EngineError("rtcstack-loadgen: %s" % why)
    result = go_result(progress.result, plan, job.host, job.start_at, progress.timeline, progress.errors)
    result["errors"] = [redact(e, secrets) for e in result["errors"]]
    if progress.timeline:
        progress.write(progress.timeline[-1], "done", result["participants"]["failed"])
    return result


class GoEngine(Engine):
    """``engine: go``: the rtcstack-loadgen binary (``loadgen_path``) built by scripts/build-loadgen.sh."""

    name = "go"

    def missing(self, host, params=None, plan_slice=None):
        path = (params or {}).get("loadgen_path") or "rtcstack-loadgen"
        if find_binary(path) is None:
            return ("engine=go needs the rtcstack-loadgen binary (scripts/build-loadgen.sh builds it; the load_test role "
                    "installs it) on %s: not found as %r (set loadgen_path)" % (host, path))
        if plan_slice is not None:
            return fd_problem(len(plan_slice["members"]))
        return None

    def run(self, job):
        binary = find_binary(job.loadgen_path)
        if binary is None:
            raise EngineError("rtcstack-loadgen not found as %r on this generator" % job.loadgen_path)
        return run_go(job, binary)
