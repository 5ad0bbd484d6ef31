"""The deployment model (plugins/module_utils/_deployment.py) from real inventories and from small ones."""

import json
import os

import pytest
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager
from conftest import ROOT

from ansible_collections.rtcstack.livekit.plugins.action.deployment import role_defaults
from ansible_collections.rtcstack.livekit.plugins.module_utils import _deployment as model

DEFAULTS = role_defaults(os.path.join(ROOT, "roles"))
SECRETS = {
    "api": "unit-api-secret-3f9a1c7e5b2d4a6c8e0f",
    "redis": "unit-redis-password-8d2b6f4a0c1e3a5b7d",
    "turn": "unit-turn-secret-1c3e5a7b9d0f2e4a6c8b",
}


def inventory_model(path, facts=None, without=()):
    """The model of an inventory directory, its secrets given as extra vars, facts set per host; the groups named
    in WITHOUT left out."""
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[os.path.join(ROOT, path)])
    manager = VariableManager(loader=loader, inventory=inventory)
    manager._extra_vars = {
        "vault_livekit_api_keys": {"APIunit0000001": SECRETS["api"]},
        "vault_redis_password": SECRETS["redis"],
        "vault_coturn_static_auth_secret": SECRETS["turn"],
    }
    if "lab" in path:  # the lab's secrets come from scripts/lab.sh
        manager._extra_vars.update(livekit_api_keys={"APIunit0000001": SECRETS["api"]}, redis_password=SECRETS["redis"],
                                   coturn_static_auth_secret=SECRETS["turn"])
    for host, host_facts in (facts or {}).items():
        manager.set_host_facts(host, host_facts)
    hostvars = HostVars(inventory=inventory, variable_manager=manager, loader=loader)
    groups = {g.name: [h.name for h in g.get_hosts()] for g in inventory.groups.values() if g.name not in without}
    return model.build(groups, hostvars, DEFAULTS)


def lab_facts():
    """Addresses as the lab's podman network gives them (10.89.1.0/24), in gathered-facts form."""
    hosts = ["lab-redis-1", "lab-redis-2", "lab-redis-3", "lab-sfu-1", "lab-sfu-2", "lab-turn-1", "lab-proxy-1",
             "lab-monitoring-1"]
    return {h: {"default_ipv4": {"address": "10.89.1.%d" % (10 + i)}, "all_ipv4_addresses": ["10.89.1.%d" % (10 + i)],
                "all_ipv6_addresses": ["fe80::1"]} for i, h in enumerate(hosts)}


def summary(ports):
    return [(e["owner"], e["name"], e["proto"], e["port"], e["from"]) for e in ports]


def test_example_inventory_ports_per_host():
    m = inventory_model("inventories/example")
    assert m["problems"] == []
    assert summary(m["ports"]["sfu-1"]) == [
        ("firewall_ssh", "ssh", "tcp", 22, ["any"]),
        ("livekit_server", "livekit-http", "tcp", 7880, ["proxy"]),
        ("livekit_server", "livekit-rtc-tcp", "tcp", 7881, ["any"]),
        ("livekit_server", "livekit-rtc-udp", "udp", "50000-60000", ["any"]),
        ("livekit_server", "livekit-prometheus", "tcp", 6789, ["private"]),
    ]
    assert summary(m["ports"]["turn-1"])[1:] == [
        ("coturn", "turn-udp", "udp", 3478, ["any"]),
        ("coturn", "turn-tcp", "tcp", 3478, ["any"]),
        ("coturn", "turn-tls-5349", "tcp", 5349, ["any"]),
        ("coturn", "turn-relay", "udp", "60001-65535", ["any"]),
    ]
    assert [e["port"] for e in m["ports"]["redis-2"]] == [22, 6379, 26379]
    assert [e["port"] for e in m["ports"]["edge-1"]] == [22, 80, 443]
    assert [(e["name"], e["expose"]) for e in m["ports"]["ingress-1"]][-1] == ("livekit-ingress-http-relay", False)
    assert [e["port"] for e in m["ports"]["egress-1"]] == [22, 7890, 7891, 7980]
    assert m["ports"]["loadgen-1"] == [dict(m["ports"]["sfu-1"][0])]
    assert m["nodes"]["sfu-2"]["roles"] == ["firewall", "node_tuning", "livekit_server"]
    assert m["nodes"]["sfu-2"]["addresses"]["public"] == "203.0.113.22"
    assert m["sources"]["proxy"] == {"group": "livekit_proxy", "hosts": ["edge-1"], "addresses": ["203.0.113.41"], "missing": []}
    # Redis sentinel endpoints from redis_bind_address (private_ip in the example)
    assert m["redis"]["mode"] == "sentinel"
    assert m["redis"]["sentinel_endpoints"] == ["10.0.1.11:26379", "10.0.1.12:26379", "10.0.1.13:26379"]
    assert m["redis"]["master_name"] == "livekit"
    assert m["turn"]["servers"][1]["relay"] == {"start": 60001, "end": 65535}
    assert m["keys"] == {"variable": "livekit_api_keys", "ids": ["APIunit0000001"]}
    assert [n["rtc_udp"] for n in m["sfu"]["nodes"]] == [{"start": 50000, "end": 60000}] * 3


def test_no_secret_anywhere_in_the_model():
    for path in ("inventories/example", "inventories/lab"):
        text = json.dumps(inventory_model(path, lab_facts()))
        for secret in SECRETS.values():
            assert secret not in text
        assert "redis_password" in text and "coturn_static_auth_secret" in text


# The rule lines the firewall role wrote for the lab before the model (the livekit_ports_* facts of each role, the
# SSH entry and the Jinja source resolution), with the lab's addresses: the model must give the same ruleset.
LAB_RULES_BEFORE = {
    "lab-sfu-1": [
        'tcp dport 22 accept comment "ssh"',
        'ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } tcp dport 6789 accept comment "livekit-prometheus"',
        'ip6 saddr fc00::/7 tcp dport 6789 accept comment "livekit-prometheus"',
        'ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } tcp dport 7880 accept comment "livekit-http"',
        'ip6 saddr fc00::/7 tcp dport 7880 accept comment "livekit-http"',
        'tcp dport 7881 accept comment "livekit-rtc-tcp"',
        'udp dport 50000-50200 accept comment "livekit-rtc-udp"',
    ],
    "lab-turn-1": [
        'tcp dport 22 accept comment "ssh"',
        'tcp dport 3478 accept comment "turn-tcp"',
        'udp dport 3478 accept comment "turn-udp"',
        'tcp dport 5349 accept comment "turn-tls-5349"',
        'udp dport 60001-65535 accept comment "turn-relay"',
    ],
    "lab-redis-1": [
        'tcp dport 22 accept comment "ssh"',
        'ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } tcp dport 6379 accept comment "redis"',
        'ip6 saddr fc00::/7 tcp dport 6379 accept comment "redis"',
        'ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } tcp dport 26379 accept comment "redis-sentinel"',
        'ip6 saddr fc00::/7 tcp dport 26379 accept comment "redis-sentinel"',
    ],
    "lab-proxy-1": [
        'tcp dport 22 accept comment "ssh"',
        'tcp dport 80 accept comment "proxy-http"',
        'tcp dport 443 accept comment "proxy-https"',
    ],
}


@pytest.mark.parametrize("host", sorted(LAB_RULES_BEFORE))
def test_lab_ruleset_is_unchanged(host):
    m = inventory_model("inventories/lab", lab_facts(), without=("livekit_monitoring",))
    assert m["problems"] == []
    node = model.node(m, host)
    assert model.nft_rules(node["ports"], groups=node["sources"]) == LAB_RULES_BEFORE[host]


# With the lab's Prometheus host (10.89.1.17): the metrics ports open to it alone, the rest as before.
LAB_MONITORING_RULES = {
    "lab-sfu-1": ['ip saddr 10.89.1.17 tcp dport 6789 accept comment "livekit-prometheus"',
                  'ip saddr 10.89.1.17 tcp dport 9100 accept comment "node-exporter"'],
    "lab-redis-1": ['ip saddr 10.89.1.17 tcp dport 9100 accept comment "node-exporter"',
                    'ip saddr 10.89.1.17 tcp dport 9121 accept comment "redis-exporter"',
                    'ip saddr 10.89.1.17 tcp dport 9122 accept comment "redis-sentinel-exporter"'],
    "lab-proxy-1": ['ip saddr 10.89.1.17 tcp dport 9100 accept comment "node-exporter"',
                    'ip saddr 10.89.1.17 tcp dport 9113 accept comment "nginx-exporter"'],
    "lab-turn-1": ['ip saddr 10.89.1.17 tcp dport 9100 accept comment "node-exporter"'],
}


@pytest.mark.parametrize("host", sorted(LAB_MONITORING_RULES))
def test_lab_with_monitoring_opens_metrics_ports_to_the_monitoring_host_only(host):
    m = inventory_model("inventories/lab", lab_facts())
    assert m["problems"] == []
    node = model.node(m, host)
    rules = model.nft_rules(node["ports"], groups=node["sources"])
    before = [r for r in LAB_RULES_BEFORE[host] if "livekit-prometheus" not in r]
    assert sorted(rules) == sorted(before + LAB_MONITORING_RULES[host])
    assert len(m["monitoring"]["jobs"]["node"]) == 8 and len(m["monitoring"]["jobs"]["livekit"]) == 2
    assert len(m["monitoring"]["jobs"]["redis_sentinel"]) == 3 and len(m["monitoring"]["jobs"]["nginx"]) == 1
    # blackbox-exporter probes the TLS front (with its server name) and coturn's TCP port
    assert m["monitoring"]["jobs"]["tls_front"] == [{"targets": ["10.89.1.16:443"],
                                                     "labels": {"instance": "lab-proxy-1", "server_name": "livekit.lab.test"}}]
    assert m["monitoring"]["jobs"]["turn"] == [{"targets": ["10.89.1.15:3478"], "labels": {"instance": "lab-turn-1"}}]
    # stub_status and blackbox-exporter are bound to loopback: in the model (overlap checks), never opened
    assert [(e["name"], e["expose"]) for e in m["ports"]["lab-proxy-1"] if e["name"] == "nginx-stub-status"] == [
        ("nginx-stub-status", False)]
    assert [(e["name"], e["expose"]) for e in m["ports"]["lab-monitoring-1"] if e["name"] == "blackbox-exporter"] == [
        ("blackbox-exporter", False)]


def test_proxy_source_resolves_to_the_proxy_addresses():
    m = inventory_model("inventories/example", {"edge-1": {"all_ipv4_addresses": ["10.0.4.41"], "all_ipv6_addresses": []}})
    node = model.node(m, "sfu-1")
    rules = model.nft_rules(node["ports"], groups=node["sources"])
    assert 'ip saddr 10.0.4.41 tcp dport 7880 accept comment "livekit-http"' in rules


# --- small inventories ---------------------------------------------------------------------------------------------

def small(groups, hostvars):
    return model.build(groups, hostvars, DEFAULTS)


def test_relay_range_inside_livekit_range_on_one_host():
    # node-1 runs coturn and livekit-server; livekit_server's variables are its defaults (the role does not run
    # in a coturn-only play): the model still sees LiveKit's range.
    m = small({"livekit_turn": ["node-1"], "livekit_sfu": ["node-1"]},
              {"node-1": {"coturn_min_port": 50100, "coturn_max_port": 50300}})
    messages = [p["message"] for p in m["problems"]]
    assert len(messages) == 1
    assert messages[0].startswith("The coturn relay range 50100-50300 overlaps other UDP ports of node-1: livekit_server")
    assert model.node(m, "node-1")["problems"] == messages
    assert model.node(small({"livekit_turn": ["a"], "livekit_sfu": ["b"]}, {}), "a")["problems"] == []


def test_overlap_of_two_roles_and_an_extra_port():
    m = small({"livekit_ingress": ["w"], "livekit_egress": ["w"]},
              {"w": {"livekit_egress_health_port": 7888,
                     "firewall_extra_ports": [{"name": "x", "proto": "tcp", "port": "7000-7100"}]}})
    messages = [p["message"] for p in m["problems"]]
    assert any("livekit-egress-health (livekit_egress, tcp 7888) overlaps livekit-ingress-health" in s for s in messages)
    assert len(messages) == 1


def test_unknown_group_and_host_without_address():
    m = small({"livekit_sfu": ["s"], "livekit_proxy": ["p"]},
              {"s": {"firewall_extra_ports": [{"name": "typo", "proto": "tcp", "port": 9, "from": "proxxy"}]},
               "p": {"ansible_host": "p.example"}})
    messages = [p["message"] for p in m["problems"] if p["host"] == "s"]
    assert any("not in the inventory (neither NAME nor livekit_NAME): proxxy" in s for s in messages)
    assert any("no address is known for p" in s for s in messages)
    ok = small({"livekit_sfu": ["s"], "livekit_proxy": ["p"]}, {"p": {"firewall_addresses": ["192.0.2.7"]}})
    assert ok["problems"] == []
    assert ok["sources"]["proxy"]["addresses"] == ["192.0.2.7"]


def test_a_collection_group_left_out_of_the_inventory_is_empty():
    """A dynamic inventory has no empty groups: a source naming a livekit_* group it lacks allows nobody."""
    m = small({"livekit_redis": ["r"], "livekit_sfu": ["s"]},
              {"r": {"redis_allowed_from": ["livekit_sfu", "livekit_ingress", "egress"], "ansible_host": "10.0.0.1"},
               "s": {"ansible_host": "10.0.0.2"}})
    assert m["problems"] == []
    assert m["sources"]["livekit_ingress"] == {"group": "livekit_ingress", "hosts": [], "addresses": [], "missing": []}
    assert m["sources"]["egress"]["group"] == "livekit_egress"


def test_invalid_port_is_a_problem_not_an_error():
    m = small({"livekit_turn": ["t"]}, {"t": {"coturn_min_port": 60000, "coturn_max_port": 50000}})
    assert m["ports"]["t"] == []
    assert "range 60000-50000 is reversed" in m["problems"][0]["message"]


def test_config_extra_and_embedded_turn_move_ports():
    m = small({"livekit_sfu": ["s"]}, {"s": {
        "livekit_server_config_extra": {"rtc": {"udp_port": "7882-7892"}, "port": 7000},
        "livekit_server_embedded_turn": {"enabled": True, "tls_port": 5349, "udp_port": 3478},
        "livekit_server_prometheus_port": 0}})
    assert summary(m["ports"]["s"])[1:] == [
        ("livekit_server", "livekit-http", "tcp", 7000, ["private"]),
        ("livekit_server", "livekit-rtc-tcp", "tcp", 7881, ["any"]),
        ("livekit_server", "livekit-rtc-udp", "udp", "7882-7892", ["any"]),
        ("livekit_server", "livekit-turn-tls", "tcp", 5349, ["any"]),
        ("livekit_server", "livekit-turn-udp", "udp", 3478, ["any"]),
        ("livekit_server", "livekit-turn-relay", "udp", "30000-40000", ["any"]),
    ]


def test_redis_cluster_and_standalone_endpoints():
    hosts = ["r%d" % i for i in range(1, 7)]
    hv = {h: {"redis_mode": "cluster", "redis_bind_address": "10.0.0.%d" % i, "redis_livekit_user": "livekit",
              "redis_password": SECRETS["redis"]} for i, h in enumerate(hosts, 1)}
    m = small({"livekit_redis": hosts}, hv)
    assert m["redis"]["cluster_endpoints"] == ["10.0.0.%d:6379" % i for i in range(1, 7)]
    assert m["redis"]["sentinel_endpoints"] == [] and m["redis"]["username"] == "livekit"
    assert [e["port"] for e in m["ports"]["r1"]] == [22, 6379, 16379]
    assert SECRETS["redis"] not in json.dumps(m)
    one = small({"livekit_redis": ["r"]}, {"r": {"ansible_facts": {"default_ipv4": {"address": "fd00::5"}}}})
    assert one["redis"]["mode"] == "standalone" and one["redis"]["endpoints"] == ["[fd00::5]:6379"]
    mixed = small({"livekit_redis": ["a", "b"]}, {"a": {"redis_mode": "sentinel"}, "b": {}})
    assert "every Redis host needs the same mode" in mixed["problems"][0]["message"]


def test_disabled_firewall_and_loadgen():
    m = small({"livekit_proxy": ["p"], "livekit_loadgen": ["g"]}, {"p": {"firewall_enabled": False}})
    assert "firewall" not in m["nodes"]["p"]["roles"]
    assert [e["name"] for e in m["ports"]["p"]] == ["proxy-http", "proxy-https"]
    assert m["nodes"]["g"]["roles"] == ["firewall", "node_tuning", "load_test"]


def test_monitoring_ports_and_scrape_targets():
    groups = {"livekit_sfu": ["s"], "livekit_redis": ["r"], "livekit_monitoring": ["m"]}
    hv = {h: {"ansible_facts": {"default_ipv4": {"address": "10.0.0.%d" % i}, "all_ipv4_addresses": ["10.0.0.%d" % i]}}
          for i, h in enumerate(["s", "r", "m"], 1)}
    m = small(groups, hv)
    assert m["problems"] == []
    assert summary(m["ports"]["s"])[-2:] == [("livekit_server", "livekit-prometheus", "tcp", 6789, ["monitoring"]),
                                             ("monitoring", "node-exporter", "tcp", 9100, ["monitoring"])]
    assert summary(m["ports"]["r"])[-2:] == [("monitoring", "node-exporter", "tcp", 9100, ["monitoring"]),
                                             ("monitoring", "redis-exporter", "tcp", 9121, ["monitoring"])]
    assert summary(m["ports"]["m"])[1:] == [("monitoring", "node-exporter", "tcp", 9100, ["monitoring"]),
                                            ("monitoring", "prometheus", "tcp", 9090, ["private"]),
                                            ("monitoring", "blackbox-exporter", "tcp", 9115, ["private"])]
    node = model.node(m, "s")
    rules = model.nft_rules(node["ports"], groups=node["sources"])
    assert 'ip saddr 10.0.0.3 tcp dport 9100 accept comment "node-exporter"' in rules
    assert m["monitoring"]["jobs"] == {
        "livekit": [{"targets": ["10.0.0.1:6789"], "labels": {"instance": "s"}}],
        "node": [{"targets": ["10.0.0.%d:9100" % i], "labels": {"instance": h}} for i, h in ((2, "r"), (1, "s"), (3, "m"))],
        "redis": [{"targets": ["10.0.0.2:9121"], "labels": {"instance": "r"}}],
        "prometheus": [{"targets": ["10.0.0.3:9090"], "labels": {"instance": "m"}}],
    }
    # an existing Prometheus (not installed by the role): its port stays closed and is no target
    existing = small(groups, dict(hv, m=dict(hv["m"], monitoring_install_prometheus=False)))
    assert "prometheus" not in existing["monitoring"]["jobs"]
    # without a monitoring group nothing changes: livekit's metrics port from private, no exporter port
    plain = small({"livekit_sfu": ["s"]}, {})
    assert summary(plain["ports"]["s"])[-1] == ("livekit_server", "livekit-prometheus", "tcp", 6789, ["private"])
    assert plain["monitoring"] == {"hosts": [], "jobs": {}}
    # a Sentinel next to each Redis, an nginx front and coturn: their exporters and probes
    groups2 = dict(groups, livekit_redis=["r"], livekit_proxy=["s"], livekit_turn=["s"])
    full = small(groups2, dict(hv, r=dict(hv["r"], redis_mode="sentinel"), s=dict(hv["s"], livekit_proxy_server_name="lk.test")))
    assert [(e["name"], e["port"], e["from"]) for e in full["ports"]["r"] if "exporter" in e["name"]] == [
        ("node-exporter", 9100, ["monitoring"]), ("redis-exporter", 9121, ["monitoring"]),
        ("redis-sentinel-exporter", 9122, ["monitoring"])]
    assert [(e["name"], e["port"], e["expose"]) for e in full["ports"]["s"] if e["name"].startswith("nginx")] == [
        ("nginx-exporter", 9113, True), ("nginx-stub-status", 8089, False)]
    assert {j: full["monitoring"]["jobs"][j] for j in ("redis_sentinel", "nginx", "tls_front", "turn")} == {
        "redis_sentinel": [{"targets": ["10.0.0.2:9122"], "labels": {"instance": "r"}}],
        "nginx": [{"targets": ["10.0.0.1:9113"], "labels": {"instance": "s"}}],
        "tls_front": [{"targets": ["10.0.0.1:443"], "labels": {"instance": "s", "server_name": "lk.test"}}],
        "turn": [{"targets": ["10.0.0.1:3478"], "labels": {"instance": "s"}}],
    }
    # a target without an address is a problem
    blind = small(groups, dict(hv, s={}))
    assert any("no address to scrape livekit-prometheus" in p["message"] for p in blind["problems"])


def test_every_role_with_ports_is_wired():
    # one place per role: the table names a group and a function for every role that opens ports
    wired = {role for role, spec in model.ROLES.items() if spec["ports"]}
    assert wired == {"firewall", "redis", "coturn", "livekit_server", "livekit_proxy", "livekit_ingress", "livekit_egress",
                     "k8s_livekit_server", "k8s_redis", "monitoring"}
    for role in model.ROLES:
        assert os.path.isdir(os.path.join(ROOT, "roles", role))


def test_a_kubernetes_cluster_host_holds_livekits_host_ports_and_no_firewall():
    m = model.build({"livekit_k8s": ["k8s-1"]}, {"k8s-1": {"livekit_server_rtc_udp_port": "7882", "k8s_redis_enabled": False}},
                    DEFAULTS)
    assert m["problems"] == []
    assert m["nodes"]["k8s-1"]["roles"] == ["k8s_livekit_server"]
    assert [(e["owner"], e["name"], e["proto"], e["start"], e["end"]) for e in m["ports"]["k8s-1"]] == [
        ("k8s_livekit_server", "livekit-http", "tcp", 7880, 7880),
        ("k8s_livekit_server", "livekit-rtc-tcp", "tcp", 7881, 7881),
        ("k8s_livekit_server", "livekit-rtc-udp", "udp", 7882, 7882),
        ("k8s_livekit_server", "livekit-prometheus", "tcp", 6789, 6789),
    ]


def test_a_kubernetes_cluster_host_with_redis_in_the_cluster_admits_livekit_only():
    # k8s_redis runs by default: its port, on the pod network, from the cluster's LiveKit pods
    m = model.build({"livekit_k8s": ["k8s-1"]}, {"k8s-1": {"k8s_redis_port": 6380}}, DEFAULTS)
    assert m["problems"] == []
    assert m["nodes"]["k8s-1"]["roles"] == ["k8s_livekit_server", "k8s_redis"]
    assert summary(m["ports"]["k8s-1"])[-1] == ("k8s_redis", "redis", "tcp", 6380, ["livekit_k8s"])
    # with VM Redis hosts in the inventory (or k8s_redis_enabled false) it does not run
    vm = model.build({"livekit_k8s": ["k8s-1"], "livekit_redis": ["r"]}, {"k8s-1": {}, "r": {}}, DEFAULTS)
    assert vm["nodes"]["k8s-1"]["roles"] == ["k8s_livekit_server"]
    policies = model.network_policies(m["ports"]["k8s-1"], {"k8s_redis": {"name": "redis", "labels": {"app": "redis"}}},
                                      peers={"livekit_k8s": [{"podSelector": {"matchLabels": {"app": "livekit"}}}]})
    assert [p["spec"]["ingress"] for p in policies] == [
        [{"ports": [{"protocol": "TCP", "port": 6380}], "from": [{"podSelector": {"matchLabels": {"app": "livekit"}}}]}]]
