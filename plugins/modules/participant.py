#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: participant
short_description: Change or remove a participant connected to a LiveKit room
version_added: 0.1.0
description:
  - Changes the metadata, display name, attributes and permissions of a participant that is
    connected to a room, mutes its published tracks, or removes it from the room.
  - Participants join a room with a token; this module cannot create one. With O(state=present) a
    participant that is not connected is an error.
  - Only the declared fields are compared. O(attributes) and O(permission) compare only the keys
    given; other keys stay as they are on the server.
  - LiveKit's UpdateParticipant ignores an empty O(metadata) or O(name), so neither can be cleared;
    the module warns and lists the field in RV(actions[].unchangeable).
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
  room:
    description:
      - Name of the room the participant is connected to.
    type: str
    required: true
  identity:
    description:
      - Identity of the participant (the subject of its token).
    type: str
    required: true
  state:
    description:
      - V(present) changes the connected participant; it fails when the participant is not connected.
      - V(absent) removes the participant from the room (RemoveParticipant). The participant can join
        again while its token is valid. A participant that is not connected is left unchanged.
    type: str
    choices: [present, absent]
    default: present
  metadata:
    description:
      - Free-form metadata of the participant, sent to everyone in the room.
    type: str
  name:
    description:
      - Display name of the participant.
    type: str
  attributes:
    description:
      - Attributes of the participant (string keys and values). Only these keys are compared and set;
        other attributes on the server are kept.
      - A key set to an empty string V("") deletes that attribute.
      - Values that are not strings are converted with Python's C(str()).
    type: dict
  permission:
    description:
      - What the participant may do. Only the given keys are compared; the others keep their value on
        the server.
      - Taking away O(permission.can_publish) or a source from O(permission.can_publish_sources)
        unpublishes the participant's affected tracks at once.
    type: dict
    suboptions:
      can_subscribe:
        description: May subscribe to the tracks of others.
        type: bool
      can_publish:
        description: May publish tracks.
        type: bool
      can_publish_data:
        description: May send data messages.
        type: bool
      can_publish_sources:
        description:
          - The sources the participant may publish. An empty list allows every source (when
            O(permission.can_publish) is true).
        type: list
        elements: str
        choices: [camera, microphone, screen_share, screen_share_audio]
      hidden:
        description: Hidden from the other participants.
        type: bool
      can_update_metadata:
        description: May change its own metadata, name and attributes.
        type: bool
  tracks:
    description:
      - Mute or unmute published tracks (MutePublishedTrack). Each item selects tracks by exactly one
        of O(tracks[].sid), O(tracks[].name) or O(tracks[].source); every matching track is set.
      - A selector that matches no published track is an error.
      - The server unmutes a track only when its configuration sets C(room.enable_remote_unmute);
        otherwise only the participant itself can unmute, and O(tracks[].muted=false) on a muted
        track fails.
    type: list
    elements: dict
    suboptions:
      sid:
        description: Track sid, for example V(TR_AMkp3xYfQ8wE).
        type: str
      name:
        description: Track name given by the publisher.
        type: str
      source:
        description: Source of the track.
        type: str
        choices: [camera, microphone, screen_share, screen_share_audio]
      muted:
        description: Whether the track is muted.
        type: bool
        required: true
seealso:
  - module: rtcstack.livekit.participant_info
  - module: rtcstack.livekit.room
"""

EXAMPLES = r"""
- name: Make a speaker a moderator
  rtcstack.livekit.participant:
    url: https://livekit.example.com
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
    room: town-hall
    identity: alice
    name: Alice (moderator)
    attributes:
      role: moderator
      raised_hand: ""
    permission:
      can_publish: true
      can_publish_sources: [camera, microphone, screen_share]

- name: Mute a participant's microphone and stop further publishing
  rtcstack.livekit.participant:
    room: town-hall
    identity: bob
    tracks:
      - source: microphone
        muted: true
    permission:
      can_publish: false

- name: Remove a participant from the room
  rtcstack.livekit.participant:
    room: town-hall
    identity: mallory
    state: absent
"""

RETURN = r"""
participant:
  description:
    - The participant as the server returns it after the task (in check mode, as it would be).
    - Empty when the participant is absent.
  returned: always
  type: dict
  sample:
    sid: PA_PdAx9PogEm77
    identity: alice
    name: Alice (moderator)
    state: ACTIVE
    metadata: ""
    attributes:
      role: moderator
    permission:
      can_subscribe: true
      can_publish: true
      can_publish_data: true
      can_publish_sources: [CAMERA, MICROPHONE, SCREEN_SHARE]
      hidden: false
      can_update_metadata: false
    tracks:
      - sid: TR_AMkp3xYfQ8wE
        type: AUDIO
        name: microphone
        source: MICROPHONE
        muted: true
actions:
  description: What was done to the participant.
  returned: always
  type: list
  elements: dict
  contains:
    identity:
      description: Identity of the participant.
      type: str
    action:
      description: One of V(updated), V(deleted), V(unchanged).
      type: str
    fields:
      description: The fields that were changed (V(tracks) for mutes).
      type: list
      elements: str
      returned: when action is V(updated)
    unchangeable:
      description: Declared fields that the server cannot set to the declared value.
      type: list
      elements: str
      returned: when such fields exist
  sample:
    - identity: alice
      action: updated
      fields: [attributes, permission]
"""

import copy

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitError
from ansible_collections.rtcstack.livekit.plugins.module_utils._participant import get_participant, list_rooms
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import (
    STATE_OPTION,
    _Reconciler,
    drop_none,
    reconciler_main,
)

SOURCES = ["camera", "microphone", "screen_share", "screen_share_audio"]
PERMISSION_OPTIONS = dict(
    can_subscribe=dict(type="bool"),
    can_publish=dict(type="bool"),
    can_publish_data=dict(type="bool"),
    can_publish_sources=dict(type="list", elements="str", choices=SOURCES),
    hidden=dict(type="bool"),
    can_update_metadata=dict(type="bool"),
)
TRACK_OPTIONS = dict(
    sid=dict(type="str"),
    name=dict(type="str"),
    source=dict(type="str", choices=SOURCES),
    muted=dict(type="bool", required=True),
)
NOT_CONNECTED_HINT = ("participants join a room with a token; this module changes a participant that is "
                      "connected, or removes one with state=absent")
UNMUTE_HINT = ("the server unmutes a track only when its config sets room.enable_remote_unmute: true; "
               "otherwise only the participant can unmute itself")


def read_permission(participant, key):
    value = (participant.get("permission") or {}).get(key)
    if key == "can_publish_sources":
        return sorted(s.lower() for s in value or [])
    return value


def matching_tracks(participant, spec):
    tracks = participant.get("tracks") or []
    key, value = next((k, spec[k]) for k in ("sid", "name", "source") if spec.get(k) is not None)
    if key == "source":
        found = [t for t in tracks if (t.get("source") or "").lower() == value]
    else:
        found = [t for t in tracks if t.get(key) == value]
    if not found:
        published = ", ".join("%s (name %s, source %s)" % (t["sid"], t.get("name"), t.get("source", "").lower())
                              for t in tracks) or "none"
        raise LiveKitError("participant %r publishes no track with %s %r; published tracks: %s"
                           % (participant["identity"], key, value, published))
    return found


def track_view(track, muted=None):
    return {"sid": track["sid"], "name": track.get("name"), "source": track.get("source"),
            "muted": track.get("muted") if muted is None else muted}


class _Participants(_Reconciler):
    """A connected participant of the room O(room), named by its identity. Participants join with a
    token: the API cannot create one, so a declared participant that is not connected is an error.
    Attributes and permission compare only the declared keys; tracks are muted or unmuted."""

    kind = "participant"
    name_key = "identity"
    fields = ("metadata", "name", "attributes", "permission", "tracks")

    def __init__(self, module, client):
        _Reconciler.__init__(self, module, client)
        self.room = module.params["room"]

    def fetch(self, names):
        return [p for p in (get_participant(self.client, self.room, n) for n in names) if p]

    def check(self, plan):
        for spec, current in plan:
            if current is None and spec["state"] == "present":
                raise not_connected(self.client, self.room, spec["identity"])

    def normalize(self, field, value):
        if value is None:
            return value
        if field == "attributes":
            return dict((str(k), v if isinstance(v, str) else str(v)) for k, v in value.items())
        if field == "permission":
            value = drop_none(value)
            if "can_publish_sources" in value:
                value["can_publish_sources"] = sorted(set(value["can_publish_sources"]))
        return value

    def changes(self, current, desired):
        changes = dict((f, desired[f]) for f in ("metadata", "name")
                       if f in desired and desired[f] != (current.get(f) or ""))
        have = current.get("attributes") or {}
        changes["attributes"] = dict((k, v) for k, v in desired.get("attributes", {}).items() if have.get(k, "") != v)
        changes["permission"] = dict((k, v) for k, v in desired.get("permission", {}).items()
                                     if read_permission(current, k) != v)
        changes["tracks"] = [(t, spec["muted"]) for spec in desired.get("tracks", [])
                             for t in matching_tracks(current, spec) if t.get("muted") != spec["muted"]]
        return dict((f, v) for f, v in changes.items() if v or f in ("metadata", "name"))

    def unchangeable(self, current, field, value):
        if field in ("metadata", "name") and value == "":
            return ("LiveKit ignores an empty %s in UpdateParticipant, so it cannot be cleared; it stays %r"
                    % (field, current.get(field)))
        return None

    def view(self, obj):
        return {"identity": obj["identity"], "state": obj.get("state")}

    def diff_of(self, current, obj, changes):
        before, after = {}, {}
        for field in ("metadata", "name"):
            if field in changes:
                before[field], after[field] = current.get(field) or "", changes[field]
        if "attributes" in changes:
            have = current.get("attributes") or {}
            before["attributes"] = dict((k, have[k]) for k in changes["attributes"] if k in have)
            after["attributes"] = dict((k, v) for k, v in changes["attributes"].items() if v)
        if "permission" in changes:
            before["permission"] = dict((k, read_permission(current, k)) for k in changes["permission"])
            after["permission"] = changes["permission"]
        if "tracks" in changes:
            before["tracks"] = [track_view(t) for t, muted in changes["tracks"]]
            after["tracks"] = [track_view(t, muted) for t, muted in changes["tracks"]]
        return before, after

    def simulate(self, name, current, desired):
        # Called for updates only (a participant is never created): ``desired`` are the changes.
        changes = desired
        obj = copy.deepcopy(current)
        update = update_body(current, changes)
        obj.update((k, update[k]) for k in ("metadata", "name", "permission") if k in update)
        attributes = obj.setdefault("attributes", {})
        for key, value in update.get("attributes", {}).items():
            if value:
                attributes[key] = value
            else:
                attributes.pop(key, None)
        muted = dict((t["sid"], m) for t, m in changes.get("tracks", []))
        for track in obj.get("tracks") or []:
            track["muted"] = muted.get(track["sid"], track.get("muted"))
        return obj

    def update(self, current, desired, changes):
        identity = current["identity"]
        # Mute first: a permission change may unpublish the tracks.
        for track, muted in changes.get("tracks", []):
            mute(self.client, self.room, identity, track, muted)
        update = update_body(current, changes)
        if update:
            self.client.call("RoomService", "UpdateParticipant", dict(update, room=self.room, identity=identity),
                             room=self.room)
        return get_participant(self.client, self.room, identity) or {}

    def delete(self, current):
        body = {"room": self.room, "identity": current["identity"]}
        self.client.call("RoomService", "RemoveParticipant", body, room=self.room)


def update_body(current, changes):
    """The UpdateParticipant fields of ``changes`` ("" in attributes deletes a key on the server)."""
    update = dict((k, changes[k]) for k in ("metadata", "name", "attributes") if k in changes)
    if "permission" in changes:
        # UpdateParticipant replaces the whole permission: send the server's values with the changes.
        full = dict(current.get("permission") or {}, **changes["permission"])
        full["can_publish_sources"] = [s.upper() for s in full.get("can_publish_sources") or []]
        update["permission"] = full
    return update


def not_connected(client, room, identity):
    rooms = list_rooms(client, [room])
    where = "room %r does not exist" % room if not rooms else "participant %r is not connected to room %r" % (
        identity, room)
    return LiveKitError("%s: %s" % (where, NOT_CONNECTED_HINT))


def mute(client, room, identity, track, muted):
    body = {"room": room, "identity": identity, "track_sid": track["sid"], "muted": muted}
    try:
        client.call("RoomService", "MutePublishedTrack", body, room=room)
    except LiveKitError as e:
        if e.code == "failed_precondition" and not muted:
            raise LiveKitError("%s; %s" % (e, UNMUTE_HINT), code=e.code, status=e.status) from None
        raise


def main():
    reconciler_main(_Participants, dict(
        state=STATE_OPTION,
        metadata=dict(type="str"),
        name=dict(type="str"),
        attributes=dict(type="dict"),
        permission=dict(type="dict", options=PERMISSION_OPTIONS),
        tracks=dict(type="list", elements="dict", options=TRACK_OPTIONS,
                    mutually_exclusive=[("sid", "name", "source")], required_one_of=[("sid", "name", "source")]),
    ), extra_options=dict(room=dict(type="str", required=True), identity=dict(type="str", required=True)))


if __name__ == "__main__":
    main()
