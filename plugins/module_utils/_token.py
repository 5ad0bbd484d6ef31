# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LiveKit access tokens (HS256 JWT), API key pairs and key files, with the standard library only.

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
# Grants that are not booleans; every other grant is a boolean.
GRANT_TYPES = {"room": "str", "can_publish_sources": "list"}
PUBLISH_SOURCES = ("camera", "microphone", "screen_share", "screen_share_audio")
KINDS = ("standard", "ingress", "egress", "sip", "agent")

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,64}$")
MIN_SECRET_LENGTH = 32
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


def generate_key_id():
    """A new API key id: ``API`` followed by 12 random letters and digits."""
    return "API" + "".join(secrets.choice(KEY_ALPHABET) for dummy in range(12))


def generate_secret(length=43):
    """A new API secret from ``secrets``: by default 43 characters (~256 bits)."""
    if length < MIN_SECRET_LENGTH:
        raise ValueError("an API secret needs at least %d characters" % MIN_SECRET_LENGTH)
    return "".join(secrets.choice(KEY_ALPHABET) for dummy in range(length))


def check_key_id(key):
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValueError("an API key id must be 3 to 64 letters, digits, '_' or '-', got %r" % (key,))


def check_secret(secret):
    """Refuse a secret that is too short or cannot be written on one line. Never shows the secret."""
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        raise ValueError("an API secret needs at least %d characters (livekit-server reports shorter "
                         "secrets as an error); leave secret unset to generate one" % MIN_SECRET_LENGTH)
    if any(ord(c) < 32 or ord(c) == 127 for c in secret):
        raise ValueError("an API secret may not contain line breaks or control characters")


# -- key files ------------------------------------------------------------------------------------
# livekit-server reads key_file as a YAML map of key id -> secret. The reader below understands the
# one-level maps people and tools write (plain, 'single' or "double" quoted scalars, comments,
# blank lines, a leading ---) without PyYAML, and keeps the lines it does not change.

_YAML_WORDS = ("true", "false", "yes", "no", "on", "off", "y", "n", "null", "~")
_PLAIN = re.compile(r"^[A-Za-z0-9_]+$")
_NUMBER = re.compile(r"^(?:[0-9_]+|0x[0-9a-f_]+|0o[0-7_]+|0b[01_]+|[0-9]+e[0-9]+)$", re.I)


def yaml_scalar(value):
    """``value`` as a YAML scalar: plain when that reads back as the same string, else single-quoted."""
    if _PLAIN.match(value) and not _NUMBER.match(value) and value.lower() not in _YAML_WORDS:
        return value
    return "'%s'" % value.replace("'", "''")


class KeyFileError(ValueError):
    pass


def _scalar(text, line_no, what):
    """Read one scalar at the start of ``text``; return (value, rest)."""
    if text.startswith("'"):
        end = 1
        while True:
            end = text.find("'", end)
            if end < 0:
                raise KeyFileError("line %d: unterminated quoted %s" % (line_no, what))
            if text[end + 1:end + 2] == "'":
                end += 2
                continue
            return text[1:end].replace("''", "'"), text[end + 1:]
    if text.startswith('"'):
        match = re.match(r'"((?:[^"\\]|\\.)*)"', text)
        if not match:
            raise KeyFileError("line %d: unterminated quoted %s" % (line_no, what))
        try:
            return json.loads(match.group(0)), text[match.end():]
        except ValueError:
            raise KeyFileError("line %d: unsupported escape in a double-quoted %s" % (line_no, what)) from None
    if text[0] in "[]{}&*!|>%@`," or (text[0] in "-?:" and text[1:2] in ("", " ", "\t")):
        raise KeyFileError("line %d: only one-level maps of `KEY: secret` are supported" % line_no)
    if what == "key":
        match = re.match(r"(.*?):(\s|$)", text)
        if not match:
            raise KeyFileError("line %d: expected `KEY: secret`" % line_no)
        return match.group(1).rstrip(), text[match.end(1):]
    value = re.split(r"\s#", text, maxsplit=1)[0].rstrip()
    if ": " in value or value.endswith(":"):
        raise KeyFileError("line %d: quote a secret that contains ': '" % line_no)
    return value, ""


class KeyFile:
    """The keys of a LiveKit key file, editable while keeping comments and untouched lines."""

    def __init__(self, text=""):
        self.lines = text.splitlines()
        self._index = {}       # key id -> line number (0-based)
        self._secrets = {}
        self._empty_map = None  # the line of a `{}` document, dropped when a key is added
        for n, line in enumerate(self.lines):
            self._read_line(n, line)

    def _read_line(self, n, line):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            return
        if stripped.split("#", 1)[0].strip() == "{}" and not self._index:
            self._empty_map = n
            return
        if line[0].isspace():
            raise KeyFileError("line %d: indented lines are not supported; expected `KEY: secret`" % (n + 1))
        key, rest = _scalar(line, n + 1, "key")
        rest = rest.lstrip()
        if not rest.startswith(":"):
            raise KeyFileError("line %d: expected `KEY: secret`" % (n + 1))
        rest = rest[1:].strip()
        secret, tail = _scalar(rest, n + 1, "secret") if rest and not rest.startswith("#") else ("", "")
        tail = tail.strip()
        if tail and not tail.startswith("#"):
            raise KeyFileError("line %d: unexpected text after the secret" % (n + 1))
        if not key:
            raise KeyFileError("line %d: empty key id" % (n + 1))
        if not secret or (secret.lower() in ("null", "~") and not rest.startswith(("'", '"'))):
            raise KeyFileError("line %d: key %s has no secret" % (n + 1, key))
        if key in self._index:
            raise KeyFileError("line %d: key %s is defined twice (livekit-server refuses duplicate keys)"
                               % (n + 1, key))
        self._index[key] = n
        self._secrets[key] = secret

    @property
    def keys(self):
        """Key ids in file order."""
        return sorted(self._index, key=self._index.get)

    def secret(self, key):
        return self._secrets.get(key)

    def __contains__(self, key):
        return key in self._index

    def set(self, key, secret):
        """Add ``key`` at the end, or replace its secret in place."""
        check_key_id(key)
        line = "%s: %s" % (yaml_scalar(key), yaml_scalar(secret))
        if key in self._index:
            self.lines[self._index[key]] = line
        else:
            if self._empty_map is not None:
                self.lines[self._empty_map] = None
                self._empty_map = None
            self._index[key] = len(self.lines)
            self.lines.append(line)
        self._secrets[key] = secret

    def remove(self, key):
        self.lines[self._index.pop(key)] = None
        del self._secrets[key]

    def text(self):
        lines = [line for line in self.lines if line is not None]
        return "\n".join(lines) + "\n" if lines else ""
