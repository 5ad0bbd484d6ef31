"""The OpenStack plan (plugins/module_utils/_openstack.py): security groups rule for rule from the deployment model."""

import copy
import os

import yaml
from conftest import ROOT
from test_deployment import inventory_model

from ansible_collections.rtcstack.livekit.plugins.module_utils import _openstack

PLAN_INVENTORY = "tests/e2e/openstack_plan"
SETTINGS = {"flavor": "m1.small", "image": "debian-12", "volume_size": 0, "floating_ip": None}
OPTIONS = {"deployment": "e2e", "private_cidrs": ["10.42.0.0/24"], "ipv6": False, "icmp": True,
           "server_group_policies": {"livekit_sfu": "anti-affinity", "livekit_redis": "soft-anti-affinity"}}


def make(model, options=None, settings=None):
    hosts = list(model["nodes"])
    return _openstack.plan(model, settings or {h: dict(SETTINGS) for h in hosts}, dict(OPTIONS, **(options or {})))


def ingress(sg):
    return sorted((r["protocol"], r.get("port_range_min"), r.get("port_range_max"),
                   r.get("remote_ip_prefix") or r.get("remote_group")) for r in sg["rules"] if r["direction"] == "ingress")


def test_lab_shaped_plan_rule_for_rule():
    p = make(inventory_model(PLAN_INVENTORY))
    assert p["problems"] == []
    sgs = {sg["group"]: sg for sg in p["security_groups"]}
    assert sorted(sgs) == ["livekit_monitoring", "livekit_proxy", "livekit_redis", "livekit_sfu", "livekit_turn"]
    assert sgs["livekit_sfu"]["name"] == "e2e-sfu"
    assert ingress(sgs["livekit_sfu"]) == sorted([
        ("icmp", None, None, "0.0.0.0/0"),
        ("tcp", 22, 22, "0.0.0.0/0"),
        ("tcp", 7880, 7880, "e2e-proxy"),          # livekit-http from the TLS front only
        ("tcp", 7881, 7881, "0.0.0.0/0"),
        ("udp", 50000, 60000, "0.0.0.0/0"),
        ("tcp", 6789, 6789, "e2e-monitoring"),     # metrics from the monitoring group only
        ("tcp", 9100, 9100, "e2e-monitoring"),
    ])
    assert ingress(sgs["livekit_redis"]) == sorted([
        ("icmp", None, None, "0.0.0.0/0"),
        ("tcp", 22, 22, "0.0.0.0/0"),
        ("tcp", 6379, 6379, "e2e-redis"), ("tcp", 6379, 6379, "e2e-sfu"),
        ("tcp", 26379, 26379, "e2e-redis"), ("tcp", 26379, 26379, "e2e-sfu"),
        ("tcp", 9100, 9100, "e2e-monitoring"), ("tcp", 9121, 9121, "e2e-monitoring"),
        ("tcp", 9122, 9122, "e2e-monitoring"),   # the Sentinel exporter
    ])
    assert ingress(sgs["livekit_turn"]) == sorted([
        ("icmp", None, None, "0.0.0.0/0"), ("tcp", 22, 22, "0.0.0.0/0"), ("udp", 3478, 3478, "0.0.0.0/0"),
        ("tcp", 3478, 3478, "0.0.0.0/0"), ("tcp", 5349, 5349, "0.0.0.0/0"), ("udp", 60001, 65535, "0.0.0.0/0"),
        ("tcp", 9100, 9100, "e2e-monitoring"),
    ])
    assert ingress(sgs["livekit_monitoring"]) == sorted([
        ("icmp", None, None, "0.0.0.0/0"), ("tcp", 22, 22, "0.0.0.0/0"), ("tcp", 9100, 9100, "e2e-monitoring"),
        ("tcp", 9090, 9090, "10.42.0.0/24"),       # prometheus from private: the deployment's subnet
    ])
    # Neutron's default egress rules are kept
    assert [r for r in sgs["livekit_sfu"]["rules"] if r["direction"] == "egress"] == _openstack.EGRESS
    servers = {s["name"]: s for s in p["servers"]}
    assert sorted(n for n, s in servers.items() if s["floating_ip"]) == ["os-proxy-1", "os-sfu-1", "os-sfu-2", "os-turn-1"]
    assert servers["os-sfu-1"]["security_groups"] == ["e2e-sfu"]
    assert servers["os-sfu-1"]["metadata"] == {"rtcstack_managed": "rtcstack.livekit", "rtcstack_deployment": "e2e",
                                               "rtcstack_groups": "livekit_sfu"}
    assert servers["os-sfu-1"]["tags"] == ["rtcstack-livekit", "rtcstack-e2e"]
    assert [(g["name"], g["policy"], g["hosts"]) for g in p["server_groups"]] == [
        ("e2e-redis", "soft-anti-affinity", ["os-redis-1", "os-redis-2", "os-redis-3"]),
        ("e2e-sfu", "anti-affinity", ["os-sfu-1", "os-sfu-2"])]
    assert {s["server_group"] for n, s in servers.items() if n.startswith("os-sfu")} == {"e2e-sfu"}
    assert servers["os-proxy-1"]["server_group"] is None
    assert p["needs"]["instances"] == 8 and p["needs"]["floating_ips"] == 4 and p["needs"]["server_group_members"] == 3


def test_internal_ports_never_open_to_the_world():
    m = inventory_model(PLAN_INVENTORY)
    p = make(m)
    for sg in p["security_groups"]:
        host = sg["hosts"][0]
        by_name = {e["name"]: e for e in m["ports"][host]}
        for rule in sg["rules"]:
            if rule.get("remote_ip_prefix") == "0.0.0.0/0" and rule.get("protocol") != "icmp":
                assert "any" in by_name[rule["description"]]["from"], (sg["name"], rule)


def test_the_example_inventory_with_ipv6_and_no_icmp():
    p = make(inventory_model("inventories/example"), {"ipv6": True, "icmp": False})
    assert p["problems"] == []
    sgs = {sg["group"]: sg for sg in p["security_groups"]}
    assert ("udp", 50000, 60000, "::/0") in ingress(sgs["livekit_sfu"])
    assert not [r for r in sgs["livekit_sfu"]["rules"] if r.get("protocol") in ("icmp", "ipv6-icmp")]
    # livekit-prometheus from private (no monitoring group): both private CIDR rules come from OPTIONS
    assert ("tcp", 6789, 6789, "10.42.0.0/24") in ingress(sgs["livekit_sfu"])
    # the ingress worker's http relay is bound, not exposed: no rule
    assert 9090 not in [r.get("port_range_min") for r in sgs["livekit_ingress"]["rules"]]
    # no monitoring group in the example: redis is from private, server group anti-affinity from OPTIONS
    assert ("tcp", 6379, 6379, "10.42.0.0/24") in ingress(sgs["livekit_redis"])


def test_hosts_of_one_group_with_different_ports_are_refused():
    m = inventory_model(PLAN_INVENTORY)
    m = copy.deepcopy(m)
    m["ports"]["os-sfu-2"] = [e for e in m["ports"]["os-sfu-2"] if e["name"] != "livekit-prometheus"]
    p = make(m)
    assert len(p["problems"]) == 1
    assert "os-sfu-1 and os-sfu-2 need different rules (os-sfu-1 has tcp 6789 from e2e-monitoring)" in p["problems"][0]


def test_a_host_in_two_node_groups_is_refused():
    m = copy.deepcopy(inventory_model(PLAN_INVENTORY))
    m["nodes"]["os-turn-1"]["groups"] = ["livekit_redis", "livekit_turn"]
    p = make(m)
    assert "os-turn-1 is in livekit_redis and livekit_turn" in " ".join(p["problems"])


def test_missing_settings_bad_name_and_policy():
    m = inventory_model(PLAN_INVENTORY)
    settings = {h: dict(SETTINGS) for h in m["nodes"]}
    settings["os-sfu-1"]["flavor"] = ""
    settings["os-sfu-2"]["volume_size"] = "big"
    p = make(m, {"deployment": "Bad_Name", "server_group_policies": {"livekit_sfu": "spread"}}, settings)
    text = " | ".join(p["problems"])
    assert "openstack_infra_name must be" in text
    assert "os-sfu-1: openstack_infra_flavor is not set" in text
    assert "os-sfu-2: openstack_infra_volume_size must be a number" in text
    assert "'spread' is not one of" in text


def test_address_problems_are_expected_before_the_servers_exist():
    m = inventory_model(PLAN_INVENTORY)
    assert any(text in p["message"] for p in m["problems"] for text in _openstack.ADDRESS_PROBLEMS)
    assert make(m)["problems"] == []


def test_a_source_group_outside_the_plan_uses_its_addresses():
    m = copy.deepcopy(inventory_model(PLAN_INVENTORY))
    entry = dict(m["ports"]["os-proxy-1"][0], name="ssh-from-ops", **{"from": ["ops"]}, start=2222, end=2222, port=2222)
    for host in ("os-proxy-1",):
        m["ports"][host].append(entry)
    m["sources"]["ops"] = {"group": "ops", "hosts": ["bastion"], "addresses": ["198.51.100.7"], "missing": []}
    sg = {s["group"]: s for s in make(m)["security_groups"]}["livekit_proxy"]
    assert ("tcp", 2222, 2222, "198.51.100.7/32") in ingress(sg)
    m["sources"]["ops"] = {"group": "ops", "hosts": ["bastion"], "addresses": [], "missing": ["bastion"]}
    assert "whose hosts bastion are not in the plan and have no known address" in " ".join(make(m)["problems"])


def test_ownership_marks():
    assert _openstack.owned(_openstack.mark("e2e"), "e2e")
    assert _openstack.owned(_openstack.mark("e2e", "livekit_sfu"), "e2e")
    assert not _openstack.owned(_openstack.mark("e2e2"), "e2e")
    assert not _openstack.owned(None, "e2e")
    with open(os.path.join(ROOT, "roles", "openstack_infra", "vars", "main.yml")) as f:
        mark = yaml.safe_load(f)["_openstack_infra_mark"]
    assert mark.replace("{{ openstack_infra_name }}", "e2e") == _openstack.mark("e2e")


def test_only_some_groups_and_extra_tags():
    m = inventory_model(PLAN_INVENTORY)
    p = make(m, {"groups": ["livekit_sfu"]})
    # the groups outside the plan have no known address yet: named, no rule
    text = " ".join(p["problems"])
    assert "os-sfu-1: livekit-http allows from livekit_proxy, whose hosts os-proxy-1 are not in the plan" in text
    for source, address in (("monitoring", "10.42.0.9"), ("proxy", "10.42.0.7")):
        m["sources"][source]["addresses"] = [address]
        m["sources"][source]["missing"] = []
    p = make(m, {"groups": ["livekit_sfu"], "extra_tags": ["rtcstack-main"]})
    assert p["problems"] == []
    assert [s["name"] for s in p["servers"]] == ["os-sfu-1", "os-sfu-2"]
    assert p["servers"][0]["tags"] == ["rtcstack-livekit", "rtcstack-e2e", "rtcstack-main"]
    rules = ingress(p["security_groups"][0])
    assert ("tcp", 9100, 9100, "10.42.0.9/32") in rules and ("tcp", 7880, 7880, "10.42.0.7/32") in rules


def test_rule_keys_of_the_rules_module():
    from ansible_collections.rtcstack.livekit.plugins.modules import openstack_security_group_rules as rules

    # from anywhere with or without a prefix is one rule; a range ending at 65535 is compared whole
    assert rules._key("ingress", "IPv4", "udp", 60001, 65535, "0.0.0.0/0", None) == \
        rules._key("ingress", "IPv4", "udp", 60001, 65535, None, None)
    key = rules._key
    assert key("ingress", "IPv4", "udp", 60001, 65535, None, None) != key("ingress", "IPv4", "udp", 60001, 65534, None, None)
    assert key("egress", "IPv6", None, None, None, None, None) == key("egress", "IPv6", "any", None, None, "::/0", None)
    assert rules._line(rules._key("ingress", "IPv4", "tcp", 6379, 6379, None, "id-1"), {"id-1": "e2e-sfu"}) == \
        "ingress IPv4 tcp 6379 from e2e-sfu"
    assert rules._line(rules._key("egress", "IPv4", None, None, None, None, None), {}) == "egress IPv4 any to any"
