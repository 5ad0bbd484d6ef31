# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Synchronous client for LiveKit's Twirp server API.

Private to this collection: the interface may change without notice.

Only the standard library and ansible-core are used, so a module pays no import cost for an SDK
and needs no event loop. HTTP goes through urllib.request rather than ansible.module_utils.urls,
whose import alone costs about 0.1 s per task (see docs/design.md for the measurement behind this choice).
"""

from __future__ import annotations

import json
import random
import socket
import ssl
import time
import urllib.request
from urllib.error import HTTPError, URLError

from ansible.module_utils.basic import env_fallback

from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import redact
from ansible_collections.rtcstack.livekit.plugins.module_utils._token import mint_token

CONNECTION_ARGSPEC = dict(
    url=dict(type="str", required=True, fallback=(env_fallback, ["LIVEKIT_URL"])),
    api_key=dict(type="str", required=True, no_log=False, fallback=(env_fallback, ["LIVEKIT_API_KEY"])),
    api_secret=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["LIVEKIT_API_SECRET"])),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="float", default=10.0),
    retries=dict(type="int", default=3),
)

# Grants each service needs; the token of a call carries only these.
SERVICE_GRANTS = {
    "RoomService": {"video": {"roomCreate": True, "roomList": True, "roomAdmin": True}},
    "Ingress": {"video": {"ingressAdmin": True}},
    "Egress": {"video": {"roomRecord": True}},
    "SIP": {"sip": {"admin": True, "call": True}},
}

HINTS = {
    "unauthenticated": "check api_key and api_secret: the server rejected the request's token",
    "permission_denied": "the API key lacks a grant this call needs",
    "invalid_argument": "fix the value named in the message",
    "unavailable": "the server or a worker it needs is not available",
}


class LiveKitError(Exception):
    """A failed API call, with a message that says what to fix."""

    def __init__(self, message, code=None, status=None):
        super(LiveKitError, self).__init__(message)
        self.code = code
        self.status = status


def http_url(url):
    """Map ws:// and wss:// to http:// and https://, and drop a trailing slash."""
    url = (url or "").strip().rstrip("/")
    for scheme, replacement in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(scheme):
            return replacement + url[len(scheme):]
    if not url.startswith(("http://", "https://")):
        raise LiveKitError("url must start with http://, https://, ws:// or wss://, got %r" % url)
    return url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: the token must not follow it to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def ssl_context(validate_certs=True, ca_path=None):
    """A client TLS context: the system CAs, or only those of ``ca_path``; no checks at all when
    ``validate_certs`` is false."""
    if not validate_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_path) if ca_path else ssl.create_default_context()


def backoff_delay(attempt, base=0.5, cap=8.0):
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * (2 ** attempt)))


class LiveKitClient:
    """Calls ``/twirp/livekit.<Service>/<Method>`` with JSON bodies."""

    def __init__(self, url, api_key, api_secret, validate_certs=True, ca_path=None, timeout=10.0, retries=3):
        self.base_url = http_url(url)
        self.api_key = api_key
        self._api_secret = api_secret
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.retries = max(0, retries)
        self.calls = 0
        self._opener = None

    def _open(self, url, data, headers):
        if self._opener is None:
            context = ssl_context(self.validate_certs, self.ca_path)
            self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect)
        # http_url() admits only http:// and https:// (no file: or custom schemes).
        request = urllib.request.Request(url, data=data.encode("utf-8"), headers=headers, method="POST")  # noqa: S310
        return self._opener.open(request, timeout=self.timeout)

    @classmethod
    def from_params(cls, params):
        return cls(**dict((k, params[k]) for k in CONNECTION_ARGSPEC))

    def token(self, service, room=None):
        claims = json.loads(json.dumps(SERVICE_GRANTS[service]))
        if room is not None:
            claims.setdefault("video", {})["room"] = room
        return mint_token(self.api_key, self._api_secret, claims, ttl=600)

    def call(self, service, method, body, room=None, retry_unavailable=True):
        """Return the decoded response of one call; raise LiveKitError on failure.

        Calls that must not run twice (starting an egress) pass ``retry_unavailable=False``: they
        are retried only when the connection was refused, never after a 503 or a timeout.
        """
        url = "%s/twirp/livekit.%s/%s" % (self.base_url, service, method)
        data = json.dumps(body, separators=(",", ":"))
        where = "%s/%s" % (service, method)
        attempt = 0
        while True:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "rtcstack.livekit",
                "Authorization": "Bearer " + self.token(service, room),
            }
            retry = False
            try:
                self.calls += 1
                with self._open(url, data, headers) as response:
                    return json.loads(response.read() or b"{}")
            except HTTPError as e:
                error = self._http_error(where, e)
                retry = e.code == 503 and retry_unavailable
            except (URLError, socket.timeout, ConnectionError, ssl.SSLError) as e:
                error = self._connection_error(e)
                retry = error.code == "refused" or (error.code == "unreachable" and retry_unavailable)
            if not retry or attempt >= self.retries:
                raise error
            time.sleep(backoff_delay(attempt))
            attempt += 1

    @staticmethod
    def _http_error(where, e):
        raw = e.read() if hasattr(e, "read") else b""
        text = (raw or b"").decode("utf-8", "replace").strip()
        try:
            payload = json.loads(text)
            code, msg = payload.get("code", ""), payload.get("msg", "")
        except ValueError:
            # A bad key or signature is refused before Twirp, with a plain-text body.
            code, msg = ("unauthenticated" if e.code == 401 else "http_%d" % e.code), text
        # The server repeats a refused token in its 401 message ("invalid token: eyJ..."): never pass it on.
        msg = redact(msg.replace("twirp error unknown: ", ""), mask="<token>")
        if code == "unauthenticated" and "permissions denied" in msg:
            code = "permission_denied"
        hint = HINTS.get(code)
        message = "LiveKit %s failed (HTTP %d %s): %s" % (where, e.code, code, msg or "no message")
        return LiveKitError(message + ("; " + hint if hint else ""), code=code, status=e.code)

    def _connection_error(self, e):
        reason = getattr(e, "reason", e)
        if isinstance(reason, ssl.SSLError) or "CERTIFICATE" in str(reason).upper():
            return LiveKitError(
                "TLS error talking to %s: %s; give the CA with ca_path, or set validate_certs=false for a lab"
                % (self.base_url, reason), code="tls")
        refused = isinstance(reason, ConnectionRefusedError) or "Connection refused" in str(reason)
        return LiveKitError(
            "cannot reach LiveKit at %s: %s; check url and that livekit-server is running"
            % (self.base_url, reason), code="refused" if refused else "unreachable")
