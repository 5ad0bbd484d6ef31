#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: room_info
short_description: List the active rooms of a LiveKit server
version_added: 0.1.0
description:
  - Lists active rooms, all of them or those named in O(names), optionally with their participants.
  - A room that does not exist is simply not in the result; the module never fails because of it.
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.connection
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.INFO_MODULE
  - rtcstack.livekit.attributes.ACTIONGROUP
options:
  names:
    description:
      - Only these rooms. All active rooms when omitted.
    type: list
    elements: str
  participants:
    description:
      - Add each room's participants under RV(rooms[].participants) (one call per room).
    type: bool
    default: false
seealso:
  - module: rtcstack.livekit.room
  - module: rtcstack.livekit.participant_info
"""

EXAMPLES = r"""
- name: All active rooms
  rtcstack.livekit.room_info:
    url: https://livekit.example.com
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
  register: all_rooms

- name: One room with who is in it
  rtcstack.livekit.room_info:
    names: [town-hall]
    participants: true
  register: town_hall
"""

RETURN = r"""
rooms:
  description: The rooms found, as the server returns them (without TURN credentials).
  returned: always
  type: list
  elements: dict
  contains:
    participants:
      description: The room's participants, as the server returns them.
      returned: when O(participants=true)
      type: list
      elements: dict
  sample:
    - sid: RM_PUpSyFrvrjGt
      name: town-hall
      num_participants: 2
      max_participants: 250
      metadata: ""
      participants:
        - identity: alice
          state: ACTIVE
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._participant import (
    ROOM_HIDDEN_FIELDS,
    list_participants,
    list_rooms,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import info_main


def find(client, params):
    shown = []
    for room in list_rooms(client, params["names"] or []):
        room = dict((k, v) for k, v in room.items() if k not in ROOM_HIDDEN_FIELDS)
        if params["participants"]:
            room["participants"] = list_participants(client, room["name"])
        shown.append(room)
    return shown


def main():
    info_main(dict(
        names=dict(type="list", elements="str"),
        participants=dict(type="bool", default=False),
    ), "rooms", find)


if __name__ == "__main__":
    main()
