#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_token
short_description: Mint a LiveKit access token (JWT) on the managed host
version_added: 0.1.0
description:
  - Returns a LiveKit access token signed (HS256) with the secret of an API key, for a participant
    to join a room or for a service to call the server API.
  - The secret comes from O(api_secret), or from a LiveKit key file on the managed host
    (O(key_file)). With a key file, the secret never leaves the host, only the signed token does.
  - "Default grants: when O(room) is set and O(grants) is not, the token is a join token for that room
    (C(room_join: true), C(room: <room>)). When O(grants) is set, it is used as given, with O(room)
    filled in."
  - The module never reports a change (RV(ignore:changed) is always V(false)). Minting a token changes
    nothing on the host or the server. Each run returns a new token.
  - To mint on the controller, use the P(rtcstack.livekit.access_token#lookup) lookup.
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module mints the token as usual, since minting changes nothing.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
options:
  api_key:
    description:
      - API key id the token is issued for (the C(iss) claim).
      - Optional with O(key_file) when the file holds exactly one key.
      - If not set, the environment variable E(LIVEKIT_API_KEY) of the managed host is used.
    type: str
  api_secret:
    description:
      - Secret of O(api_key). It signs the token and never appears in it.
      - If not set, the environment variable E(LIVEKIT_API_SECRET) of the managed host is used.
      - Mutually exclusive with O(key_file) (the environment variable counts).
    type: str
  key_file:
    description:
      - "A LiveKit key file on the managed host (a YAML map C(KEY: secret), as written by
        M(rtcstack.livekit.api_key) and read by livekit-server's C(key_file)). The secret of
        O(api_key) is read from it."
    type: path
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
      - Video grants. Only the grants set here go into the token.
    type: dict
    suboptions:
      room_join:
        description: Join O(room). Needs O(identity).
        type: bool
      room:
        description: The room the grants apply to. Same as O(room).
        type: str
      can_publish:
        description: Publish tracks (LiveKit allows it when not set).
        type: bool
      can_subscribe:
        description: Subscribe to tracks (LiveKit allows it when not set).
        type: bool
      can_publish_data:
        description: Send data messages (LiveKit allows it when not set).
        type: bool
      can_publish_sources:
        description: Track sources the participant may publish; when set, supersedes O(grants.can_publish).
        type: list
        elements: str
        choices: [camera, microphone, screen_share, screen_share_audio]
      can_update_own_metadata:
        description: Update its own name, metadata and attributes.
        type: bool
      hidden:
        description: Invisible to other participants.
        type: bool
      recorder:
        description: Marks the participant as a recorder.
        type: bool
      agent:
        description: May register as an agent worker.
        type: bool
      room_create:
        description: Create and delete rooms (API).
        type: bool
      room_list:
        description: List rooms (API).
        type: bool
      room_admin:
        description: Manage participants of O(room) (API).
        type: bool
      room_record:
        description: Use the Egress API.
        type: bool
      ingress_admin:
        description: Use the Ingress API.
        type: bool
  sip_grants:
    description:
      - SIP grants.
    type: dict
    suboptions:
      admin:
        description: Manage SIP trunks and dispatch rules.
        type: bool
      call:
        description: Make outbound calls.
        type: bool
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
      - How long the token is valid, in seconds or as a number with V(s), V(m), V(h) or V(d).
      - livekit-server accepts a token for about 60 seconds more than this (its JWT check allows one
        minute of clock skew on C(exp) and C(nbf)), so a token is usable for up to O(ttl) + 60 s.
    type: raw
    default: 6h
  room_config:
    description:
      - Configuration of the room created when this participant joins it first, passed as the
        C(roomConfig) claim (a LiveKit C(RoomConfiguration)).
    type: dict
notes:
  - The token is a bearer credential until it expires. Use C(no_log) on tasks whose token must not
    appear in logs. The API secret never appears in the result.
seealso:
  - plugin: rtcstack.livekit.access_token
    plugin_type: lookup
  - module: rtcstack.livekit.api_key
"""

EXAMPLES = r"""
- name: A join token signed with the key file of the LiveKit host; the secret stays there
  rtcstack.livekit.access_token:
    key_file: /etc/livekit/keys.yaml
    api_key: APIw8Vq2hJm4Kx1
    identity: probe
    room: health-check
    ttl: 5m
  register: probe

- name: A token for a recording service
  rtcstack.livekit.access_token:
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
    grants:
      room_record: true
    ttl: 1h
  no_log: true
  register: recorder
"""

RETURN = r"""
token:
  description: The access token, a compact JWT signed with HS256.
  returned: always
  type: str
claims:
  description: The token's claims (its decoded payload; the signature is not part of it).
  returned: always
  type: dict
  sample:
    iss: APIw8Vq2hJm4Kx1
    sub: probe
    nbf: 1767225600
    exp: 1767225900
    video:
      room: health-check
      roomJoin: true
expires_at:
  description:
    - When the token expires (its C(exp) claim), ISO 8601 in UTC.
    - livekit-server still accepts it for about 60 seconds after.
  returned: always
  type: str
  sample: "2026-01-01T00:05:00Z"
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import read_key_file, redact
from ansible_collections.rtcstack.livekit.plugins.module_utils._token import (
    DEFAULT_TTL,
    GRANT_TYPES,
    KINDS,
    PUBLISH_SOURCES,
    SIP_GRANTS,
    VIDEO_GRANTS,
    decode_claims,
    mint_token,
    parse_duration,
    token_claims,
)


def grant_options():
    options = {}
    for name in VIDEO_GRANTS:
        kind = GRANT_TYPES.get(name, "bool")
        options[name] = dict(type=kind)
        if kind == "list":
            options[name].update(elements="str", choices=list(PUBLISH_SOURCES))
    return options


def secret_from_key_file(module, path, api_key):
    """(api_key, secret) from a key file; fails with a message that never shows a secret."""
    if not os.path.isfile(path):
        module.fail_json(msg="key_file %s does not exist or is not a file" % path)
    try:
        keys = read_key_file(path)
    except (OSError, ValueError) as e:
        module.fail_json(msg="cannot read key_file %s: %s" % (path, e))
    if not api_key:
        if len(keys.keys) != 1:
            module.fail_json(msg="key_file %s holds %d keys: set api_key to one of %s"
                             % (path, len(keys.keys), ", ".join(keys.keys) or "(none)"))
        api_key = keys.keys[0]
    if api_key not in keys:
        module.fail_json(msg="key %s is not in key_file %s (it holds: %s)"
                         % (api_key, path, ", ".join(keys.keys) or "no keys"))
    return api_key, keys.secret(api_key)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            api_key=dict(type="str", no_log=False, fallback=(env_fallback, ["LIVEKIT_API_KEY"])),
            api_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["LIVEKIT_API_SECRET"])),
            key_file=dict(type="path", no_log=False),
            identity=dict(type="str"),
            name=dict(type="str"),
            room=dict(type="str"),
            grants=dict(type="dict", options=grant_options()),
            sip_grants=dict(type="dict", options=dict((k, dict(type="bool")) for k in SIP_GRANTS)),
            metadata=dict(type="raw"),
            attributes=dict(type="dict"),
            kind=dict(type="str", choices=list(KINDS)),
            ttl=dict(type="raw", default=DEFAULT_TTL),
            room_config=dict(type="dict"),
        ),
        mutually_exclusive=[("api_secret", "key_file")],
        required_one_of=[("api_secret", "key_file")],
        supports_check_mode=True,
    )
    p = module.params
    if p["key_file"]:
        api_key, api_secret = secret_from_key_file(module, p["key_file"], p["api_key"])
    else:
        api_key, api_secret = p["api_key"], p["api_secret"]
        if not api_key:
            module.fail_json(msg="set api_key (or LIVEKIT_API_KEY on the managed host)")
    try:
        claims = token_claims(
            identity=p["identity"], room=p["room"], grants=p["grants"], sip_grants=p["sip_grants"],
            name=p["name"], metadata=p["metadata"], attributes=p["attributes"], kind=p["kind"],
            room_config=p["room_config"])
        token = mint_token(api_key, api_secret, claims, ttl=parse_duration(p["ttl"]))
    except ValueError as e:
        module.fail_json(msg=redact(e, [api_secret]))
    claims = decode_claims(token)
    module.exit_json(changed=False, token=token, claims=claims,
                     expires_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"])))


if __name__ == "__main__":
    main()
