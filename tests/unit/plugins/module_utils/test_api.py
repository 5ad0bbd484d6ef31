"""Unit tests of the Twirp client: URL mapping, backoff, error messages, retry policy.

The retry test uses a real closed port on loopback; retries on a real 503 are tested against the
real server in tests/e2e/test_client_real_server.py.
"""

import io
import json
import socket

import pytest
from ansible.module_utils.six.moves.urllib.error import HTTPError

from ansible_collections.rtcstack.livekit.plugins.module_utils import _api
from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitClient, LiveKitError, http_url


@pytest.mark.parametrize("given, expected", [
    ("ws://127.0.0.1:7880", "http://127.0.0.1:7880"),
    ("wss://lk.example.com/", "https://lk.example.com"),
    ("https://lk.example.com", "https://lk.example.com"),
    (" http://h:1/ ", "http://h:1"),
])
def test_http_url_maps_websocket_schemes(given, expected):
    assert http_url(given) == expected


def test_http_url_refuses_other_schemes():
    with pytest.raises(LiveKitError, match="url must start with"):
        http_url("ftp://h")


def test_backoff_grows_and_is_capped():
    for attempt in range(8):
        delay = _api.backoff_delay(attempt, base=0.5, cap=4.0)
        assert 0 <= delay <= min(4.0, 0.5 * 2 ** attempt)


def http_error(status, body):
    return HTTPError("http://x", status, "x", {}, io.BytesIO(body.encode()))


def test_twirp_error_message_names_code_and_hint():
    e = LiveKitClient._http_error("Ingress/CreateIngress", http_error(
        400, json.dumps({"code": "invalid_argument", "msg": "twirp error unknown: invalid ingress: no participant identity"})))
    assert e.code == "invalid_argument" and e.status == 400
    assert str(e) == ("LiveKit Ingress/CreateIngress failed (HTTP 400 invalid_argument): invalid ingress: "
                      "no participant identity; fix the value named in the message")


def test_plain_text_401_is_an_authentication_error():
    e = LiveKitClient._http_error("RoomService/ListRooms", http_error(401, "invalid token: signature is invalid\n"))
    assert e.code == "unauthenticated"
    assert "check api_key and api_secret" in str(e)


def test_permissions_denied_is_reported_as_missing_grant():
    e = LiveKitClient._http_error("RoomService/ListRooms", http_error(
        401, json.dumps({"code": "unauthenticated", "msg": "permissions denied"})))
    assert e.code == "permission_denied"
    assert "lacks a grant" in str(e)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(port, retries):
    return LiveKitClient("ws://127.0.0.1:%d" % port, "APIkey", "s" * 40, timeout=2, retries=retries)


def test_connection_refused_is_retried_then_reported(monkeypatch):
    monkeypatch.setattr(_api.time, "sleep", lambda seconds: None)
    c = client(closed_port(), retries=2)
    with pytest.raises(LiveKitError, match="cannot reach LiveKit at http://127.0.0.1:"):
        c.call("RoomService", "ListRooms", {})
    assert c.calls == 3


def test_tokens_carry_only_the_service_grants():
    from ansible_collections.rtcstack.livekit.plugins.module_utils._token import decode_claims

    c = client(1, retries=0)
    claims = decode_claims(c.token("Ingress"))
    assert claims["video"] == {"ingressAdmin": True} and "sip" not in claims
    claims = decode_claims(c.token("RoomService", room="r1"))
    assert claims["video"]["room"] == "r1" and claims["video"]["roomAdmin"] is True
    assert claims["exp"] - claims["nbf"] == 600 and claims["iss"] == "APIkey"
