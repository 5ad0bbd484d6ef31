#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: egress_info
short_description: List the egresses (recordings and live streams) of a LiveKit server
version_added: 0.1.0
description:
  - Lists egresses known to the server, all of them or those of O(room_name), one by O(egress_id),
    or only the running ones.
  - Listing needs the server's Redis but no egress worker.
  - An unknown room or egress id gives an empty list; the module never fails because of it.
  - Upload credentials are masked and stream URLs are cut after the host, for example
    C(rtmp://live.example.com/********).
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.connection
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.INFO_MODULE
  - rtcstack.livekit.attributes.ACTIONGROUP
options:
  room_name:
    description:
      - Only the egresses of this room.
    type: str
  egress_id:
    description:
      - Only the egress with this id.
    type: str
  active:
    description:
      - Only egresses that are starting, active or ending.
    type: bool
    default: false
seealso:
  - module: rtcstack.livekit.egress
"""

EXAMPLES = r"""
- name: Running recordings and streams of a room
  rtcstack.livekit.egress_info:
    url: https://livekit.example.com
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
    room_name: town-hall
    active: true
  register: running

- name: Stop them all
  rtcstack.livekit.egress:
    state: stopped
    egress_id: "{{ item.egress_id }}"
  loop: "{{ running.egresses }}"
"""

RETURN = r"""
egresses:
  description: The egresses found, as the server returns them, secrets masked.
  returned: always
  type: list
  elements: dict
  sample:
    - egress_id: EG_Tg7bYqZzLk2P
      room_name: town-hall
      status: EGRESS_COMPLETE
      room_composite:
        room_name: town-hall
        layout: grid
      file_results:
        - filename: recordings/town-hall-2026-01-05T101500.mp4
          duration: "3600000000000"
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._egress import list_egress, redact
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import info_main


def find(client, params):
    return [redact(i) for i in list_egress(client, params["room_name"], params["egress_id"], params["active"])]


def main():
    info_main(dict(
        room_name=dict(type="str"),
        egress_id=dict(type="str"),
        active=dict(type="bool", default=False),
    ), "egresses", find)


if __name__ == "__main__":
    main()
