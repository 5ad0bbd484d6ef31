#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sip_inbound_trunk
short_description: Create, update and delete inbound SIP trunks on a LiveKit server
version_added: 0.1.0
description:
  - Declares one inbound SIP trunk (O(name)) or many (O(trunks)) on a LiveKit server through its API.
    An inbound trunk says which calls the LiveKit SIP service accepts (to which numbers, from which
    addresses and callers, with which credentials).
  - LiveKit identifies a trunk by an id (C(ST_...)) and allows several trunks with one name. This
    module identifies a trunk by its name; it fails when the server has several trunks with the
    declared name.
  - An existing trunk is changed in place with UpdateSIPInboundTrunk. Options you leave out keep the
    value the server has.
  - The server refuses two inbound trunks that take calls to the same number from the same callers.
    LiveKit checks this when a trunk is created but not when a trunk is updated; this module checks
    every create and update of the task, in order, before the first change, and fails with one
    message naming both trunks.
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
  numbers:
    description:
      - Phone numbers this trunk takes calls to. Compared as a set.
      - The server needs at least one of O(numbers), O(allowed_addresses) or O(auth_username) with
        O(auth_password).
    type: list
    elements: str
  allowed_addresses:
    description:
      - IP addresses or CIDR ranges calls may come from. Compared as a set. Empty allows every address.
    type: list
    elements: str
  allowed_numbers:
    description:
      - Caller numbers this trunk accepts. Compared as a set. Empty accepts every caller.
      - Two trunks may share a number in O(numbers) when their O(allowed_numbers) differ.
    type: list
    elements: str
  auth_username:
    description:
      - User name callers must authenticate with (digest authentication).
    type: str
  auth_password:
    description:
      - Password for O(auth_username). Compared with the server's value; never returned.
    type: str
  metadata:
    description:
      - Free-form metadata, given to the participants the trunk creates.
    type: str
  headers:
    description:
      - SIP headers added to the responses of the SIP service, as a dict of name to value.
    type: dict
  krisp_enabled:
    description:
      - Enable Krisp noise cancellation for calls of this trunk.
    type: bool
  media_encryption:
    description:
      - Whether media is encrypted (SRTP).
    type: str
    choices: [disable, allow, require]
  trunks:
    description:
      - Many trunks in one task. Each item takes the options above (O(name) is required in each).
      - Mutually exclusive with O(name).
      - Items are handled in order; put a trunk that gives up a number before the trunk that takes it.
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
      numbers:
        description: Phone numbers this trunk takes calls to.
        type: list
        elements: str
      allowed_addresses:
        description: IP addresses or CIDR ranges calls may come from.
        type: list
        elements: str
      allowed_numbers:
        description: Caller numbers this trunk accepts.
        type: list
        elements: str
      auth_username:
        description: User name callers must authenticate with.
        type: str
      auth_password:
        description: Password for O(trunks[].auth_username); never returned.
        type: str
      metadata:
        description: Free-form metadata.
        type: str
      headers:
        description: SIP headers added to responses.
        type: dict
      krisp_enabled:
        description: Enable Krisp noise cancellation.
        type: bool
      media_encryption:
        description: Whether media is encrypted (SRTP).
        type: str
        choices: [disable, allow, require]
seealso:
  - module: rtcstack.livekit.sip_outbound_trunk
  - module: rtcstack.livekit.sip_dispatch_rule
  - module: rtcstack.livekit.sip_info
"""

EXAMPLES = r"""
- name: Declare the inbound side of a SIP provider (connection set once for the play)
  module_defaults:
    group/rtcstack.livekit.livekit:
      url: https://livekit.example.com
      api_key: "{{ livekit_api_key }}"
      api_secret: "{{ livekit_api_secret }}"
  block:
    - name: One trunk
      rtcstack.livekit.sip_inbound_trunk:
        name: provider-in
        numbers: ["+15550100", "+15550101"]
        allowed_addresses: ["192.0.2.0/24"]
        auth_username: livekit
        auth_password: "{{ sip_provider_password }}"
        media_encryption: allow

    - name: Many trunks in one task, one list call
      rtcstack.livekit.sip_inbound_trunk:
        trunks:
          - name: office-in
            numbers: ["+15550200"]
            allowed_numbers: ["+15550299"]
          - name: old-provider-in
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
    sip_trunk_id: ST_fXeTnwfopKJo
    name: provider-in
    numbers: ["+15550100", "+15550101"]
    allowed_addresses: ["192.0.2.0/24"]
    allowed_numbers: []
    auth_username: livekit
    auth_password: "********"
    headers: {}
    krisp_enabled: false
    media_encryption: SIP_MEDIA_ENCRYPT_ALLOW
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
    - name: provider-in
      action: updated
      fields: [auth_password, numbers]
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import reconciler_main
from ansible_collections.rtcstack.livekit.plugins.module_utils._sip import TRUNK_OPTIONS, _Trunks, numbers

INBOUND_OPTIONS = dict(
    TRUNK_OPTIONS,
    allowed_addresses=dict(type="list", elements="str"),
    allowed_numbers=dict(type="list", elements="str"),
    krisp_enabled=dict(type="bool"),
)


class _InboundTrunks(_Trunks):
    label = "inbound trunk"
    fields = tuple(f for f in INBOUND_OPTIONS if f != "state")
    unordered_fields = ("numbers", "allowed_addresses", "allowed_numbers")
    list_kind = "inbound_trunks"
    create_call = ("CreateSIPInboundTrunk", "trunk")
    update_call = "UpdateSIPInboundTrunk"

    def match_keys(self, obj):
        """The (number, caller) pairs a trunk takes calls for; two inbound trunks may not share one."""
        return set((n, c) for n in numbers(obj.get("numbers")) for c in numbers(obj.get("allowed_numbers")))

    def conflict(self, name, other, other_id, key):
        number, caller = key
        return ("inbound trunk %r would take calls to %s from %s, like inbound trunk %r (%s); LiveKit refuses two "
                "inbound trunks for the same number and caller: give one of them other numbers or other "
                "allowed_numbers" % (name, number or "any number", caller or "any caller", other.get("name"), other_id))


def main():
    reconciler_main(_InboundTrunks, INBOUND_OPTIONS, "trunks")


if __name__ == "__main__":
    main()
