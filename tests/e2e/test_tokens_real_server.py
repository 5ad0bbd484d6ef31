"""Tokens and key files of the collection against a real livekit-server.

- Tokens minted by the lookup (run by ansible) let a real WebRTC client (livekit.rtc.Room) join the
  test server; a token signed with another secret is refused.
- For the same inputs, the lookup's claims and the official SDK's (AccessToken) read back the same
  through TokenVerifier.
- The server accepts a token for about 60 s past its ``exp`` (and before its ``nbf``): one expired
  20 s ago is accepted, one expired 90 s ago is refused.
- A key file written by the api_key module starts a second livekit-server; a rotation (add key,
  restart, remove the old key, restart) works against it, and the server refuses the file when it
  is readable by others, as the module says. A key id with '.' (the collection's key policy) works.
"""

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from urllib.error import HTTPError

import adhoc
import pytest
import yaml
from conftest import ROOT, TEST_PORT, assert_no_secrets
from livekit import api, rtc

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitClient, LiveKitError
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import read_key_file
from ansible_collections.rtcstack.livekit.plugins.module_utils._token import decode_claims, mint_token

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import local_livekit  # noqa: E402

pytestmark = pytest.mark.server

BIN = os.path.dirname(sys.executable)
SECOND_PORT = TEST_PORT + 10  # the second server uses this port and the next two
CONNECT_TIMEOUT = 20


def lookup_tokens(tmp_path, cases, livekit=None):
    """Tokens from the access_token lookup, one per dict of options, minted by ansible-playbook."""
    out = tmp_path / "tokens.json"
    playbook = tmp_path / "mint.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Mint", "ansible.builtin.set_fact": {
                "tokens": "{{ tokens | default([]) + [lookup('rtcstack.livekit.access_token', **item)] }}"},
             "loop": "{{ cases }}", "no_log": True},
            {"name": "Save", "ansible.builtin.copy": {
                "dest": str(out), "content": "{{ tokens | to_json }}", "mode": "0600"}, "no_log": True},
        ]}]))
    (tmp_path / "cases.json").write_text(json.dumps({"cases": cases}))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(playbook), "-e", "@%s" % (tmp_path / "cases.json")],
                          env=adhoc.ansible_env(livekit), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    if livekit:
        assert_no_secrets(proc.stdout, livekit.secrets, "the lookup's output")
    return json.loads(out.read_text())


def run_module(module, args, secrets=()):
    """Run one module of the collection on localhost; return its result (it must not fail)."""
    result = adhoc.run_module(module, args)
    assert_no_secrets(result["_output"], secrets, "the output of %s" % module)
    assert not result.get("failed"), result
    return result


async def join(ws_url, token):
    """Connect a real WebRTC client, return what it saw of itself, disconnect."""
    room = rtc.Room()
    try:
        await asyncio.wait_for(room.connect(ws_url, token, rtc.RoomOptions(auto_subscribe=False)), CONNECT_TIMEOUT)
        return {"identity": room.local_participant.identity, "name": room.local_participant.name,
                "room": room.name, "connected": room.isconnected()}
    finally:
        await asyncio.wait_for(room.disconnect(), CONNECT_TIMEOUT)


def participants(client, room):
    found = client.call("RoomService", "ListParticipants", {"room": room}, room=room)
    return [(p["identity"], p["name"]) for p in found.get("participants") or []]


def test_lookup_token_joins_the_real_server(livekit, tmp_path):
    room = "e2e-token-%d" % os.getpid()
    token, = lookup_tokens(tmp_path, [{"identity": "e2e-alice", "name": "Alice", "room": room, "ttl": "5m"}],
                           livekit)
    claims = decode_claims(token)
    assert claims["iss"] == livekit["api_key"]
    assert claims["video"] == {"room": room, "roomJoin": True}
    client = LiveKitClient(livekit["url"], livekit["api_key"], livekit["api_secret"])

    async def check():
        room_client = rtc.Room()
        await asyncio.wait_for(room_client.connect(livekit["ws_url"], token, rtc.RoomOptions(auto_subscribe=False)),
                               CONNECT_TIMEOUT)
        try:
            assert room_client.isconnected()
            assert room_client.local_participant.identity == "e2e-alice"
            assert room_client.name == room
            seen = await asyncio.get_running_loop().run_in_executor(None, participants, client, room)
            assert ("e2e-alice", "Alice") in seen
        finally:
            await asyncio.wait_for(room_client.disconnect(), CONNECT_TIMEOUT)

    asyncio.run(check())
    client.call("RoomService", "DeleteRoom", {"room": room})


def test_room_config_claim_configures_the_new_room(livekit, tmp_path):
    room = "e2e-token-config-%d" % os.getpid()
    token, = lookup_tokens(tmp_path, [{
        "identity": "e2e-first", "room": room,
        "room_config": {"empty_timeout": 42, "max_participants": 3, "metadata": "from-token"}}], livekit)
    seen = asyncio.run(join(livekit["ws_url"], token))
    assert seen["identity"] == "e2e-first" and seen["room"] == room
    client = LiveKitClient(livekit["url"], livekit["api_key"], livekit["api_secret"])
    rooms = client.call("RoomService", "ListRooms", {"names": [room]})["rooms"]
    assert [(r["empty_timeout"], r["max_participants"], r["metadata"]) for r in rooms] == [(42, 3, "from-token")]
    client.call("RoomService", "DeleteRoom", {"room": room})


def test_token_with_a_wrong_secret_is_refused(livekit, tmp_path):
    wrong = "wrong-secret-%s" % ("x" * 32)
    join_token, list_token = lookup_tokens(tmp_path, [
        {"identity": "e2e-mallory", "room": "e2e-token-refused", "api_secret": wrong},
        {"grants": {"room_list": True}, "api_secret": wrong},
    ], livekit)
    assert decode_claims(join_token)["iss"] == livekit["api_key"]  # the right key, the wrong secret
    with pytest.raises(rtc.ConnectError):
        asyncio.run(join(livekit["ws_url"], join_token))
    client = LiveKitClient(livekit["url"], livekit["api_key"], wrong, retries=0)
    with pytest.raises(LiveKitError) as e:
        client.call("RoomService", "ListRooms", {})
    assert e.value.status == 401


def list_rooms_status(url, token):
    """HTTP status of ListRooms called with ``token`` as it is (no retry, no new token)."""
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
    endpoint = url + "/twirp/livekit.RoomService/ListRooms"
    request = urllib.request.Request(endpoint, data=b"{}", headers=headers, method="POST")  # noqa: S310 (test server)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the test server's http URL)
            return response.status
    except HTTPError as e:
        return e.code


def test_server_accepts_a_token_for_about_a_minute_past_exp_and_before_nbf(livekit):
    """livekit/protocol's verifier allows one minute of leeway on exp and nbf (docs/tokens-and-keys.md)."""
    key, secret, now = livekit["api_key"], livekit["api_secret"], time.time()
    grants = {"video": {"roomList": True}}

    def status(issued, ttl=10):
        return list_rooms_status(livekit["url"], mint_token(key, secret, grants, ttl=ttl, now=issued))

    assert status(now - 30) == 200      # exp 20 s ago: inside the leeway
    assert status(now - 100) == 401     # exp 90 s ago: refused
    assert status(now + 20, 600) == 200   # nbf 20 s ahead (a controller clock ahead of the server's)
    assert status(now + 90, 600) == 401   # nbf 90 s ahead: refused
    room = "e2e-token-leeway-%d" % os.getpid()
    join_token = mint_token(key, secret, {"sub": "e2e-late", "video": {"roomJoin": True, "room": room}},
                            ttl=10, now=now - 30)
    seen = asyncio.run(join(livekit["ws_url"], join_token))
    assert seen["identity"] == "e2e-late" and seen["connected"]
    LiveKitClient(livekit["url"], key, secret).call("RoomService", "DeleteRoom", {"room": room})


def sdk_token(key, secret, case):
    token = api.AccessToken(key, secret)
    if case.get("identity"):
        token.with_identity(case["identity"])
    if case.get("name"):
        token.with_name(case["name"])
    if case.get("metadata"):
        token.with_metadata(case["metadata"])
    if case.get("attributes"):
        token.with_attributes(case["attributes"])
    if case.get("kind"):
        token.with_kind(case["kind"])
    if case.get("sdk_video"):
        token.with_grants(api.VideoGrants(**case["sdk_video"]))
    if case.get("sip_grants"):
        token.with_sip_grants(api.SIPGrants(**case["sip_grants"]))
    if case.get("room_config"):
        from livekit.protocol.room import RoomConfiguration
        token.with_room_config(RoomConfiguration(**case["room_config"]))
    return token.to_jwt()


CROSS_CASES = [
    # lookup options, plus sdk_video: the same grants as the SDK spells them
    {"identity": "alice", "room": "r1", "sdk_video": {"room_join": True, "room": "r1"}},
    {"identity": "viewer", "name": "Viewer", "room": "r1", "metadata": '{"role": "viewer"}',
     "attributes": {"seat": "12"},
     "grants": {"room_join": True, "can_publish": False, "can_publish_data": False, "hidden": True},
     "sdk_video": {"room_join": True, "room": "r1", "can_publish": False, "can_publish_data": False,
                   "hidden": True}},
    {"identity": "cam", "room": "r2", "kind": "ingress",
     "grants": {"room_join": True, "can_publish_sources": ["camera", "microphone"]},
     "sdk_video": {"room_join": True, "room": "r2", "can_publish_sources": ["camera", "microphone"]}},
    {"grants": {"room_create": True, "room_list": True, "room_admin": True, "room_record": True,
                "ingress_admin": True},
     "sdk_video": {"room_create": True, "room_list": True, "room_admin": True, "room_record": True,
                   "ingress_admin": True}},
    {"sip_grants": {"admin": True, "call": True}},
    {"identity": "host", "room": "r3", "room_config": {"empty_timeout": 60, "max_participants": 8},
     "sdk_video": {"room_join": True, "room": "r3"}},
]


def test_lookup_and_sdk_claims_read_back_the_same(livekit, tmp_path):
    key, secret = livekit["api_key"], livekit["api_secret"]
    ours = lookup_tokens(tmp_path, [dict((k, v) for k, v in c.items() if k != "sdk_video") for c in CROSS_CASES],
                         livekit)
    verifier = api.TokenVerifier(key, secret)
    for case, token in zip(CROSS_CASES, ours):
        mine, theirs = verifier.verify(token), verifier.verify(sdk_token(key, secret, case))
        for field in ("identity", "name", "metadata", "attributes", "kind", "room_config"):
            assert getattr(mine, field) == getattr(theirs, field), (case, field)
        assert dataclasses.asdict(mine.video) == dataclasses.asdict(theirs.video), case
        assert dataclasses.asdict(mine.sip) == dataclasses.asdict(theirs.sip), case


# -- a second server started with the key file the api_key module writes ----------------------------

@contextlib.contextmanager
def second_server(workdir, key_file):
    """Start livekit-server with ``key_file`` on SECOND_PORT; yield its (url, ws_url); stop it."""
    for port in (SECOND_PORT, SECOND_PORT + 1):
        if local_livekit.port_open(port):
            pytest.fail("port %d is taken: set RTCSTACK_TEST_PORT to a free range" % port)
    config = os.path.join(workdir, "second.yaml")
    with open(config, "w") as f:
        f.write("\n".join([
            "port: %d" % SECOND_PORT, "bind_addresses: [127.0.0.1]", "rtc:", "  tcp_port: %d" % (SECOND_PORT + 1),
            "  udp_port: %d" % (SECOND_PORT + 2), "  node_ip: 127.0.0.1", "  use_external_ip: false",
            "key_file: %s" % key_file, "logging:", "  level: info", ""]))
    log = os.path.join(workdir, "second.log")
    with open(log, "ab") as out:
        proc = subprocess.Popen([local_livekit.server_binary(), "--config", config], stdout=out,
                                stderr=subprocess.STDOUT, cwd=workdir, env=local_livekit.clean_env())
    url = "http://127.0.0.1:%d" % SECOND_PORT
    try:
        deadline = time.monotonic() + 30
        while not local_livekit.http_ok(url + "/"):
            if proc.poll() is not None or time.monotonic() > deadline:
                with open(log) as f:
                    pytest.fail("the second livekit-server did not start: %s" % f.read()[-2000:])
            time.sleep(0.2)
        yield url, "ws://127.0.0.1:%d" % SECOND_PORT
    finally:
        stop(proc)


def stop(proc):
    # livekit-server drains on the first SIGTERM and exits on the second.
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue


def key_secrets(path):
    return read_key_file(path).as_dict()


def test_key_file_from_the_module_runs_a_server_and_rotates(tmp_path):
    workdir = str(tmp_path)
    key_file = os.path.join(workdir, "keys.yaml")
    first = run_module("api_key", {"path": key_file})
    assert first["changed"] and first["mode"] == "0600"
    old = first["key"]
    secrets = key_secrets(key_file)
    assert list(secrets) == [old] and len(secrets[old]) == 43

    with second_server(workdir, key_file) as (url, ws_url):
        client = LiveKitClient(url, old, secrets[old], retries=0)
        assert client.call("RoomService", "ListRooms", {}).get("rooms", []) == []
        # A join token minted on the "server host" from the same key file; the secret stays in the file.
        minted = run_module("access_token", {"key_file": key_file, "identity": "e2e-keyfile", "room": "e2e-second"},
                            secrets=list(secrets.values()))
        assert minted["changed"] is False and minted["claims"]["iss"] == old
        seen = asyncio.run(join(ws_url, minted["token"]))
        assert seen == {"identity": "e2e-keyfile", "name": "", "room": "e2e-second", "connected": True}

    # Rotation: add a key, restart, both work; remove the old key, restart, only the new one works.
    rotated = run_module("api_key", {"path": key_file, "rotate": True}, secrets=list(secrets.values()))
    new = rotated["key"]
    assert rotated["changed"] and rotated["keys"] == [old, new]
    secrets = key_secrets(key_file)
    with second_server(workdir, key_file) as (url, ws_url):
        for key in (old, new):
            LiveKitClient(url, key, secrets[key], retries=0).call("RoomService", "ListRooms", {})
    removed = run_module("api_key", {"path": key_file, "key": old, "state": "absent"}, secrets=list(secrets.values()))
    assert removed["changed"] and removed["keys"] == [new]
    with second_server(workdir, key_file) as (url, ws_url):
        LiveKitClient(url, new, secrets[new], retries=0).call("RoomService", "ListRooms", {})
        with pytest.raises(LiveKitError) as e:
            LiveKitClient(url, old, secrets[old], retries=0).call("RoomService", "ListRooms", {})
        assert e.value.status == 401


@pytest.mark.parametrize("content, mode, message", [
    (None, 0o644, "key file others permissions must be set to 0"),
    ("APIdup000000001: %s\nAPIdup000000001: %s\n" % ("a" * 40, "b" * 40), 0o600,
     'mapping key "APIdup000000001" already defined'),
])
def test_server_refuses_what_the_module_refuses(tmp_path, content, mode, message):
    """The rules the module enforces (no "other" bits, no duplicate keys) are the server's rules."""
    key_file = str(tmp_path / "keys.yaml")
    if content is None:
        run_module("api_key", {"path": key_file})
    else:
        with open(key_file, "w") as f:
            f.write(content)
    os.chmod(key_file, mode)
    config = str(tmp_path / "refused.yaml")
    with open(config, "w") as f:
        f.write("port: %d\nbind_addresses: [127.0.0.1]\nkey_file: %s\n" % (SECOND_PORT, key_file))
    # The server prints the error and exits (with status 0); it never listens.
    proc = subprocess.run([local_livekit.server_binary(), "--config", config], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=30, env=local_livekit.clean_env(), check=False)
    assert message in proc.stdout


def test_key_policy_against_the_server(tmp_path):
    """A key id with '.' (allowed by the collection's pattern) works; a secret shorter than 32 characters
    is only logged as an error by the server: the collection's MIN_SECRET_LENGTH refuses what it warns about."""
    workdir = str(tmp_path)
    key_file = os.path.join(workdir, "keys.yaml")
    dotted = run_module("api_key", {"path": key_file, "key": "lab.e2e-key.1"})
    assert dotted["changed"] and dotted["keys"] == ["lab.e2e-key.1"]
    short = "short-e2e-secret"  # test-only, 16 characters
    with open(key_file, "a") as f:
        f.write("APIshorte2e0001: %s\n" % short)
    secrets = key_secrets(key_file)
    with second_server(workdir, key_file) as (url, ws_url):
        for key in ("lab.e2e-key.1", "APIshorte2e0001"):
            LiveKitClient(url, key, secrets[key], retries=0).call("RoomService", "ListRooms", {})
    with open(os.path.join(workdir, "second.log")) as f:
        log = f.read()
    assert "secret is too short, should be at least 32 characters" in log
    assert short not in log
