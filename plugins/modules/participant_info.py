#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: participant_info
short_description: List the participants of a LiveKit room
version_added: 0.1.0
description:
  - Lists the participants connected to a room, or only the one with O(identity), with their
    tracks, permissions and attributes.
  - A room or participant that does not exist gives an empty list; the module never fails because of it.
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.connection
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.INFO_MODULE
  - rtcstack.livekit.attributes.ACTIONGROUP
options:
  room:
    description:
      - Name of the room.
    type: str
    required: true
  identity:
    description:
      - Only the participant with this identity (one GetParticipant call). All participants when omitted.
    type: str
seealso:
  - module: rtcstack.livekit.participant
  - module: rtcstack.livekit.room_info
"""

EXAMPLES = r"""
- name: Who is in the room
  rtcstack.livekit.participant_info:
    url: https://livekit.example.com
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
    room: town-hall
  register: town_hall

- name: Is alice's microphone muted
  rtcstack.livekit.participant_info:
    room: town-hall
    identity: alice
  register: alice

- name: Show it
  ansible.builtin.debug:
    msg: "{{ alice.participants[0].tracks | selectattr('source', 'eq', 'MICROPHONE') | map(attribute='muted') | list }}"
  when: alice.participants | length > 0
"""

RETURN = r"""
participants:
  description: The participants found, as the server returns them.
  returned: always
  type: list
  elements: dict
  sample:
    - sid: PA_PdAx9PogEm77
      identity: alice
      name: Alice
      state: ACTIVE
      metadata: ""
      attributes:
        role: moderator
      is_publisher: true
      permission:
        can_subscribe: true
        can_publish: true
        can_publish_data: true
        can_publish_sources: []
        hidden: false
        can_update_metadata: false
      tracks:
        - sid: TR_AMkp3xYfQ8wE
          type: AUDIO
          name: microphone
          source: MICROPHONE
          muted: false
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._participant import (
    get_participant,
    list_participants,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import info_main


def find(client, params):
    room, identity = params["room"], params["identity"]
    if identity is None:
        return list_participants(client, room)
    participant = get_participant(client, room, identity)
    return [participant] if participant else []


def main():
    info_main(dict(
        room=dict(type="str", required=True),
        identity=dict(type="str"),
    ), "participants", find)


if __name__ == "__main__":
    main()
