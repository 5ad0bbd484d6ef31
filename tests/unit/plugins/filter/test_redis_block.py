"""rtcstack.livekit.redis_block: the facts the redis role publishes -> LiveKit's ``redis:`` block."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rtcstack.livekit.plugins.filter.redis_block import FilterModule, redis_block

PASSWORD = "p" * 40
OMIT = "__omit_place_holder__0123456789abcdef"


def pub(address, mode="standalone", port=6379, sentinel_port=None, master_name=None, tls=False, username=None):
    return {"redis_published": {"mode": mode, "address": address, "port": port, "sentinel_port": sentinel_port,
                                "master_name": master_name, "tls": tls, "username": username}}


def sentinel_hostvars(**kw):
    return {
        "r1": pub("10.0.0.1", "sentinel", sentinel_port=26379, master_name="livekit", **kw),
        "r2": pub("10.0.0.2", "sentinel", sentinel_port=26379, master_name="livekit", **kw),
        "r3": pub("10.0.0.3", "sentinel", sentinel_port=26379, master_name="livekit", **kw),
    }


def cluster_hostvars(**kw):
    return {"c%d" % i: pub("10.0.1.%d" % i, "cluster", **kw) for i in range(1, 7)}


def test_registered_under_its_name():
    assert FilterModule().filters()["redis_block"] is redis_block


def test_standalone_without_password():
    assert redis_block(["r1"], {"r1": pub("10.0.0.1")}) == {"address": "10.0.0.1:6379"}


def test_standalone_with_password():
    assert redis_block(["r1"], {"r1": pub("10.0.0.1", port=6380)}, password=PASSWORD) == {
        "address": "10.0.0.1:6380",
        "password": PASSWORD,
    }


@pytest.mark.parametrize("password", [None, "", OMIT])
def test_omitted_password_adds_no_secret(password):
    block = redis_block(["r1", "r2", "r3"], sentinel_hostvars(), password=password)
    assert "password" not in block and "sentinel_password" not in block


def test_sentinel():
    assert redis_block(["r1", "r2", "r3"], sentinel_hostvars(), password=PASSWORD) == {
        "sentinel_master_name": "livekit",
        "sentinel_addresses": ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"],
        "password": PASSWORD,
        "sentinel_password": PASSWORD,
    }


def test_sentinel_keeps_host_order():
    block = redis_block(["r3", "r1", "r2"], sentinel_hostvars())
    assert block["sentinel_addresses"] == ["10.0.0.3:26379", "10.0.0.1:26379", "10.0.0.2:26379"]


def test_cluster():
    hosts = ["c%d" % i for i in range(1, 7)]
    block = redis_block(hosts, cluster_hostvars(), password=PASSWORD)
    assert block == {"cluster_addresses": ["10.0.1.%d:6379" % i for i in range(1, 7)], "password": PASSWORD}


def test_tls_flag():
    assert redis_block(["r1"], {"r1": pub("10.0.0.1", tls=True)}) == {"address": "10.0.0.1:6379", "tls": {"enabled": True}}
    block = redis_block(["c%d" % i for i in range(1, 7)], cluster_hostvars(tls=True))
    assert block["tls"] == {"enabled": True}


def test_acl_user_comes_with_the_password():
    hostvars = {"r1": pub("10.0.0.1", username="livekit")}
    assert redis_block(["r1"], hostvars, password=PASSWORD) == {
        "address": "10.0.0.1:6379", "username": "livekit", "password": PASSWORD,
    }
    assert redis_block(["r1"], hostvars) == {"address": "10.0.0.1:6379"}


def test_ipv6_address_in_brackets():
    assert redis_block(["r1"], {"r1": pub("fd00::5")}) == {"address": "[fd00::5]:6379"}


def test_single_host_name_as_string():
    assert redis_block("r1", {"r1": pub("10.0.0.1")}) == {"address": "10.0.0.1:6379"}


def test_never_reads_a_password_from_the_facts():
    hostvars = {"r1": pub("10.0.0.1")}
    hostvars["r1"]["redis_published"]["password"] = "leaked"
    hostvars["r1"]["redis_password"] = "leaked"
    assert "leaked" not in repr(redis_block(["r1"], hostvars))


@pytest.mark.parametrize(
    "hosts, hostvars, message",
    [
        ([], {}, "non-empty list"),
        (["r1"], {}, "'r1' is not in hostvars"),
        (["r1"], {"r1": {}}, "'r1' has no redis_published fact"),
        (["r1"], {"r1": {"redis_published": "x"}}, "has no redis_published fact"),
        (["r1"], {"r1": pub("")}, "has no address"),
        (["r1"], {"r1": pub("10.0.0.1", mode="replica")}, "unknown mode 'replica'"),
        (["r1"], {"r1": pub("10.0.0.1", mode="sentinel", master_name="x")}, "published no sentinel_port"),
        (["r1", "r2"], {"r1": pub("10.0.0.1"), "r2": pub("10.0.0.2")}, "standalone mode has one Redis host, got 2"),
        (["r1", "c1"], {"r1": pub("10.0.0.1"), "c1": pub("10.0.0.2", "cluster")}, "disagree on mode"),
        (["c1", "c2"], {"c1": pub("10.0.0.1", "cluster"), "c2": pub("10.0.0.2", "cluster", tls=True)}, "disagree on tls"),
    ],
)
def test_refuses_bad_input_with_a_clear_message(hosts, hostvars, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        redis_block(hosts, hostvars, password=PASSWORD)


def test_sentinel_master_name_must_agree():
    hostvars = sentinel_hostvars()
    hostvars["r3"]["redis_published"]["master_name"] = "other"
    with pytest.raises(AnsibleFilterError, match="disagree on master_name"):
        redis_block(["r1", "r2", "r3"], hostvars)


def test_error_messages_never_contain_the_password():
    with pytest.raises(AnsibleFilterError) as err:
        redis_block(["r1", "r2"], {"r1": pub("10.0.0.1"), "r2": pub("10.0.0.2")}, password=PASSWORD)
    assert PASSWORD not in str(err.value)
