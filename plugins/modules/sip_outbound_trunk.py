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

from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import (
    _Reconciler,
    client_for,
    livekit_module,
)

ENUMS = {
    "transport": {
        "auto": "SIP_TRANSPORT_AUTO",
        "udp": "SIP_TRANSPORT_UDP",
        "tcp": "SIP_TRANSPORT_TCP",
        "tls": "SIP_TRANSPORT_TLS",
    },
    "media_encryption": {
        "disable": "SIP_MEDIA_ENCRYPT_DISABLE",
        "allow": "SIP_MEDIA_ENCRYPT_ALLOW",
        "require": "SIP_MEDIA_ENCRYPT_REQUIRE",
    },
}
# Set by the server, never sent back.
SERVER_FIELDS = ("sip_trunk_id", "created_at", "updated_at")
TRUNK_FIELDS = ("address", "transport", "numbers", "auth_username", "auth_password", "destination_country",
                "metadata", "headers", "media_encryption")
TRUNK_OPTIONS = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    address=dict(type="str"),
    transport=dict(type="str", choices=list(ENUMS["transport"])),
    numbers=dict(type="list", elements="str"),
    auth_username=dict(type="str"),
    auth_password=dict(type="str", no_log=True),
    destination_country=dict(type="str"),
    metadata=dict(type="str"),
    headers=dict(type="dict"),
    media_encryption=dict(type="str", choices=list(ENUMS["media_encryption"])),
)


class _OutboundTrunks(_Reconciler):
    kind = "trunk"
    plural = "trunks"
    id_field = "sip_trunk_id"
    fields = TRUNK_FIELDS
    unordered_fields = ("numbers",)
    secret_fields = ("auth_password",)

    def fetch(self, names):
        # The API has no filter by name: one call lists every outbound trunk.
        trunks = self.client.call("SIP", "ListSIPOutboundTrunk", {}).get("items") or []
        return [t for t in trunks if t.get("name") in names]

    def read(self, obj, field):
        value = obj.get(field)
        if field == "media_encryption":
            # media.encryption, when set, wins over the older media_encryption field.
            value = (obj.get("media") or {}).get("encryption") or value
        if field in ENUMS:
            value = dict((v, k) for k, v in ENUMS[field].items()).get(value, value)
        return self.normalize(field, value)

    def normalize(self, field, value):
        if field == "headers" and value is not None:
            return dict((str(k), str(v)) for k, v in value.items())
        return super(_OutboundTrunks, self).normalize(field, value)

    def body(self, name, current, desired):
        """The whole trunk to send: the server's fields with the declared ones on top."""
        trunk = dict((k, v) for k, v in (current or {}).items() if v is not None and k not in SERVER_FIELDS)
        trunk.update(desired, name=name)
        for field, names in ENUMS.items():
            if field in desired:
                trunk[field] = names[desired[field]]
        if "media_encryption" in desired and (trunk.get("media") or {}).get("encryption"):
            trunk["media"] = dict(trunk["media"], encryption=trunk["media_encryption"])
        return trunk

    def simulate(self, name, current, desired):
        trunk = self.body(name, current, desired)
        trunk[self.id_field] = current[self.id_field] if current else ""
        return trunk

    def create(self, name, desired):
        return self.client.call("SIP", "CreateSIPOutboundTrunk", {"trunk": self.body(name, None, desired)})

    def update(self, current, desired, changes):
        body = {"sip_trunk_id": current[self.id_field], "replace": self.body(current["name"], current, desired)}
        return self.client.call("SIP", "UpdateSIPOutboundTrunk", body)

    def delete(self, current):
        self.client.call("SIP", "DeleteSIPTrunk", {"sip_trunk_id": current[self.id_field]})


def main():
    options = dict(name=dict(type="str"), trunks=dict(
        type="list", elements="dict", options=dict(TRUNK_OPTIONS, name=dict(type="str", required=True))))
    options.update(TRUNK_OPTIONS)
    module = livekit_module(
        options,
        mutually_exclusive=[("name", "trunks")],
        required_one_of=[("name", "trunks")],
    )
    _OutboundTrunks(module, client_for(module)).run_module("trunks", ("name",) + tuple(TRUNK_OPTIONS))


if __name__ == "__main__":
    main()
