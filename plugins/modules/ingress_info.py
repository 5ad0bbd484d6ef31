#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ingress_info
short_description: List the ingresses of a LiveKit server
version_added: 0.1.0
description:
  - Lists ingresses, all of them or those that match every filter given (O(names), O(room_name),
    O(ingress_id)), sorted by name.
  - An ingress that does not exist is simply not in the result; the module never fails because of it.
  - Stream keys are secrets and show as C(********) unless O(reveal_stream_key=true).
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
      - Only the ingresses with these names. All ingresses when omitted or empty.
    type: list
    elements: str
  room_name:
    description:
      - Only the ingresses that publish to this room.
    type: str
  ingress_id:
    description:
      - Only the ingress with this id (C(IN_...)).
    type: str
  reveal_stream_key:
    description:
      - Return the stream keys instead of a mask. The task must then set C(no_log=true).
    type: bool
    default: false
seealso:
  - module: rtcstack.livekit.ingress
"""

EXAMPLES = r"""
- name: All ingresses
  rtcstack.livekit.ingress_info:
    url: https://livekit.example.com
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
  register: all_ingresses

- name: The ingresses of one room that are publishing now
  rtcstack.livekit.ingress_info:
    room_name: town-hall
  register: town_hall

- name: Publishing now
  ansible.builtin.debug:
    msg: "{{ town_hall.ingresses | selectattr('state.status', 'eq', 'ENDPOINT_PUBLISHING') | map(attribute='name') }}"

- name: One ingress with its stream key (keep it out of logs)
  rtcstack.livekit.ingress_info:
    names: [stage-obs]
    reveal_stream_key: true
  no_log: true
  register: stage_obs
"""

RETURN = r"""
ingresses:
  description:
    - The ingresses found, as the server returns them, with C(stream_key) masked unless
      O(reveal_stream_key=true).
    - C(url) is where encoders publish to (V("") for RTMP and WHIP when the server has no C(ingress:)
      block), or the source of an URL input.
  returned: always
  type: list
  elements: dict
  sample:
    - ingress_id: IN_qwsoNNiJhtzV
      name: stage-obs
      stream_key: "********"
      url: rtmp://ingress.example.com/x
      input_type: RTMP_INPUT
      enable_transcoding: true
      room_name: town-hall
      participant_identity: stage
      participant_name: Stage camera
      reusable: true
      state:
        status: ENDPOINT_PUBLISHING
        room_id: RM_PUpSyFrvrjGt
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._ingress import list_ingresses
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import info_main, mask


def find(client, params):
    names, room_name = params["names"], params["room_name"]
    found = []
    for item in list_ingresses(client, room_name, params["ingress_id"]):
        if names and item.get("name") not in names:
            continue
        if room_name and item.get("room_name") != room_name:
            continue
        found.append(item if params["reveal_stream_key"] else mask(item, ("stream_key",)))
    return sorted(found, key=lambda i: (i.get("name") or "", i.get("ingress_id") or ""))


def main():
    info_main(dict(
        names=dict(type="list", elements="str"),
        room_name=dict(type="str"),
        ingress_id=dict(type="str"),
        reveal_stream_key=dict(type="bool", default=False),
    ), "ingresses", find)


if __name__ == "__main__":
    main()
