# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Egress look-ups and the masking of their secrets, shared by the egress modules.

Private to this collection: the interface may change without notice.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitError
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import MASK

RUNNING = ("EGRESS_STARTING", "EGRESS_ACTIVE")
# Upload credentials, proxy passwords, webhook signing keys.
SECRET_KEYS = frozenset(("secret", "access_key", "session_token", "credentials", "account_key",
                         "password", "signing_key", "assume_role_external_id"))
# Stream (rtmp://host/app/KEY, srt://host?streamid=KEY) and websocket URLs carry their key after the host.
URL_KEYS = frozenset(("url", "urls", "websocket_url"))


def mask_url(url):
    """``url`` without what follows the host: ``rtmp://host/app/key`` -> ``rtmp://host/********``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK if url else url
    if ":" in host:
        host = "[%s]" % host
    shown = "%s://%s%s" % (parts.scheme, host, ":%d" % port if port else "")
    hidden = parts.path.strip("/") or parts.query or parts.fragment or parts.username or parts.password
    return shown + "/" + MASK if hidden else shown


def redact(value, key=None):
    """A copy of an egress object with secrets masked and stream URLs cut after the host."""
    if isinstance(value, dict):
        return dict((k, redact(v, k)) for k, v in value.items())
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if key in SECRET_KEYS and value:
        return MASK
    if key in URL_KEYS and isinstance(value, str):
        return mask_url(value)
    return value


def list_egress(client, room_name=None, egress_id=None, active=False):
    """Egress objects (not redacted); an unknown egress id or room gives []."""
    body = {"room_name": room_name or "", "egress_id": egress_id or "", "active": active}
    try:
        return client.call("Egress", "ListEgress", body).get("items") or []
    except LiveKitError as e:
        if e.code == "not_found":
            return []
        raise
