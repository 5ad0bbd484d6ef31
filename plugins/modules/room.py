#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: room
short_description: Create, update and delete rooms on a LiveKit server
version_added: 0.1.0
description:
  - Declares one room (O(name)) or many (O(rooms)) on a LiveKit server through its API.
  - LiveKit's CreateRoom is get-or-create and never changes an active room. This module changes
    the metadata of an existing room with UpdateRoomMetadata. When another declared field
    (O(empty_timeout), O(departure_timeout), O(max_participants)) differs on an active room, the
    server cannot change it live, so the module warns and lists the field in RV(actions[].unchangeable).
  - Rooms are ephemeral. The server closes a room after O(empty_timeout) seconds when nobody joins.
  - The bulk form O(rooms) reads every declared room with one list call.
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
      - Name of the room. Required unless O(rooms) is given.
    type: str
  state:
    description:
      - V(present) creates the room or updates its metadata; V(absent) deletes it and disconnects
        its participants.
    type: str
    choices: [present, absent]
    default: present
  empty_timeout:
    description:
      - Seconds the room stays open without participants.
    type: int
  departure_timeout:
    description:
      - Seconds the room stays open after the last participant left.
    type: int
  max_participants:
    description:
      - Largest number of participants; V(0) means no limit.
    type: int
  metadata:
    description:
      - Free-form metadata of the room, sent to every participant.
    type: str
  rooms:
    description:
      - Many rooms in one task. Each item takes the options above (O(name) is required in each).
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the room.
        type: str
        required: true
      state:
        description: V(present) or V(absent).
        type: str
        choices: [present, absent]
        default: present
      empty_timeout:
        description: Seconds the room stays open without participants.
        type: int
      departure_timeout:
        description: Seconds the room stays open after the last participant left.
        type: int
      max_participants:
        description: Largest number of participants; V(0) means no limit.
        type: int
      metadata:
        description: Free-form metadata of the room.
        type: str
seealso:
  - module: rtcstack.livekit.room_info
"""

EXAMPLES = r"""
- name: Declare the rooms of an event (connection set once for the play)
  module_defaults:
    group/rtcstack.livekit.livekit:
      url: https://livekit.example.com
      api_key: "{{ livekit_api_key }}"
      api_secret: "{{ livekit_api_secret }}"
  block:
    - name: One room
      rtcstack.livekit.room:
        name: town-hall
        empty_timeout: 600
        max_participants: 250
        metadata: '{"title": "Town hall"}'

    - name: Many rooms in one task, one list call
      rtcstack.livekit.room:
        rooms:
          - name: breakout-1
            max_participants: 20
          - name: breakout-2
            max_participants: 20
          - name: old-room
            state: absent
"""

RETURN = r"""
room:
  description: The room as the server returns it (single form). Empty when the room is absent.
  returned: when O(name) is given
  type: dict
  sample:
    sid: RM_PUpSyFrvrjGt
    name: town-hall
    empty_timeout: 600
    departure_timeout: 20
    max_participants: 250
    metadata: '{"title": "Town hall"}'
    num_participants: 0
rooms:
  description: The declared rooms that exist after the task (bulk form).
  returned: when O(rooms) is given
  type: list
  elements: dict
actions:
  description: What was done to each declared room.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the room.
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
      description: Declared fields that differ on the active room and that the server cannot change.
      type: list
      elements: str
      returned: when such fields exist
  sample:
    - name: town-hall
      action: updated
      fields: [metadata]
      unchangeable: [max_participants]
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._participant import ROOM_HIDDEN_FIELDS, list_rooms
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import (
    STATE_OPTION,
    _Reconciler,
    reconciler_main,
)

ROOM_OPTIONS = dict(
    state=STATE_OPTION,
    empty_timeout=dict(type="int"),
    departure_timeout=dict(type="int"),
    max_participants=dict(type="int"),
    metadata=dict(type="str"),
)


class _Rooms(_Reconciler):
    kind = "room"
    plural = "rooms"
    id_field = "sid"
    fields = ("empty_timeout", "departure_timeout", "max_participants", "metadata")
    immutable_fields = ("empty_timeout", "departure_timeout", "max_participants")
    hidden_fields = ROOM_HIDDEN_FIELDS

    def fetch(self, names):
        return list_rooms(self.client, names)

    def create(self, name, desired):
        body = dict(desired, name=name)
        return self.client.call("RoomService", "CreateRoom", body)

    def update(self, current, desired, changes):
        body = {"room": current["name"], "metadata": changes["metadata"]}
        return self.client.call("RoomService", "UpdateRoomMetadata", body, room=current["name"])

    def delete(self, current):
        self.client.call("RoomService", "DeleteRoom", {"room": current["name"]})

    def immutable_hint(self):
        return ("LiveKit cannot change these on an active room: delete the room (state=absent) and "
                "declare it again, or wait until it closes")


def main():
    reconciler_main(_Rooms, ROOM_OPTIONS, "rooms")


if __name__ == "__main__":
    main()
