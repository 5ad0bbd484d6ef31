#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: egress
short_description: Start and stop recordings and live streams (egress) of LiveKit rooms
version_added: 0.1.0
description:
  - Starts a room composite egress (the whole room mixed by a headless browser, to a file, live
    streams and/or HLS segments) or a track egress (one track, unmixed, to a file or a websocket),
    or stops an egress by its id.
  - An egress is started only when no running egress (starting or active) of the same O(kind) exists
    for the same room (and, for O(kind=track), the same track); otherwise the running one is
    returned unchanged.
  - Starting needs an egress worker (C(livekit-egress)) connected to the same Redis as the server.
    Without one, the server tries for about 20 seconds and answers 503 "no response from servers";
    the module then fails at once with a message saying so. A start call therefore waits at least
    45 seconds for the answer, whatever O(timeout) says, and is never retried (O(retries) does not
    apply to it), so that one task never starts two egresses.
  - Stream URLs (O(stream_urls), O(websocket_url)) carry the stream key; results and messages show
    them cut after the host, for example C(rtmp://live.example.com/********).
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.connection
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.ACTIONGROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  state:
    description:
      - V(started) starts an egress of O(room_name) unless one of the same kind is running.
      - V(stopped) stops the egress O(egress_id). An egress that is ending or has ended is left
        unchanged; an unknown id is an error.
    type: str
    choices: [started, stopped]
    default: started
  kind:
    description:
      - V(room_composite) records or streams the whole room. Takes O(layout), O(audio_only),
        O(video_only) and one or more of O(file), O(stream_urls), O(segments).
      - V(track) exports one track without transcoding. Takes O(track_id) and one of O(file) or
        O(websocket_url).
    type: str
    choices: [room_composite, track]
    default: room_composite
  room_name:
    description:
      - The room to record. It must be active. Required with O(state=started).
    type: str
  layout:
    description:
      - Layout of a room composite, for example V(grid), V(speaker) or V(single-speaker). The egress
        worker's default when omitted.
    type: str
  audio_only:
    description:
      - Record only the audio of a room composite.
    type: bool
    default: false
  video_only:
    description:
      - Record only the video of a room composite.
    type: bool
    default: false
  track_id:
    description:
      - Sid of the track to export (O(kind=track)), for example V(TR_AMkp3xYfQ8wE).
    type: str
  file:
    description:
      - Write a file on the egress worker (or its configured storage).
    type: dict
    suboptions:
      filepath:
        description:
          - Path of the file; may use the egress templates such as C({room_name}) and C({time}).
        type: str
        required: true
  stream_urls:
    description:
      - Live stream destinations of a room composite, all V(rtmp://) / V(rtmps://) or all V(srt://).
      - These URLs contain the stream key; they are never shown in results or messages.
    type: list
    elements: str
  segments:
    description:
      - HLS segments of a room composite.
    type: dict
    suboptions:
      filename_prefix:
        description: Path prefix of the segment files.
        type: str
        required: true
      playlist_name:
        description: Name of the playlist file, for example V(index.m3u8).
        type: str
      segment_duration:
        description: Seconds per segment (the worker's default is 4).
        type: int
  websocket_url:
    description:
      - Send the raw track to this websocket (O(kind=track) only). Treated as a secret like O(stream_urls).
    type: str
  egress_id:
    description:
      - Id of the egress to stop (V(EG_...)). Required with O(state=stopped).
    type: str
seealso:
  - module: rtcstack.livekit.egress_info
  - module: rtcstack.livekit.room
notes:
  - LiveKit's egress workers are separate services (C(livekit-egress)), usually run as containers
    with Chrome, GStreamer and PulseAudio. This module only asks the server to start or stop one.
"""

EXAMPLES = r"""
- name: Record a room to a file (connection set once for the play)
  module_defaults:
    group/rtcstack.livekit.livekit:
      url: https://livekit.example.com
      api_key: "{{ livekit_api_key }}"
      api_secret: "{{ livekit_api_secret }}"
  block:
    - name: Start recording town-hall (does nothing when a recording is running)
      rtcstack.livekit.egress:
        room_name: town-hall
        layout: speaker
        file:
          filepath: "recordings/{room_name}-{time}.mp4"
      register: recording

    - name: Stream it too
      rtcstack.livekit.egress:
        room_name: town-hall
        stream_urls:
          - "rtmps://live.example.com/app/{{ stream_key }}"
      no_log: true

    - name: Export one microphone track as a file
      rtcstack.livekit.egress:
        kind: track
        room_name: town-hall
        track_id: TR_AMkp3xYfQ8wE
        file:
          filepath: "tracks/{track_id}.ogg"

    - name: Stop the recording
      rtcstack.livekit.egress:
        state: stopped
        egress_id: "{{ recording.egress.egress_id }}"
"""

RETURN = r"""
egress:
  description:
    - The egress as the server returns it, with upload credentials masked and stream URLs cut
      after the host. Empty in check mode when an egress would be started.
  returned: always
  type: dict
  sample:
    egress_id: EG_Tg7bYqZzLk2P
    room_id: RM_PUpSyFrvrjGt
    room_name: town-hall
    status: EGRESS_ACTIVE
    room_composite:
      room_name: town-hall
      layout: speaker
      stream_outputs:
        - protocol: RTMP
          urls: ["rtmps://live.example.com/********"]
actions:
  description: What was done.
  returned: always
  type: list
  elements: dict
  contains:
    egress_id:
      description: Id of the egress (empty in check mode for a start).
      type: str
    action:
      description: One of V(started), V(stopped), V(unchanged).
      type: str
  sample:
    - egress_id: EG_Tg7bYqZzLk2P
      action: started
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitError
from ansible_collections.rtcstack.livekit.plugins.module_utils._egress import (
    RUNNING,
    list_egress,
    mask_url,
    redact,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import (
    client_for,
    drop_none,
    livekit_module,
    run,
)

START_TIMEOUT = 45.0  # without a worker the server answers 503 only after ~20 s of its own retries
NO_WORKER = ("no egress worker answered: starting an egress needs a running livekit-egress connected to the "
             "same Redis as this livekit-server, with capacity left (the server answered 503 unavailable "
             "\"no response from servers\")")
COMPOSITE_ONLY = ("layout", "stream_urls", "segments")
TRACK_ONLY = ("track_id", "websocket_url")
STREAM_PROTOCOLS = {"rtmp": "RTMP", "rtmps": "RTMP", "srt": "SRT"}


def stream_output(urls):
    protocols = set(STREAM_PROTOCOLS.get(u.split("://", 1)[0].lower()) for u in urls)
    if None in protocols or len(protocols) != 1:
        raise ValueError("stream_urls must all be rtmp:// or rtmps://, or all srt://; got %s"
                         % ", ".join(mask_url(u) for u in urls))
    return {"protocol": protocols.pop(), "urls": urls}


def start_request(p):
    """(method, body) of the start call; ValueError for options that do not fit ``kind``."""
    if p["kind"] == "track":
        stray = [o for o in COMPOSITE_ONLY if p[o]] + [o for o in ("audio_only", "video_only") if p[o]]
        if stray:
            raise ValueError("kind=track does not take %s" % ", ".join(stray))
        if bool(p["file"]) == bool(p["websocket_url"]):
            raise ValueError("kind=track needs exactly one of file or websocket_url")
        body = {"room_name": p["room_name"], "track_id": p["track_id"]}
        if p["file"]:
            body["file"] = {"filepath": p["file"]["filepath"]}
        else:
            body["websocket_url"] = p["websocket_url"]
        return "StartTrackEgress", body
    stray = [o for o in TRACK_ONLY if p[o]]
    if stray:
        raise ValueError("kind=room_composite does not take %s" % ", ".join(stray))
    if not (p["file"] or p["stream_urls"] or p["segments"]):
        raise ValueError("kind=room_composite needs at least one output: file, stream_urls or segments")
    if p["audio_only"] and p["video_only"]:
        raise ValueError("audio_only and video_only cannot both be true")
    body = {"room_name": p["room_name"], "layout": p["layout"] or "",
            "audio_only": p["audio_only"], "video_only": p["video_only"]}
    if p["file"]:
        body["file_outputs"] = [{"filepath": p["file"]["filepath"]}]
    if p["stream_urls"]:
        body["stream_outputs"] = [stream_output(p["stream_urls"])]
    if p["segments"]:
        body["segment_outputs"] = [drop_none(p["segments"])]
    return "StartRoomCompositeEgress", body


def same_kind(info, p):
    if info.get("status") not in RUNNING:
        return False
    if p["kind"] == "track":
        return (info.get("track") or {}).get("track_id") == p["track_id"]
    return bool(info.get("room_composite"))


def summary(info):
    if not info:
        return {}
    return dict((k, info.get(k)) for k in ("egress_id", "room_name", "status"))


def start(module, client):
    p = module.params
    method, body = start_request(p)
    running = [i for i in list_egress(client, room_name=p["room_name"], active=True) if same_kind(i, p)]
    if running:
        return running[0], {"egress_id": running[0]["egress_id"], "action": "unchanged"}, {}, {}
    after = {"room_name": p["room_name"], "kind": p["kind"]}
    if module.check_mode:
        return {}, {"egress_id": "", "action": "started"}, {}, after
    client.timeout = max(client.timeout, START_TIMEOUT)
    client.retries = 0  # a start is not idempotent: never send it twice
    try:
        info = client.call("Egress", method, body, retry_unavailable=False)
    except LiveKitError as e:
        if e.code == "unavailable":
            raise LiveKitError(NO_WORKER, code=e.code, status=e.status) from None
        message = str(e)
        for url in (p["stream_urls"] or []) + [p["websocket_url"] or ""]:
            if url:
                message = message.replace(url, mask_url(url))
        if e.code == "not_found":
            message += "; an egress records an active room: create the room or wait until participants join"
        raise LiveKitError(message, code=e.code, status=e.status) from None
    after.update(summary(info))
    return info, {"egress_id": info.get("egress_id", ""), "action": "started"}, {}, after


def stop(module, client):
    egress_id = module.params["egress_id"]
    found = list_egress(client, egress_id=egress_id)
    if not found:
        raise LiveKitError("egress %r does not exist on this server (ListEgress does not know it)" % egress_id)
    current = found[0]
    action = {"egress_id": egress_id, "action": "unchanged"}
    if current.get("status") not in RUNNING:
        return current, action, {}, {}
    action["action"] = "stopped"
    if module.check_mode:
        return dict(current, status="EGRESS_ENDING"), action, summary(current), dict(
            summary(current), status="EGRESS_ENDING")
    try:
        info = client.call("Egress", "StopEgress", {"egress_id": egress_id})
    except LiveKitError as e:
        if e.code != "failed_precondition":  # "egress with status ... cannot be stopped": it ended meanwhile
            raise
        info = (list_egress(client, egress_id=egress_id) or [current])[0]
        action["action"] = "unchanged"
        return info, action, {}, {}
    return info, action, summary(current), summary(info)


def main():
    module = livekit_module(
        dict(
            state=dict(type="str", choices=["started", "stopped"], default="started"),
            kind=dict(type="str", choices=["room_composite", "track"], default="room_composite"),
            room_name=dict(type="str"),
            layout=dict(type="str"),
            audio_only=dict(type="bool", default=False),
            video_only=dict(type="bool", default=False),
            track_id=dict(type="str"),
            file=dict(type="dict", options=dict(filepath=dict(type="str", required=True))),
            stream_urls=dict(type="list", elements="str", no_log=True),
            segments=dict(type="dict", options=dict(
                filename_prefix=dict(type="str", required=True),
                playlist_name=dict(type="str"),
                segment_duration=dict(type="int"),
            )),
            websocket_url=dict(type="str", no_log=True),
            egress_id=dict(type="str"),
        ),
        required_if=[("state", "started", ["room_name"]), ("state", "stopped", ["egress_id"]),
                     ("kind", "track", ["track_id"])],
    )
    client = client_for(module)
    action = start if module.params["state"] == "started" else stop
    info, done, before, after = run(module, lambda: action(module, client))
    result = dict(changed=done["action"] != "unchanged", egress=redact(info), actions=[done])
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
