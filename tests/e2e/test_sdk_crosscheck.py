"""What the modules create, the official SDK (livekit-api) sees, and the reverse."""

import asyncio
import uuid

import pytest
from adhoc import run_module
from conftest import assert_no_secrets
from livekit import api

pytestmark = pytest.mark.server


def sdk(livekit, work):
    async def main():
        lk = api.LiveKitAPI(livekit["url"], livekit["api_key"], livekit["api_secret"])
        try:
            return await work(lk)
        finally:
            await lk.aclose()
    return asyncio.run(main())


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def test_room_made_by_module_is_seen_by_sdk_and_back(livekit):
    name = unique("xc-room")
    made = run_module("room", {"name": name, "empty_timeout": 700, "max_participants": 7, "metadata": "from-module"}, livekit)
    assert made["changed"] and made["room"]["sid"].startswith("RM_")
    rooms = sdk(livekit, lambda lk: lk.room.list_rooms(api.ListRoomsRequest(names=[name]))).rooms
    assert [(r.sid, r.empty_timeout, r.max_participants, r.metadata) for r in rooms] == \
        [(made["room"]["sid"], 700, 7, "from-module")]

    sdk_name = unique("xc-sdk-room")
    sdk(livekit, lambda lk: lk.room.create_room(api.CreateRoomRequest(name=sdk_name, max_participants=3, metadata="from-sdk")))
    seen = run_module("room_info", {"names": [sdk_name]}, livekit)
    assert [(r["name"], r["max_participants"], r["metadata"]) for r in seen["rooms"]] == [(sdk_name, 3, "from-sdk")]
    same = run_module("room", {"name": sdk_name, "max_participants": 3, "metadata": "from-sdk"}, livekit)
    assert not same["changed"]

    gone = run_module("room", {"rooms": [{"name": name, "state": "absent"}, {"name": sdk_name, "state": "absent"}]}, livekit)
    assert gone["changed"]
    assert sdk(livekit, lambda lk: lk.room.list_rooms(api.ListRoomsRequest(names=[name, sdk_name]))).rooms == []
    for result in (made, seen, same, gone):
        assert_no_secrets(result["_output"], livekit.secrets, "room module output")


def test_ingress_made_by_module_is_seen_by_sdk_and_back(livekit):
    name = unique("xc-ingress")
    made = run_module("ingress", {"name": name, "input_type": "rtmp", "room_name": "xc", "participant_identity": "cam"}, livekit)
    assert made["changed"]
    items = sdk(livekit, lambda lk: lk.ingress.list_ingress(api.ListIngressRequest())).items
    mine = [i for i in items if i.name == name]
    assert len(mine) == 1 and mine[0].ingress_id == made["ingress"]["ingress_id"]
    assert mine[0].input_type == api.IngressInput.RTMP_INPUT and mine[0].participant_identity == "cam"
    assert mine[0].stream_key and mine[0].stream_key not in made["_output"], "stream key must not be printed"

    sdk_name = unique("xc-sdk-ingress")
    created = sdk(livekit, lambda lk: lk.ingress.create_ingress(api.CreateIngressRequest(
        input_type=api.IngressInput.WHIP_INPUT, name=sdk_name, room_name="xc", participant_identity="whip")))
    seen = run_module("ingress_info", {"names": [sdk_name]}, livekit)
    assert [i["ingress_id"] for i in seen["ingresses"]] == [created.ingress_id]
    assert created.stream_key not in seen["_output"]

    gone = run_module("ingress", {"ingresses": [{"name": name, "state": "absent"}, {"name": sdk_name, "state": "absent"}]},
                      livekit)
    assert [a["action"] for a in gone["actions"]] == ["deleted", "deleted"]
    items = sdk(livekit, lambda lk: lk.ingress.list_ingress(api.ListIngressRequest())).items
    assert not [i for i in items if i.name in (name, sdk_name)]


def test_sip_trunk_made_by_module_is_seen_by_sdk(livekit):
    name = unique("xc-trunk")
    password = uuid.uuid4().hex
    number = "+1555%07d" % (uuid.uuid4().int % 10 ** 7)
    made = run_module("sip_inbound_trunk", {"name": name, "numbers": [number], "auth_username": "xc",
                                            "auth_password": password}, livekit)
    assert made["changed"]
    assert password not in made["_output"]
    trunks = sdk(livekit, lambda lk: lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())).items
    mine = [t for t in trunks if t.name == name]
    assert len(mine) == 1 and list(mine[0].numbers) == [number] and mine[0].auth_password == password
    again = run_module("sip_inbound_trunk", {"name": name, "numbers": [number], "auth_username": "xc",
                                             "auth_password": password}, livekit)
    assert not again["changed"]
    sdk(livekit, lambda lk: lk.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=mine[0].sip_trunk_id)))
    seen = run_module("sip_info", {"names": [name]}, livekit)
    assert not seen.get("failed")
