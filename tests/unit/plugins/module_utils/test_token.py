"""Tokens minted by _token.py read back with the official SDK's TokenVerifier (key ids, secrets and key
files: tests/unit/test_secrets.py)."""

import time

import jwt
import pytest
from livekit.api import TokenVerifier

from ansible_collections.rtcstack.livekit.plugins.module_utils._token import (
    build_claims,
    decode_claims,
    mint_token,
    parse_duration,
    token_claims,
)

KEY = "APIunitTestKey01"
SECRET = "unit-test-secret-0123456789abcdefghijklmnop"


def verify(token, key=KEY, secret=SECRET):
    return TokenVerifier(key, secret).verify(token)


def test_participant_claims_read_back_with_the_sdk():
    claims = build_claims(
        identity="alice", name="Alice", metadata='{"team": "blue"}', attributes={"seat": 12}, kind="agent",
        video={"room_join": True, "room": "town-hall", "can_publish": False, "can_publish_sources": ["camera"],
               "can_update_own_metadata": True, "hidden": True, "can_subscribe": None},
        sip={"admin": True, "call": False},
        room_config={"empty_timeout": 600, "max_participants": 20, "metadata": "room meta"})
    read = verify(mint_token(KEY, SECRET, claims, ttl=60))
    assert read.identity == "alice"
    assert read.name == "Alice"
    assert read.kind == "agent"
    assert read.metadata == '{"team": "blue"}'
    assert read.attributes == {"seat": "12"}
    assert read.video.room_join is True
    assert read.video.room == "town-hall"
    assert read.video.can_publish is False
    assert read.video.can_subscribe is True  # not set: LiveKit's default
    assert read.video.can_publish_sources == ["camera"]
    assert read.video.can_update_own_metadata is True
    assert read.video.hidden is True
    assert read.sip.admin is True and read.sip.call is False
    assert read.room_config.empty_timeout == 600
    assert read.room_config.max_participants == 20
    assert read.room_config.metadata == "room meta"


def test_service_claims_read_back_with_the_sdk():
    claims = build_claims(video={"room_create": True, "room_list": True, "room_admin": True, "room_record": True,
                                 "ingress_admin": True})
    read = verify(mint_token(KEY, SECRET, claims))
    assert read.identity == ""
    assert (read.video.room_create, read.video.room_list, read.video.room_admin) == (True, True, True)
    assert (read.video.room_record, read.video.ingress_admin, read.video.room_join) == (True, True, None)


def test_token_is_signed_with_the_secret_and_names_the_key():
    token = mint_token(KEY, SECRET, build_claims(video={"room_list": True}))
    assert decode_claims(token)["iss"] == KEY
    assert SECRET not in token
    with pytest.raises(jwt.InvalidSignatureError):
        verify(token, secret=SECRET + "x")
    with pytest.raises(jwt.InvalidIssuerError):
        verify(token, key="APIotherKey00001")


def test_expiry():
    now = 1_700_000_000
    claims = decode_claims(mint_token(KEY, SECRET, {"video": {"roomList": True}}, ttl=3600, now=now))
    assert (claims["nbf"], claims["exp"]) == (now, now + 3600)
    expired = mint_token(KEY, SECRET, {"video": {"roomList": True}}, ttl=10, now=time.time() - 3600)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(expired)
    fresh = mint_token(KEY, SECRET, {"video": {"roomList": True}}, ttl=parse_duration("6h"))
    assert decode_claims(fresh)["exp"] - time.time() > 6 * 3600 - 60


def test_mint_needs_key_and_secret():
    with pytest.raises(ValueError, match="api_key and api_secret are required"):
        mint_token(KEY, "", {"video": {"roomList": True}})


@pytest.mark.parametrize("value, seconds", [
    (90, 90), ("90", 90), ("15m", 900), ("6h", 21600), ("1d", 86400), (" 2 h ", 7200), ("45s", 45),
])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["1y", "", "h", "-5", 0, "0s", True, "1.5h", None])
def test_parse_duration_refuses(value):
    with pytest.raises(ValueError, match="ttl must be"):
        parse_duration(value)


@pytest.mark.parametrize("kwargs, message", [
    (dict(video={"room_fly": True}), r"unknown grant\(s\): room_fly; known video grants: agent, "),
    (dict(sip={"dial": True}), r"unknown grant\(s\): dial"),
    (dict(video={"room_join": True, "room": "r"}), "a room_join grant needs both identity and room"),
    (dict(identity="a", video={"room_join": True}), "a room_join grant needs both identity and room"),
    (dict(identity="a"), "a token needs at least one grant"),
    (dict(video={"room": "r", "room_join": None}, sip={"admin": None}), "a token needs at least one grant"),
    (dict(video={"room_list": "maybe"}), "grant room_list must be a boolean, got 'maybe'"),
    (dict(video={"room": 5}), "grant room must be a string"),
    (dict(video={"room": "r", "can_publish_sources": ["camera", "webcam"]}), r"unknown track source\(s\)"),
    (dict(video={"room_list": True}, kind="robot"), "kind must be one of standard, ingress, egress, sip, agent"),
    (dict(video={"room_list": True}, attributes=["a"]), "attributes must be a dict"),
    (dict(video={"room_list": True}, room_config="big"), "room_config must be a dict"),
    (dict(video=["room_list"]), "grants must be a dict"),
])
def test_build_claims_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_claims(**kwargs)


def test_build_claims_converts_option_values():
    claims = build_claims(identity="a", metadata={"b": [1, 2]},
                          video={"room": "r", "room_join": "yes", "can_publish_sources": "Microphone"})
    assert claims["metadata"] == '{"b":[1,2]}'
    assert claims["video"] == {"room": "r", "roomJoin": True, "canPublishSources": ["microphone"]}


def test_token_claims_defaults_to_a_join_token():
    assert token_claims(identity="alice", room="r") == {"sub": "alice", "video": {"room": "r", "roomJoin": True}}
    # With grants, they are used as given and room is filled in.
    assert token_claims(identity="bot", room="r", grants={"can_subscribe": True}) == {
        "sub": "bot", "video": {"room": "r", "canSubscribe": True}}
    assert token_claims(room="r", grants={"room_admin": True}) == {"video": {"room": "r", "roomAdmin": True}}
    assert token_claims(sip_grants={"admin": True, "call": None}) == {"sip": {"admin": True}}


@pytest.mark.parametrize("kwargs, message", [
    (dict(room="r"), r"room without grants makes a join token \(room_join\), which needs identity"),
    (dict(identity="a"), "a token needs at least one grant: set room"),
    (dict(identity="a", sip_grants={"admin": None}), "a token needs at least one grant"),
    (dict(room="r", grants={}), "a token needs at least one grant"),
    (dict(identity="a", room="r", grants={"room": "s"}), "room 'r' and grants.room 's' differ"),
    (dict(identity="a", grants="room_join"), "grants must be a dict"),
])
def test_token_claims_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        token_claims(**kwargs)


def test_decode_claims_refuses_garbage():
    with pytest.raises(ValueError, match="not a JWT"):
        decode_claims("not-a-token")
