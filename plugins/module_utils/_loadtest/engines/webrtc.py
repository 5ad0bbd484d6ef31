# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``webrtc`` load test engine: real WebRTC participants with the ``livekit`` real-time SDK.

Private to this collection: the interface may change without notice.

This is the only place in the collection where an event loop runs: a load generator keeps many
participants connected at once, and the SDK is asyncio based. ``WebrtcEngine.run`` (and
``run_webrtc``) is synchronous: it runs its own loop with ``asyncio.run`` and returns the result
dict (docs/load-testing.md).

One participant's failure never ends the run: it is counted and written to ``errors``.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import socket
import struct
import time

try:
    from livekit import rtc
    HAS_LIVEKIT = True
except ImportError:
    rtc = None
    HAS_LIVEKIT = False

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest import SCHEMA
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.base import Engine, ws_url
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import parse_resolution, result_plan
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import redact, write_atomic
from ansible_collections.rtcstack.livekit.plugins.module_utils._token import mint_token, token_claims

CONNECT_TIMEOUT = 20.0    # seconds one participant may take to join
JOIN_SLACK = 30.0         # join budget: participants / join_rate + this
DEADLINE_SLACK = 60.0     # hard deadline: start_at + join budget + duration + this
SAMPLE_RATE = 48000
AUDIO_FRAME_MS = 20
TONE_HZ = 400             # 20 ms at 48 kHz is 8 whole periods: one frame repeats without a click
MAX_ERRORS = 100
FRAMES = 15               # pre-rendered video frames, reused by every publisher of this host
# Encoder caps by picture height, after the operators' simulcast layers (bits/s, frames/s).
BITRATES = ((180, 150000, 15), (240, 250000, 15), (360, 500000, 15), (540, 900000, 25),
            (720, 1500000, 25), (100000, 3000000, 25))


def encoding_for(height):
    for limit, bitrate, fps in BITRATES:
        if height <= limit:
            return bitrate, fps
    return BITRATES[-1][1:]


def video_frames(width, height, count=FRAMES):
    """``count`` I420 frames: a static noise background (some detail to encode), a band of fresh
    noise that differs in every frame and a white bar that moves across, so the encoder always has
    work. Rendered once; every publisher of the host sends the same buffers."""
    rng = random.Random(width * 100003 + height)
    y_size, c_size = width * height, (width // 2) * (height // 2)
    background = bytearray(rng.getrandbits(8) // 2 + 64 for dummy in range(y_size))
    band_rows = max(2, height // 4)
    bar_width = max(2, width // 10)
    frames = []
    for k in range(count):
        y = bytearray(background)
        top = (k * height // count) % max(1, height - band_rows)
        y[top * width:(top + band_rows) * width] = rng.randbytes(band_rows * width)
        x0 = (k * width // count) % (width - bar_width)
        white = b"\xeb" * bar_width
        for row in range(height):
            y[row * width + x0:row * width + x0 + bar_width] = white
        chroma = bytes([128 + (k * 4) % 32]) * c_size
        frames.append(bytes(y) + chroma + bytes([128]) * c_size)
    return frames


def tone_frame(sample_rate=SAMPLE_RATE, ms=AUDIO_FRAME_MS):
    samples = sample_rate * ms // 1000
    pcm = [int(6000 * math.sin(2 * math.pi * TONE_HZ * i / sample_rate)) for i in range(samples)]
    return samples, struct.pack("<%dh" % samples, *pcm)


class _Member:
    """One participant of this host, and what was measured for it."""

    def __init__(self, spec):
        self.identity = spec["identity"]
        self.room_name = spec["room"]
        self.kind = spec["kind"]
        self.room = None
        self.connect_start = None
        self.connected_at = None
        self.failed = False
        self.leaving = False
        self.published_at = {}   # track sid -> when this subscriber learned it was published
        self.subscribed = set()
        self.audio_source = None
        self.video_source = None
        self.tasks = []
        self.stats = dict(bytes=0, packets=0, lost=0, jitter=[], audio=0, video=0, sent=0)

    @property
    def connected(self):
        return self.room is not None and not self.failed and self.room.isconnected()


class WebrtcRun:
    """One generator host's share of a load test (``plan_slice`` from ``plan.split``)."""

    def __init__(self, url, api_key, api_secret, plan_slice, start_at=None, progress_path=None,
                 progress_interval=10.0, host=None):
        self.url = ws_url(url)
        self.api_key = api_key
        self._api_secret = api_secret
        self.plan = plan_slice
        self.members = [_Member(m) for m in plan_slice["members"]]
        self.start_at = float(start_at if start_at is not None else time.time())
        self.progress_path = progress_path
        self.progress_interval = float(progress_interval)
        self.width, self.height = parse_resolution(plan_slice["resolution"])
        self.bitrate, self.fps = encoding_for(self.height)
        n = len(self.members)
        self.join_budget = n / float(plan_slice["join_rate"]) + JOIN_SLACK
        self.hard_deadline = self.start_at + self.join_budget + plan_slice["duration"] + DEADLINE_SLACK
        self.errors = []
        self.dropped_errors = 0
        self.join_ms = []
        self.subscribe_ms = []
        self.tracks_published = 0
        self.codecs_sent = set()
        self.timeline = []
        self._last_sample = None
        self._token_ttl = int(self.hard_deadline - time.time()) + 600
        self._secrets = [s for s in (api_secret,) if s]
        self.result = dict(
            schema=SCHEMA, host=host or socket.gethostname(), engine="webrtc", plan=result_plan(plan_slice),
            start_at=self.start_at, started_at=None, skew_s=None, ended_at=None,
            participants=dict(planned=n, connected=0, failed=0),
            join_ms=self.join_ms, subscribe_ms=self.subscribe_ms, subscribe_from="published_or_joined",
            tracks=dict(published=0, expected_subscriptions=plan_slice.get("expected_subscriptions", 0),
                        subscribed=0),
            bytes_received=0, packets_received=0, packets_lost=0, jitter_ms=[],
            bytes_sent=0, bytes_received_by_kind=dict(audio=0, video=0), video_codecs_sent=[],
            timeline=self.timeline, server_samples=[], errors=self.errors, complete=False)

    # -- errors ----------------------------------------------------------------------------
    def scrub(self, text):
        return redact(text, self._secrets)

    def error(self, message):
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(self.scrub(message))
        else:
            self.dropped_errors += 1

    # -- one participant ---------------------------------------------------------------------
    def token(self, m):
        grants = dict(room_join=True, can_subscribe=True, can_publish=m.kind != "subscriber",
                      can_publish_data=False)
        claims = token_claims(identity=m.identity, room=m.room_name, grants=grants, name=m.identity)
        return mint_token(self.api_key, self._api_secret, claims, ttl=self._token_ttl)

    def _on_published(self, m, publication):
        m.published_at.setdefault(publication.sid, time.time())

    def _on_subscribed(self, m, publication):
        now = time.time()
        if publication.sid in m.subscribed:
            return
        m.subscribed.add(publication.sid)
        since = max(m.connect_start, m.published_at.get(publication.sid, m.connect_start))
        self.subscribe_ms.append(round((now - since) * 1000.0, 1))

    def _on_disconnected(self, m, reason):
        if not m.leaving and not m.failed:
            self.error("%s: disconnected by the server (%s)" % (m.identity, reason))

    async def join(self, m):
        room = rtc.Room()
        m.room = room
        room.on("track_published", lambda publication, participant: self._on_published(m, publication))
        room.on("track_subscribed", lambda track, publication, participant: self._on_subscribed(m, publication))
        room.on("track_subscription_failed",
                lambda participant, sid, err: self.error("%s: subscription to %s failed: %s" % (m.identity, sid, err)))
        room.on("disconnected", lambda reason: self._on_disconnected(m, reason))
        m.connect_start = time.time()
        try:
            options = rtc.RoomOptions(auto_subscribe=m.kind == "subscriber")
            await asyncio.wait_for(room.connect(self.url, self.token(m), options), CONNECT_TIMEOUT)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # one participant's failure is counted, never raised
            m.failed = True
            what = "timed out after %.0f s" % CONNECT_TIMEOUT if isinstance(e, asyncio.TimeoutError) else e
            self.error("%s: join failed: %s" % (m.identity, getattr(e, "message", None) or what))
            return
        m.connected_at = time.time()
        self.join_ms.append(round((m.connected_at - m.connect_start) * 1000.0, 1))
        if m.kind == "subscriber":
            return
        try:
            await self.publish(m)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.error("%s: publish failed: %s" % (m.identity, e))

    async def publish(self, m):
        audio = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=200)
        m.audio_source = audio
        track = rtc.LocalAudioTrack.create_audio_track("microphone", audio)
        await m.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        self.tracks_published += 1
        m.tasks.append(asyncio.ensure_future(self.send_audio(m, audio)))
        if m.kind != "video":
            return
        video = rtc.VideoSource(self.width, self.height)
        track = rtc.LocalVideoTrack.create_video_track("camera", video)
        codec = getattr(rtc.VideoCodec, self.plan["codec"].upper())
        options = rtc.TrackPublishOptions(
            source=rtc.TrackSource.SOURCE_CAMERA, video_codec=codec, simulcast=bool(self.plan["simulcast"]),
            video_encoding=rtc.VideoEncoding(max_bitrate=self.bitrate, max_framerate=float(self.fps)))
        await m.room.local_participant.publish_track(track, options)
        m.video_source = video
        self.tracks_published += 1

    async def send_audio(self, m, source):
        samples, pcm = self._tone
        frame = rtc.AudioFrame(pcm, SAMPLE_RATE, 1, samples)
        while not m.leaving:
            try:
                await source.capture_frame(frame)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not m.leaving:
                    self.error("%s: audio capture stopped: %s" % (m.identity, e))
                return

    async def send_video(self):
        """One ticker for every video publisher of the host: the same pre-rendered frame to each."""
        frames = [rtc.VideoFrame(self.width, self.height, rtc.VideoBufferType.I420, f) for f in self._frames]
        interval = 1.0 / self.fps
        tick = time.monotonic()
        k = 0
        while True:
            frame = frames[k % len(frames)]
            stamp = int(time.monotonic() * 1e6)
            for m in self.members:
                if m.video_source is not None and not m.leaving:
                    try:
                        m.video_source.capture_frame(frame, timestamp_us=stamp)
                    except Exception as e:
                        self.error("%s: video capture stopped: %s" % (m.identity, e))
                        m.video_source = None
            k += 1
            tick += interval
            await asyncio.sleep(max(0.0, tick - time.monotonic()))

    # -- statistics ------------------------------------------------------------------------
    async def read_stats(self, m):
        """Refresh ``m.stats`` from the SDK's session stats (counters are totals since the join)."""
        if not m.connected:
            return
        try:
            stats = await asyncio.wait_for(m.room.get_rtc_stats(), 5.0)
        except asyncio.CancelledError:
            raise
        except Exception:
            return  # a participant leaving mid-call: keep the last values
        total = dict(bytes=0, packets=0, lost=0, jitter=[], audio=0, video=0, sent=0)
        seen = set()
        everything = list(stats.publisher_stats) + list(stats.subscriber_stats)
        mime = dict((s.codec.rtc.id, s.codec.codec.mime_type) for s in everything if s.WhichOneof("stats") == "codec")
        # With one peer connection (the SDK's default against a recent server) the inbound streams
        # are in publisher_stats: read both lists, by stats type, each stats id once.
        for s in everything:
            which = s.WhichOneof("stats")
            if which not in ("inbound_rtp", "outbound_rtp"):
                continue
            item = getattr(s, which)
            if (which, item.rtc.id) in seen:
                continue
            seen.add((which, item.rtc.id))
            if which == "outbound_rtp":
                total["sent"] += item.sent.bytes_sent
                if item.stream.kind == "video" and mime.get(item.stream.codec_id):
                    self.codecs_sent.add(mime[item.stream.codec_id].split("/")[-1].lower())
                continue
            received = item.inbound.bytes_received
            total["bytes"] += received
            total["packets"] += item.received.packets_received
            total["lost"] += max(0, item.received.packets_lost)
            total["jitter"].append(round(item.received.jitter * 1000.0, 3))
            if item.stream.kind in ("audio", "video"):
                total[item.stream.kind] += received
        # Counters never go back: a reconnect starts new transports.
        for key in ("bytes", "packets", "lost", "audio", "video", "sent"):
            total[key] = max(total[key], m.stats[key])
        m.stats = total

    async def sample(self):
        members = [m for m in self.members if m.connected]
        await asyncio.gather(*(self.read_stats(m) for m in members))
        now = time.time()
        totals = dict((k, sum(m.stats[k] for m in self.members)) for k in ("bytes", "packets", "lost"))
        kbps = 0.0
        if self._last_sample is not None:
            last_t, last_bytes = self._last_sample
            if now > last_t:
                kbps = max(0.0, (totals["bytes"] - last_bytes) * 8 / 1000.0 / (now - last_t))
        self._last_sample = (now, totals["bytes"])
        point = dict(t=round(now, 3), connected=len(members), bitrate_kbps=round(kbps, 1),
                     packets_received=totals["packets"], packets_lost=totals["lost"])
        self.timeline.append(point)
        return point

    def write_progress(self, point, phase):
        if not self.progress_path:
            return
        data = dict(point, host=self.result["host"], phase=phase, planned=len(self.members),
                    failed=sum(1 for m in self.members if m.failed), errors=len(self.errors) + self.dropped_errors,
                    start_at=self.start_at, started_at=self.result["started_at"])
        try:
            write_atomic(self.progress_path, json.dumps(data, sort_keys=True))
        except OSError as e:
            self.error("cannot write progress file %s: %s" % (self.progress_path, e))
            self.progress_path = None

    async def progress(self):
        while True:
            await asyncio.sleep(self.progress_interval)
            self.write_progress(await self.sample(), "running")

    # -- the run ---------------------------------------------------------------------------
    async def run(self):
        delay = self.start_at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        started = time.time()
        self.result["started_at"] = round(started, 3)
        self.result["skew_s"] = round(started - self.start_at, 3)
        self._tone = tone_frame()
        if any(m.kind == "video" for m in self.members):
            self._frames = video_frames(self.width, self.height)
            self._background.append(asyncio.ensure_future(self.send_video()))
        self._last_sample = (started, 0)
        self.write_progress(dict(t=round(started, 3), connected=0, bitrate_kbps=0.0, packets_received=0,
                                 packets_lost=0), "joining")
        self._background.append(asyncio.ensure_future(self.progress()))
        rate = float(self.plan["join_rate"])
        joins = []
        for i, m in enumerate(self.members):
            wait = started + i / rate - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            joins.append(asyncio.ensure_future(self.join(m)))
        joined_all = started + len(self.members) / rate
        await asyncio.gather(*joins)
        end = joined_all + float(self.plan["duration"])
        await asyncio.sleep(max(0.0, end - time.time()))

    async def leave(self):
        for task in self._background:
            task.cancel()
        point = await self.sample()
        for m in self.members:
            m.leaving = True
            for task in m.tasks:
                task.cancel()

        async def disconnect(m):
            if m.room is not None and m.room.isconnected():
                try:
                    await asyncio.wait_for(m.room.disconnect(), 5.0)
                except Exception as e:
                    self.error("%s: disconnect failed: %s" % (m.identity, e))
        await asyncio.gather(*(disconnect(m) for m in self.members))
        return point

    async def main(self):
        self._background = []
        complete = False
        try:
            budget = self.hard_deadline - 15.0 - time.time()
            await asyncio.wait_for(self.run(), max(1.0, budget))
            complete = True
        except asyncio.TimeoutError:
            self.error("the run did not end before its hard deadline (start_at + join budget %.0f s + "
                       "duration + %.0f s); results are partial" % (self.join_budget, DEADLINE_SLACK))
        except Exception as e:
            self.error("the engine stopped: %s: %s" % (type(e).__name__, e))
        try:
            point = await asyncio.wait_for(self.leave(), 12.0)
            self.write_progress(point, "done")
        except Exception as e:
            complete = False
            self.error("leaving the rooms did not finish: %s" % (e or type(e).__name__))
        self.finish(complete)

    def finish(self, complete):
        r = self.result
        r["ended_at"] = round(time.time(), 3)
        r["participants"].update(connected=sum(1 for m in self.members if m.connected_at is not None),
                                 failed=sum(1 for m in self.members if m.failed))
        r["tracks"].update(published=self.tracks_published, subscribed=sum(len(m.subscribed) for m in self.members))
        r["bytes_received"] = sum(m.stats["bytes"] for m in self.members)
        r["packets_received"] = sum(m.stats["packets"] for m in self.members)
        r["packets_lost"] = sum(m.stats["lost"] for m in self.members)
        r["jitter_ms"] = [j for m in self.members for j in m.stats["jitter"]]
        r["bytes_sent"] = sum(m.stats["sent"] for m in self.members)
        r["video_codecs_sent"] = sorted(self.codecs_sent)
        r["bytes_received_by_kind"] = dict((k, sum(m.stats[k] for m in self.members)) for k in ("audio", "video"))
        if self.dropped_errors:
            self.errors.append("... and %d more errors" % self.dropped_errors)
        r["complete"] = bool(complete) and r["started_at"] is not None


def run_webrtc(url, api_key, api_secret, plan_slice, start_at=None, progress_path=None, progress_interval=10.0,
               host=None):
    """Run this host's slice and return the result dict. Never raises for a participant's failure."""
    if not HAS_LIVEKIT:
        raise RuntimeError("the webrtc engine needs the livekit Python package (pip install livekit)")
    runner = WebrtcRun(url, api_key, api_secret, plan_slice, start_at=start_at, progress_path=progress_path,
                       progress_interval=progress_interval, host=host)
    asyncio.run(runner.main())
    return runner.result


class WebrtcEngine(Engine):
    """``engine: webrtc``: needs the ``livekit`` package in the Python that runs the module."""

    name = "webrtc"

    def missing(self, host, params=None, plan_slice=None):
        if HAS_LIVEKIT:
            return None
        return ("engine=webrtc needs the livekit Python package (the LiveKit real-time SDK) in the Python that "
                "runs this module on %s: pip install livekit" % host)

    def run(self, job):
        return run_webrtc(job.url, job.api_key, job.api_secret, job.plan_slice, start_at=job.start_at,
                          progress_path=job.progress_path, progress_interval=job.progress_interval, host=job.host)
