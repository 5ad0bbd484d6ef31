#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sip_outbound_trunk
short_description: Create, update and delete outbound SIP trunks on a LiveKit server
version_added: 0.1.0
description:
  - Declares one outbound SIP trunk (O(name)) or many (O(trunks)) on a LiveKit server through its API.
    An outbound trunk says where the LiveKit SIP service sends the calls it places (the provider's
    address, the transport, the caller numbers and the credentials).
  - LiveKit identifies a trunk by an id (C(ST_...)) and allows several trunks with one name. This
    module identifies a trunk by its name; it fails when the server has several trunks with the
    declared name.
  - An existing trunk is changed in place with UpdateSIPOutboundTrunk. Options you leave out keep the
    value the server has.
  - O(auth_password) is compared with the server's value and never shown in results, diffs or
    messages.
  - Needs a LiveKit server with Redis; no SIP service is needed to manage trunks.
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
      - Name of the trunk. Required unless O(trunks) is given.
    type: str
  state:
    description:
      - V(present) creates the trunk or updates it; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  address:
    description:
      - Host name or IP address of the SIP provider, optionally with a port (V(sip.example.com:5061)).
      - Required to create a trunk.
    type: str
  transport:
    description:
      - Transport of the calls to O(address). V(auto) lets the SIP service choose.
    type: str
    choices: [auto, udp, tcp, tls]
  numbers:
    description:
      - Numbers the calls are placed from. Compared as a set. Required (non-empty) to create a trunk.
    type: list
    elements: str
  auth_username:
    description:
      - User name for the provider's digest authentication.
    type: str
  auth_password:
    description:
      - Password for O(auth_username). Compared with the server's value; never returned.
    type: str
  destination_country:
    description:
      - Two-letter country code (ISO 3166-1 alpha-2) the calls go to, for region pinning.
    type: str
  metadata:
    description:
      - Free-form metadata, given to the participants the trunk creates.
    type: str
  headers:
    description:
      - SIP headers added to the INVITE requests, as a dict of name to value.
    type: dict
  media_encryption:
    description:
      - Whether media is encrypted (SRTP).
    type: str
    choices: [disable, allow, require]
  trunks:
    description:
      - Many trunks in one task. Each item takes the options above (O(name) is required in each).
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the trunk.
        type: str
        required: true
      state:
        description: V(present) or V(absent).
        type: str
        choices: [present, absent]
        default: present
      address:
        description: Host name or IP address of the SIP provider, optionally with a port.
        type: str
      transport:
        description: Transport of the calls.
        type: str
        choices: [auto, udp, tcp, tls]
      numbers:
        description: Numbers the calls are placed from.
        type: list
        elements: str
      auth_username:
        description: User name for the provider's digest authentication.
        type: str
      auth_password:
        description: Password for O(trunks[].auth_username); never returned.
        type: str
      destination_country:
        description: Two-letter country code the calls go to.
        type: str
      metadata:
        description: Free-form metadata.
        type: str
      headers:
        description: SIP headers added to the INVITE requests.
        type: dict
      media_encryption:
        description: Whether media is encrypted (SRTP).
        type: str
        choices: [disable, allow, require]
seealso:
  - module: rtcstack.livekit.sip_inbound_trunk
  - module: rtcstack.livekit.sip_info
"""

EXAMPLES = r"""
- name: Declare the outbound side of a SIP provider (connection set once for the play)
  module_defaults:
    group/rtcstack.livekit.livekit:
      url: https://livekit.example.com
      api_key: "{{ livekit_api_key }}"
      api_secret: "{{ livekit_api_secret }}"
  block:
    - name: One trunk
      rtcstack.livekit.sip_outbound_trunk:
        name: provider-out
        address: sip.provider.example
        transport: tls
        numbers: ["+15550100"]
        auth_username: livekit
        auth_password: "{{ sip_provider_password }}"
        media_encryption: require

    - name: Many trunks in one task, one list call
      rtcstack.livekit.sip_outbound_trunk:
        trunks:
          - name: backup-out
            address: 198.51.100.7:5060
            transport: udp
            numbers: ["+15550300"]
          - name: old-provider-out
            state: absent
"""

RETURN = r"""
trunk:
  description:
    - The trunk as the server returns it (single form), O(auth_password) masked. Empty when the
      trunk is absent.
  returned: when O(name) is given
  type: dict
  sample:
    sip_trunk_id: ST_Gwt7ooKDSmsV
    name: provider-out
    address: sip.provider.example
    transport: SIP_TRANSPORT_TLS
    numbers: ["+15550100"]
    auth_username: livekit
    auth_password: "********"
    destination_country: ""
    headers: {}
    media_encryption: SIP_MEDIA_ENCRYPT_REQUIRE
    metadata: ""
trunks:
  description: The declared trunks that exist after the task (bulk form), passwords masked.
  returned: when O(trunks) is given
  type: list
  elements: dict
actions:
  description: What was done to each declared trunk.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the trunk.
      type: str
    action:
      description: One of V(created), V(updated), V(deleted), V(unchanged).
      type: str
    fields:
      description: The fields an update changed (names only, never values).
      type: list
      elements: str
      returned: when action is V(updated)
  sample:
    - name: provider-out
      action: updated
      fields: [address, transport]
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import reconciler_main
from ansible_collections.rtcstack.livekit.plugins.module_utils._sip import TRUNK_OPTIONS, _Trunks

TRANSPORTS = {
    "auto": "SIP_TRANSPORT_AUTO",
    "udp": "SIP_TRANSPORT_UDP",
    "tcp": "SIP_TRANSPORT_TCP",
    "tls": "SIP_TRANSPORT_TLS",
}
OUTBOUND_OPTIONS = dict(
    TRUNK_OPTIONS,
    address=dict(type="str"),
    transport=dict(type="str", choices=list(TRANSPORTS)),
    destination_country=dict(type="str"),
)


class _OutboundTrunks(_Trunks):
    label = "outbound trunk"
    fields = tuple(f for f in OUTBOUND_OPTIONS if f != "state")
    unordered_fields = ("numbers",)
    enums = dict(_Trunks.enums, transport=TRANSPORTS)
    list_kind = "outbound_trunks"
    create_call = ("CreateSIPOutboundTrunk", "trunk")
    update_call = "UpdateSIPOutboundTrunk"


def main():
    reconciler_main(_OutboundTrunks, OUTBOUND_OPTIONS, "trunks")


if __name__ == "__main__":
    main()
