#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sip_info
short_description: List the SIP trunks and dispatch rules of a LiveKit server
version_added: 0.1.0
description:
  - Lists inbound trunks, outbound trunks and dispatch rules, all of them or those named in O(names).
  - Trunk passwords (C(auth_password)) are masked.
  - An object that does not exist is simply not in the result; the module never fails because of it.
  - Needs a LiveKit server with Redis.
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.connection
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.INFO_MODULE
  - rtcstack.livekit.attributes.ACTIONGROUP
options:
  kinds:
    description:
      - What to list, with one list call per kind. All three when omitted.
    type: list
    elements: str
    choices: [inbound_trunks, outbound_trunks, dispatch_rules]
  names:
    description:
      - Only the objects with these names. All objects when omitted.
    type: list
    elements: str
seealso:
  - module: rtcstack.livekit.sip_inbound_trunk
  - module: rtcstack.livekit.sip_outbound_trunk
  - module: rtcstack.livekit.sip_dispatch_rule
"""

EXAMPLES = r"""
- name: Everything SIP on the server
  rtcstack.livekit.sip_info:
    url: https://livekit.example.com
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
  register: sip

- name: One trunk and its rules
  rtcstack.livekit.sip_info:
    kinds: [inbound_trunks, dispatch_rules]
    names: [provider-in, lobby]
  register: provider
"""

RETURN = r"""
inbound_trunks:
  description: The inbound trunks found, as the server returns them, C(auth_password) masked.
  returned: when O(kinds) includes V(inbound_trunks)
  type: list
  elements: dict
  sample:
    - sip_trunk_id: ST_fXeTnwfopKJo
      name: provider-in
      numbers: ["+15550100"]
      allowed_addresses: ["192.0.2.0/24"]
      auth_username: livekit
      auth_password: "********"
outbound_trunks:
  description: The outbound trunks found, as the server returns them, C(auth_password) masked.
  returned: when O(kinds) includes V(outbound_trunks)
  type: list
  elements: dict
  sample:
    - sip_trunk_id: ST_Gwt7ooKDSmsV
      name: provider-out
      address: sip.provider.example
      transport: SIP_TRANSPORT_TLS
      numbers: ["+15550100"]
      auth_username: livekit
      auth_password: "********"
dispatch_rules:
  description: The dispatch rules found, as the server returns them.
  returned: when O(kinds) includes V(dispatch_rules)
  type: list
  elements: dict
  sample:
    - sip_dispatch_rule_id: SDR_jZnukSBQMswF
      name: lobby
      rule:
        dispatch_rule_direct:
          room_name: lobby
          pin: ""
      trunk_ids: [ST_fXeTnwfopKJo]
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import info_main, mask
from ansible_collections.rtcstack.livekit.plugins.module_utils._sip import LIST_CALLS, list_sip


def find(client, params):
    names = params["names"]
    found = {}
    for kind in LIST_CALLS:
        if kind in (params["kinds"] or LIST_CALLS):
            found[kind] = [mask(i, ("auth_password",)) for i in list_sip(client, kind) if names is None or i.get("name") in names]
    return found


def main():
    info_main(dict(
        kinds=dict(type="list", elements="str", choices=list(LIST_CALLS)),
        names=dict(type="list", elements="str"),
    ), None, find)


if __name__ == "__main__":
    main()
