# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiveKit access tokens (HS256 JWT) and API key pairs, with the standard library only.

Private to this collection: the interface may change without notice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import string
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

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
MIN_SECRET_LENGTH = 32

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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
        raise ValueError("not a JWT: %s" % e)


def build_claims(identity=None, name=None, metadata=None, attributes=None, kind=None,
                 video=None, sip=None, room_config=None, room_preset=None):
    """Claims for a participant or service token from option-style (snake_case) grants."""
    claims = {}
    video = dict((k, v) for k, v in (video or {}).items() if v is not None)
    sip = dict((k, v) for k, v in (sip or {}).items() if v is not None)
    unknown = sorted(set(video) - set(VIDEO_GRANTS)) + sorted(set(sip) - set(SIP_GRANTS))
    if unknown:
        raise ValueError("unknown grant(s): %s; known video grants: %s; sip grants: %s" % (
            ", ".join(unknown), ", ".join(sorted(VIDEO_GRANTS)), ", ".join(sorted(SIP_GRANTS))))
    if video.get("room_join") and not (identity and video.get("room")):
        raise ValueError("a room_join grant needs both identity and room")
    if not video and not sip:
        raise ValueError("a token needs at least one grant (video or sip)")
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


def generate_key_id():
    """A new API key id: ``API`` followed by 12 random letters and digits."""
    return "API" + "".join(secrets.choice(KEY_ALPHABET) for _ in range(12))


def generate_secret(length=43):
    """A new API secret from ``secrets``: by default 43 characters (~256 bits)."""
    if length < MIN_SECRET_LENGTH:
        raise ValueError("an API secret needs at least %d characters" % MIN_SECRET_LENGTH)
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(length))
