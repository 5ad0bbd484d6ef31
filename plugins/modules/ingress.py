#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ingress
short_description: Create, update and delete ingresses (RTMP, WHIP and URL inputs) on a LiveKit server
version_added: 0.1.0
description:
  - Declares one ingress (O(name)) or many (O(ingresses)) on a LiveKit server through its API. An ingress
    publishes an outside stream (OBS over RTMP, a WHIP client, or a media URL) into a room as a participant.
  - LiveKit gives every new ingress an id and, for RTMP and WHIP, a new stream key, and does not keep names
    unique. This module identifies an ingress by its name; when the server holds several ingresses with
    one declared name, the module fails and lists their ids.
  - An existing ingress is changed in place with UpdateIngress, which keeps its id and stream key.
    O(input_type) and O(input_url) cannot change; the module fails and says to delete the ingress
    (O(state=absent)) and declare it again.
  - UpdateIngress ignores empty strings. When O(room_name), O(participant_identity), O(participant_name)
    or O(participant_metadata) is declared V("") and the server holds a value, the module warns, keeps the
    server's value and lists the field in RV(actions[].unchangeable).
  - The server (not a worker) creates RTMP and WHIP ingresses; it needs Redis. An ingress with
    O(input_type=url) starts pulling at once, so its creation needs a running ingress worker
    (livekit/ingress) on the server's Redis; without one the server answers C(unavailable). The server
    refuses to update an URL ingress.
  - The stream key is a secret. Results show it as C(********) unless O(reveal_stream_key=true).
    Diffs never contain it.
  - The bulk form O(ingresses) reads the server's ingresses with one list call.
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
  name:
    description:
      - Name of the ingress; the module finds the ingress by this name. Required unless O(ingresses) is given.
    type: str
  state:
    description:
      - V(present) creates the ingress or updates it in place; V(absent) deletes it and stops its stream.
    type: str
    choices: [present, absent]
    default: present
  input_type:
    description:
      - Protocol of the input. V(rtmp) and V(whip) make a stream key that encoders push to; V(url) pulls
        from O(input_url).
      - Required to create an ingress. Cannot change on an existing ingress.
    type: str
    choices: [rtmp, whip, url]
  input_url:
    description:
      - Source the worker pulls from when O(input_type=url), with scheme V(http), V(https) or V(srt).
      - Only with O(input_type=url), where it is required. Cannot change on an existing ingress.
      - Named C(url) in the LiveKit API; this module's O(url) is the server's address.
    type: str
  room_name:
    description:
      - Room the stream is published to.
    type: str
  participant_identity:
    description:
      - Identity of the participant that publishes the stream. The server requires it to create an ingress.
    type: str
  participant_name:
    description:
      - Display name of that participant.
    type: str
  participant_metadata:
    description:
      - Metadata of that participant.
    type: str
  enable_transcoding:
    description:
      - Transcode the input. The server's default is V(true) for RTMP and URL inputs, which require it,
        and V(false) for WHIP.
    type: bool
  enabled:
    description:
      - V(false) makes the server refuse streams to this ingress; the ingress and its stream key stay.
      - An ingress created without it is enabled. An URL ingress cannot be disabled.
    type: bool
  audio_preset:
    description:
      - Audio encoding preset. Needs transcoding.
    type: str
    choices: [OPUS_STEREO_96KBPS, OPUS_MONO_64KBS]
  video_preset:
    description:
      - Video encoding preset. Needs transcoding.
    type: str
    choices:
      - H264_720P_30FPS_3_LAYERS
      - H264_1080P_30FPS_3_LAYERS
      - H264_540P_25FPS_2_LAYERS
      - H264_720P_30FPS_1_LAYER
      - H264_1080P_30FPS_1_LAYER
      - H264_720P_30FPS_3_LAYERS_HIGH_MOTION
      - H264_1080P_30FPS_3_LAYERS_HIGH_MOTION
      - H264_540P_25FPS_2_LAYERS_HIGH_MOTION
      - H264_720P_30FPS_1_LAYER_HIGH_MOTION
      - H264_1080P_30FPS_1_LAYER_HIGH_MOTION
  reveal_stream_key:
    description:
      - Return the stream keys in RV(ingress.stream_key) and in the items of RV(ingresses) instead of a mask.
      - The task must then set C(no_log=true), or the keys end up in the output and logs.
    type: bool
    default: false
  ingresses:
    description:
      - Many ingresses in one task. Each item takes the options above except O(reveal_stream_key)
        (O(name) is required in each).
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the ingress.
        type: str
        required: true
      state:
        description: V(present) or V(absent).
        type: str
        choices: [present, absent]
        default: present
      input_type:
        description: V(rtmp), V(whip) or V(url); required to create.
        type: str
        choices: [rtmp, whip, url]
      input_url:
        description: Source URL of an V(url) input.
        type: str
      room_name:
        description: Room the stream is published to.
        type: str
      participant_identity:
        description: Identity of the publishing participant; required to create.
        type: str
      participant_name:
        description: Display name of that participant.
        type: str
      participant_metadata:
        description: Metadata of that participant.
        type: str
      enable_transcoding:
        description: Transcode the input.
        type: bool
      enabled:
        description: V(false) refuses streams to this ingress.
        type: bool
      audio_preset:
        description: Audio encoding preset.
        type: str
        choices: [OPUS_STEREO_96KBPS, OPUS_MONO_64KBS]
      video_preset:
        description: Video encoding preset.
        type: str
        choices:
          - H264_720P_30FPS_3_LAYERS
          - H264_1080P_30FPS_3_LAYERS
          - H264_540P_25FPS_2_LAYERS
          - H264_720P_30FPS_1_LAYER
          - H264_1080P_30FPS_1_LAYER
          - H264_720P_30FPS_3_LAYERS_HIGH_MOTION
          - H264_1080P_30FPS_3_LAYERS_HIGH_MOTION
          - H264_540P_25FPS_2_LAYERS_HIGH_MOTION
          - H264_720P_30FPS_1_LAYER_HIGH_MOTION
          - H264_1080P_30FPS_1_LAYER_HIGH_MOTION
notes:
  - RV(ingress.url) is where encoders publish to. For RTMP and WHIP it is the C(rtmp_base_url) or
    C(whip_base_url) of the C(ingress:) block in the server's configuration, and V("") when the server
    has no such block.
seealso:
  - module: rtcstack.livekit.ingress_info
  - module: rtcstack.livekit.room
"""

EXAMPLES = r"""
- name: Declare the ingresses of an event (connection set once for the play)
  module_defaults:
    group/rtcstack.livekit.livekit:
      url: https://livekit.example.com
      api_key: "{{ livekit_api_key }}"
      api_secret: "{{ livekit_api_secret }}"
  block:
    - name: An RTMP input for the stage camera
      rtcstack.livekit.ingress:
        name: stage-obs
        input_type: rtmp
        room_name: town-hall
        participant_identity: stage
        participant_name: Stage camera

    - name: Many ingresses in one task, one list call
      rtcstack.livekit.ingress:
        ingresses:
          - name: speaker-1
            input_type: whip
            room_name: town-hall
            participant_identity: speaker-1
          - name: backup-feed
            input_type: rtmp
            room_name: town-hall
            participant_identity: backup
            enabled: false
          - name: old-feed
            state: absent

    - name: Hand the stream key to the encoder's operator (keep it out of logs)
      rtcstack.livekit.ingress:
        name: stage-obs
        reveal_stream_key: true
      no_log: true
      register: stage_obs

    - name: Write the encoder settings for the operator
      ansible.builtin.copy:
        dest: /root/stage-obs.txt
        mode: "0600"
        content: |
          server: {{ stage_obs.ingress.url }}
          key: {{ stage_obs.ingress.stream_key }}
      no_log: true
"""

RETURN = r"""
ingress:
  description:
    - The ingress as the server returns it (single form), with C(stream_key) masked unless
      O(reveal_stream_key=true). Empty when the ingress is absent.
  returned: when O(name) is given
  type: dict
  contains:
    ingress_id:
      description: Id the server gave the ingress (C(IN_...)); empty in check mode for a new ingress.
      type: str
    name:
      description: Name of the ingress.
      type: str
    stream_key:
      description:
        - Key encoders use with RV(ingress.url) (RTMP, WHIP); C(********) unless O(reveal_stream_key=true);
          empty for an URL input.
      type: str
    url:
      description:
        - Where encoders publish to (RTMP, WHIP), or the source of an URL input. See the notes.
      type: str
    input_type:
      description: V(RTMP_INPUT), V(WHIP_INPUT) or V(URL_INPUT).
      type: str
    state:
      description: State of the stream, for example C(status=ENDPOINT_PUBLISHING) while it is live.
      type: dict
  sample:
    ingress_id: IN_qwsoNNiJhtzV
    name: stage-obs
    stream_key: "********"
    url: rtmp://ingress.example.com/x
    input_type: RTMP_INPUT
    enable_transcoding: true
    room_name: town-hall
    participant_identity: stage
    participant_name: Stage camera
    participant_metadata: ""
    reusable: true
    state:
      status: ENDPOINT_INACTIVE
ingresses:
  description: The declared ingresses that exist after the task (bulk form), like RV(ingress).
  returned: when O(ingresses) is given
  type: list
  elements: dict
actions:
  description: What was done to each declared ingress.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the ingress.
      type: str
    action:
      description: One of V(created), V(updated), V(deleted), V(unchanged).
      type: str
    fields:
      description: The fields an update changed.
      type: list
      elements: str
      returned: when action is V(updated)
    unchangeable:
      description: Declared fields that differ and that UpdateIngress cannot change (empty strings).
      type: list
      elements: str
      returned: when such fields exist
  sample:
    - name: stage-obs
      action: updated
      fields: [enabled, participant_name]
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitError
from ansible_collections.rtcstack.livekit.plugins.module_utils._ingress import list_ingresses
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import STATE_OPTION, _Reconciler, reconciler_main

INPUT_TYPES = {"rtmp": "RTMP_INPUT", "whip": "WHIP_INPUT", "url": "URL_INPUT"}
OPTION_OF_TYPE = dict((v, k) for k, v in INPUT_TYPES.items())
PRESETS = {"audio_preset": "audio", "video_preset": "video"}
AUDIO_PRESETS = ["OPUS_STEREO_96KBPS", "OPUS_MONO_64KBS"]
VIDEO_PRESETS = [
    "H264_720P_30FPS_3_LAYERS", "H264_1080P_30FPS_3_LAYERS", "H264_540P_25FPS_2_LAYERS",
    "H264_720P_30FPS_1_LAYER", "H264_1080P_30FPS_1_LAYER", "H264_720P_30FPS_3_LAYERS_HIGH_MOTION",
    "H264_1080P_30FPS_3_LAYERS_HIGH_MOTION", "H264_540P_25FPS_2_LAYERS_HIGH_MOTION",
    "H264_720P_30FPS_1_LAYER_HIGH_MOTION", "H264_1080P_30FPS_1_LAYER_HIGH_MOTION",
]
# UpdateIngress skips these when they are empty.
TEXT_FIELDS = ("room_name", "participant_identity", "participant_name", "participant_metadata")
INGRESS_FIELDS = ("input_type", "input_url") + TEXT_FIELDS + (
    "enable_transcoding", "enabled", "audio_preset", "video_preset")
INGRESS_OPTIONS = dict(
    state=STATE_OPTION,
    input_type=dict(type="str", choices=sorted(INPUT_TYPES)),
    input_url=dict(type="str"),
    room_name=dict(type="str"),
    participant_identity=dict(type="str"),
    participant_name=dict(type="str"),
    participant_metadata=dict(type="str"),
    enable_transcoding=dict(type="bool"),
    enabled=dict(type="bool"),
    audio_preset=dict(type="str", choices=AUDIO_PRESETS),
    video_preset=dict(type="str", choices=VIDEO_PRESETS),
)
RECREATE = "delete the ingress (state=absent) and declare it again; it gets a new id and stream key"


def request(desired):
    """The API fields of option-style ``desired`` values."""
    body = {}
    for field, value in desired.items():
        if field == "input_type":
            body["input_type"] = INPUT_TYPES[value]
        elif field == "input_url":
            body["url"] = value
        elif field in PRESETS:
            body[PRESETS[field]] = {"preset": value}
        else:
            body[field] = value
    return body


class _Ingresses(_Reconciler):
    kind = "ingress"
    plural = "ingresses"
    id_field = "ingress_id"
    fields = INGRESS_FIELDS
    secret_fields = ("stream_key",)
    immutable_fields = ("input_type", "input_url")
    immutable_fails = True

    def __init__(self, module, client):
        _Reconciler.__init__(self, module, client)
        if module.params["reveal_stream_key"]:
            self.secret_fields = ()

    def fetch(self, names):
        wanted = set(names)
        return [i for i in list_ingresses(self.client) if i.get("name") in wanted]

    def read(self, obj, field):
        if field == "input_type":
            return OPTION_OF_TYPE.get(obj.get("input_type"), obj.get("input_type"))
        if field == "input_url":
            return obj.get("url") if obj.get("input_type") == "URL_INPUT" else None
        if field in PRESETS:
            return (obj.get(PRESETS[field]) or {}).get("preset")
        if field == "enabled":
            # The server leaves `enabled` out of an ingress created without it: enabled.
            return obj.get("enabled") is not False
        return obj.get(field)

    def check(self, plan):
        for spec, current in plan:
            if spec.get("state") == "absent":
                continue
            name, desired = spec["name"], self.desired_of(spec)
            input_type = desired.get("input_type") or (current and self.read(current, "input_type"))
            if "input_url" in desired and input_type != "url":
                raise LiveKitError("ingress %r: input_url is only used with input_type=url" % name)
            if current is None:
                if not input_type:
                    raise LiveKitError("ingress %r: input_type (rtmp, whip or url) is required to create it" % name)
                if input_type == "url" and not desired.get("input_url"):
                    raise LiveKitError("ingress %r: input_url is required to create it with input_type=url" % name)
                continue
            changes = self.changes(current, desired)
            frozen = sorted(f for f in changes if f in self.immutable_fields)
            if frozen:
                self._immutable(name, current, changes, frozen)
            if changes and not current.get("reusable", True):
                raise LiveKitError("ingress %r: the server cannot update an ingress with input_type=url "
                                   "(declared changes: %s); %s" % (name, ", ".join(sorted(changes)), RECREATE))

    def unchangeable(self, current, field, value):
        if field in TEXT_FIELDS and value == "":
            return ("%s is %r on the server, '' declared: UpdateIngress ignores empty values, so the server "
                    "keeps it. Leave the option out, or %s" % (field, current.get(field), RECREATE))
        return None

    def immutable_hint(self):
        return "LiveKit cannot change this on an existing ingress: " + RECREATE

    def simulate(self, name, current, desired):
        return _Reconciler.simulate(self, name, current, request(desired))

    def create(self, name, desired):
        body = dict(request(desired), name=name)
        try:
            # Not retried after a 503 or a timeout: a create the server did finish would leave two
            # ingresses with one name.
            return self.client.call("Ingress", "CreateIngress", body, retry_unavailable=False)
        except LiveKitError as e:
            if e.code == "unavailable" and desired.get("input_type") == "url":
                raise LiveKitError(
                    "%s. An ingress with input_type=url starts at once: it needs a running ingress worker "
                    "(livekit/ingress) on the server's Redis" % e, e.code, e.status) from e
            raise

    def update(self, current, desired, changes):
        body = dict(request(changes), ingress_id=current["ingress_id"])
        if changes.get("enable_transcoding") and set(changes) & set(PRESETS):
            # The server checks presets against the stored transcoding flag before it applies the new
            # one (a WHIP ingress refuses presets while transcoding is off): switch it on first.
            self.client.call("Ingress", "UpdateIngress", {"ingress_id": current["ingress_id"],
                                                          "enable_transcoding": True})
        return self.client.call("Ingress", "UpdateIngress", body)

    def delete(self, current):
        self.client.call("Ingress", "DeleteIngress", {"ingress_id": current["ingress_id"]})


def main():
    reconciler_main(_Ingresses, INGRESS_OPTIONS, "ingresses",
                    extra_options=dict(reveal_stream_key=dict(type="bool", default=False)))


if __name__ == "__main__":
    main()
