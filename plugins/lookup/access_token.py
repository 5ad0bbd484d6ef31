# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: access_token
short_description: Mint a LiveKit access token (JWT) on the controller
version_added: 0.1.0
description:
  - Returns a LiveKit access token signed with O(api_secret) (HS256), for a participant to join a room
    or for a service to call the server API.
  - Minting happens on the controller and needs no LiveKit SDK and no connection to the server.
    To mint on a managed host, for example with the secret of a key file that stays on that host,
    use the M(rtcstack.livekit.access_token) module.
  - "Default grants: when O(room) is set and O(grants) is not, the token is a join token for that room
    (C(room_join: true), C(room: <room>)). LiveKit then allows the participant to publish, subscribe
    and send data. When O(grants) is set, it is used as given, with O(room) filled in."
author:
  - rtcstack.livekit contributors (@rtcstack)
options:
  identity:
    description:
      - Identity of the participant (the C(sub) claim). Required for a join token.
    type: str
  name:
    description:
      - Display name of the participant.
    type: str
  room:
    description:
      - Room the token is for (C(video.room)). Without O(grants), the token may join this room.
    type: str
  grants:
    description:
      - Video grants, by their snake_case names. Booleans unless noted.
      - V(room_join), V(room) (a string), V(can_publish), V(can_subscribe), V(can_publish_data),
        V(can_publish_sources) (a list of V(camera), V(microphone), V(screen_share), V(screen_share_audio)),
        V(can_update_own_metadata), V(hidden), V(recorder), V(agent).
      - Service grants V(room_create), V(room_list), V(room_admin) (with V(room)), V(room_record),
        V(ingress_admin).
      - An unknown grant name is an error.
    type: dict
  sip_grants:
    description:
      - SIP grants, V(admin) (manage trunks and dispatch rules) and V(call) (make outbound calls).
    type: dict
  metadata:
    description:
      - Metadata of the participant. A dict or a list is serialized as JSON.
    type: raw
  attributes:
    description:
      - Attributes of the participant, a dict of strings.
    type: dict
  kind:
    description:
      - Kind of participant.
    type: str
    choices: [standard, ingress, egress, sip, agent]
  ttl:
    description:
      - How long the token is valid, in seconds or as a number with V(s), V(m), V(h) or V(d), for
        example V(15m) or V(3600).
      - A join token is needed only to connect; the server refreshes the token of a connected
        participant itself.
      - livekit-server accepts a token for about 60 seconds more than this (its JWT check allows one
        minute of clock skew on C(exp) and C(nbf)), so a token is usable for up to O(ttl) + 60 s.
    type: raw
    default: 6h
  room_config:
    description:
      - 'Configuration of the room created when this participant joins it first, passed as the
        C(roomConfig) claim (a LiveKit C(RoomConfiguration), for example
        C({"empty_timeout": 600, "max_participants": 20})).'
    type: dict
  api_key:
    description:
      - API key id the token is issued for (the C(iss) claim).
    type: str
    env:
      - name: LIVEKIT_API_KEY
  api_secret:
    description:
      - Secret of O(api_key). It signs the token and never appears in it.
    type: str
    env:
      - name: LIVEKIT_API_SECRET
notes:
  - A token is a bearer credential until it expires. Keep O(ttl) short and use C(no_log) on tasks
    that would print a long-lived token.
  - Each call returns a new token (new C(nbf) and C(exp)).
seealso:
  - module: rtcstack.livekit.access_token
  - module: rtcstack.livekit.api_key
"""

EXAMPLES = r"""
- name: A join token for alice in the room town-hall, valid 15 minutes
  ansible.builtin.set_fact:
    alice_token: >-
      {{ lookup('rtcstack.livekit.access_token', identity='alice', name='Alice', room='town-hall',
                ttl='15m', api_key=livekit_api_key, api_secret=livekit_api_secret) }}

- name: A viewer that may only subscribe
  ansible.builtin.debug:
    msg: >-
      {{ lookup('rtcstack.livekit.access_token', identity='viewer-1', room='town-hall',
                grants={'room_join': true, 'can_publish': false, 'can_publish_data': false}) }}

- name: A service token that lists rooms (api_key and api_secret from LIVEKIT_API_KEY / LIVEKIT_API_SECRET)
  ansible.builtin.uri:
    url: https://livekit.example.com/twirp/livekit.RoomService/ListRooms
    method: POST
    body_format: json
    body: {}
    headers:
      Authorization: "Bearer {{ lookup('rtcstack.livekit.access_token', grants={'room_list': true}, ttl=60) }}"
"""

RETURN = r"""
_raw:
  description: The access token, a compact JWT signed with HS256.
  type: list
  elements: str
"""

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import redact
from ansible_collections.rtcstack.livekit.plugins.module_utils._token import (
    mint_token,
    parse_duration,
    token_claims,
)

CLAIM_OPTIONS = ("identity", "name", "room", "grants", "sip_grants", "metadata", "attributes", "kind",
                 "room_config")
OPTIONS = CLAIM_OPTIONS + ("ttl", "api_key", "api_secret")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleError("the access_token lookup takes no terms: pass options such as "
                               "identity=..., room=... by name")
        unknown = sorted(set(kwargs) - set(OPTIONS))
        if unknown:
            raise AnsibleError("access_token lookup: unknown option(s) %s; known: %s"
                               % (", ".join(unknown), ", ".join(sorted(OPTIONS))))
        self.set_options(var_options=variables, direct=kwargs)
        api_key, api_secret = self.get_option("api_key"), self.get_option("api_secret")
        if not api_key:
            raise AnsibleError("access_token lookup: set api_key= or the LIVEKIT_API_KEY environment variable")
        if not api_secret:
            raise AnsibleError("access_token lookup: set api_secret= or the LIVEKIT_API_SECRET environment variable")
        try:
            claims = token_claims(**dict((name, self.get_option(name)) for name in CLAIM_OPTIONS))
            token = mint_token(api_key, api_secret, claims, ttl=parse_duration(self.get_option("ttl")))
        except ValueError as e:
            raise AnsibleError("access_token lookup: %s" % redact(e, [api_secret])) from None
        return [token]
