# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiveKit access tokens (HS256 JWT): claims from option-style grants, minting, durations.

Private to this collection: the interface may change without notice. Standard library only.
Key ids, secrets, key files and redaction are in _secrets.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time

# Python option name -> LiveKit claim name, for the grants an operator sets.
VIDEO_GRANTS = {
    "room_create": "roomCreate",
    "room_list": "roomList",
    "room_record": "roomRecord",
    "room_admin": "roomAdmin",
    "room_join": "roomJoin",
    "room": "room",
    "can_publish": "canPublish",
    "can_subscribe": "canSubscribe",
    "can_publish_data": "canPublishData",
    "can_publish_sources": "canPublishSources",
    "can_update_own_metadata": "canUpdateOwnMetadata",
    "ingress_admin": "ingressAdmin",
    "hidden": "hidden",
    "recorder": "recorder",
    "agent": "agent",
}
SIP_GRANTS = {"admin": "admin", "call": "call"}
# Grants that are not booleans; every other grant is a boolean.
GRANT_TYPES = {"room": "str", "can_publish_sources": "list"}
PUBLISH_SOURCES = ("camera", "microphone", "screen_share", "screen_share_audio")
KINDS = ("standard", "ingress", "egress", "sip", "agent")

DEFAULT_TTL = "6h"  # as LiveKit's own SDKs

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def parse_duration(value):
    """Seconds from an int or a string like ``90``, ``15m``, ``6h`` or ``1d``."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError("ttl must be seconds or a number with s, m, h or d, got %r" % (value,))
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError("ttl must be positive, got %r" % (value,))
    return seconds


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(api_key, api_secret, claims, ttl=600, now=None):
    """Sign ``claims`` (plus iss, nbf, exp) with HS256 and return the compact JWT."""
    if not api_key or not api_secret:
        raise ValueError("api_key and api_secret are required to mint a token")
    now = int(time.time() if now is None else now)
    body = dict(claims)
    body.update(iss=api_key, nbf=now, exp=now + int(ttl))
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    signing_input = ("%s.%s" % (header, payload)).encode("ascii")
    signature = hmac.new(api_secret.encode("utf-8"), signing_input, hashlib.sha256).digest()
    return "%s.%s.%s" % (header, payload, _b64(signature))


def decode_claims(token):
    """The claims of a token, without checking its signature (for display and tests)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as e:
        raise ValueError("not a JWT: %s" % e) from None


def _bool(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("grant %s must be a boolean, got %r" % (name, value))


def _grant_value(name, value):
    kind = GRANT_TYPES.get(name, "bool")
    if kind == "bool":
        return _bool(name, value)
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError("grant %s must be a string, got %r" % (name, value))
        return value
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("grant %s must be a list of track sources, got %r" % (name, value))
    unknown = sorted(set(v.lower() for v in value) - set(PUBLISH_SOURCES))
    if unknown:
        raise ValueError("unknown track source(s) in %s: %s; known: %s" % (
            name, ", ".join(unknown), ", ".join(PUBLISH_SOURCES)))
    return [v.lower() for v in value]


def build_claims(identity=None, name=None, metadata=None, attributes=None, kind=None,
                 video=None, sip=None, room_config=None, room_preset=None):
    """Claims for a participant or service token from option-style (snake_case) grants."""
    claims = {}
    if video is not None and not isinstance(video, dict):
        raise ValueError("grants must be a dict of grant names and values, got %r" % (video,))
    if sip is not None and not isinstance(sip, dict):
        raise ValueError("sip_grants must be a dict with admin and/or call, got %r" % (sip,))
    video = dict((k, v) for k, v in (video or {}).items() if v is not None)
    sip = dict((k, v) for k, v in (sip or {}).items() if v is not None)
    unknown = sorted(set(video) - set(VIDEO_GRANTS)) + sorted(set(sip) - set(SIP_GRANTS))
    if unknown:
        raise ValueError("unknown grant(s): %s; known video grants: %s; sip grants: %s" % (
            ", ".join(unknown), ", ".join(sorted(VIDEO_GRANTS)), ", ".join(sorted(SIP_GRANTS))))
    video = dict((k, _grant_value(k, v)) for k, v in video.items())
    sip = dict((k, _bool(k, v)) for k, v in sip.items())
    if video.get("room_join") and not (identity and video.get("room")):
        raise ValueError("a room_join grant needs both identity and room")
    if not set(video) - {"room"} and not sip:
        raise ValueError("a token needs at least one grant (video or sip); room alone grants nothing")
    if kind and kind not in KINDS:
        raise ValueError("kind must be one of %s, got %r" % (", ".join(KINDS), kind))
    if attributes is not None and not isinstance(attributes, dict):
        raise ValueError("attributes must be a dict of strings, got %r" % (attributes,))
    if room_config is not None and not isinstance(room_config, dict):
        raise ValueError("room_config must be a dict (a LiveKit RoomConfiguration), got %r" % (room_config,))
    if metadata is not None and not isinstance(metadata, str):
        # Structured metadata travels as JSON text, as LiveKit's clients expect.
        metadata = json.dumps(metadata, sort_keys=True, separators=(",", ":"))
    if identity:
        claims["sub"] = identity
    for key, value in (("name", name), ("metadata", metadata), ("kind", kind), ("roomPreset", room_preset)):
        if value:
            claims[key] = value
    if attributes:
        claims["attributes"] = dict((str(k), str(v)) for k, v in attributes.items())
    if video:
        claims["video"] = dict((VIDEO_GRANTS[k], v) for k, v in video.items())
    if sip:
        claims["sip"] = dict((SIP_GRANTS[k], v) for k, v in sip.items())
    if room_config:
        claims["roomConfig"] = room_config
    return claims


def token_claims(identity=None, room=None, grants=None, sip_grants=None, name=None, metadata=None,
                 attributes=None, kind=None, room_config=None):
    """Claims from the options of the access_token lookup and module.

    ``room`` fills ``grants.room``. Without ``grants``, a ``room`` makes a join token: room_join
    for that room (the default the lookup and the module document).
    """
    if grants is not None and not isinstance(grants, dict):
        raise ValueError("grants must be a dict of grant names and values, got %r" % (grants,))
    video = dict((k, v) for k, v in (grants or {}).items() if v is not None)
    if room:
        if video.get("room") not in (None, room):
            raise ValueError("room %r and grants.room %r differ: set one of them" % (room, video["room"]))
        video["room"] = room
        if grants is None:
            if not identity:
                raise ValueError("room without grants makes a join token (room_join), which needs identity: "
                                 "set identity, or set grants for a token that does not join")
            video["room_join"] = True
    if not set(video) - {"room"} and not any(v is not None for v in (sip_grants or {}).values()):
        raise ValueError("a token needs at least one grant: set room alone (a join token for that room), "
                         "or grants or sip_grants")
    return build_claims(identity=identity, name=name, metadata=metadata, attributes=attributes, kind=kind,
                        video=video, sip=sip_grants, room_config=room_config)
