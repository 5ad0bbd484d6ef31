"""The Twirp client against the real server: auth failures, missing grants, the retry policy on a
real 503 (the server answers 503 to an egress start when no egress worker is connected)."""

import pytest

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitClient, LiveKitError
from ansible_collections.rtcstack.livekit.plugins.module_utils._token import mint_token

pytestmark = pytest.mark.server
EGRESS = ("Egress", "StartRoomCompositeEgress", {"room_name": "no-worker", "file_outputs": [{"filepath": "/tmp/x.mp4"}]})


def client(livekit, **kw):
    kw.setdefault("timeout", 10)
    return LiveKitClient(livekit["ws_url"], livekit["api_key"], livekit["api_secret"], **kw)


def test_wrong_secret_is_a_clear_authentication_error(livekit):
    c = LiveKitClient(livekit["url"], livekit["api_key"], "x" * 40, retries=3)
    with pytest.raises(LiveKitError) as e:
        c.call("RoomService", "ListRooms", {})
    assert e.value.status == 401 and e.value.code == "unauthenticated"
    assert "check api_key and api_secret" in str(e.value)
    assert c.calls == 1, "a 401 must not be retried"
    # The server repeats the refused token in its message; a token must never reach a task result.
    assert "eyJ" not in str(e.value) and "<token>" in str(e.value), str(e.value)


def test_missing_room_grant_is_reported_as_a_grant_problem(livekit):
    # UpdateRoomMetadata needs video.room = the room: call it without room=.
    c = client(livekit)
    c.call("RoomService", "CreateRoom", {"name": "grant-check"})
    with pytest.raises(LiveKitError) as e:
        c.call("RoomService", "UpdateRoomMetadata", {"room": "grant-check", "metadata": "x"})
    assert e.value.code == "permission_denied" and "lacks a grant" in str(e.value)
    c.call("RoomService", "DeleteRoom", {"room": "grant-check"})


def test_token_of_the_client_is_accepted_and_a_forged_one_is_not(livekit):
    c = client(livekit)
    assert "rooms" in c.call("RoomService", "ListRooms", {})
    forged = mint_token(livekit["api_key"], livekit["api_secret"] + "x", {"video": {"roomList": True}})
    c.token = lambda service, room=None: forged
    with pytest.raises(LiveKitError, match="HTTP 401"):
        c.call("RoomService", "ListRooms", {})


def test_real_503_is_retried_only_when_the_call_may_run_twice(livekit):
    # The server waits ~24 s for an egress worker before it answers 503: a 30 s timeout lets it answer.
    client(livekit).call("RoomService", "CreateRoom", {"name": "no-worker"})
    c = client(livekit, timeout=30, retries=1)
    with pytest.raises(LiveKitError, match="HTTP 503 unavailable"):
        c.call(*EGRESS)
    assert c.calls == 2
    c = client(livekit, timeout=30, retries=1)
    with pytest.raises(LiveKitError, match="no response from servers"):
        c.call(*EGRESS, retry_unavailable=False)
    assert c.calls == 1
    client(livekit).call("RoomService", "DeleteRoom", {"room": "no-worker"})
