"""rtcstack.livekit.k8s_nodes_matching / k8s_host_port_conflicts on Node and Pod objects as k8s_info returns them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rtcstack.livekit.plugins.filter.k8s import k8s_host_port_conflicts, k8s_nodes_matching

OURS = {"app.kubernetes.io/name": "livekit-server", "app.kubernetes.io/instance": "livekit-server"}
ENTRIES = [{"name": "livekit-http", "proto": "tcp", "start": 7880, "end": 7880},
           {"name": "livekit-rtc-udp", "proto": "udp", "start": 50000, "end": 60000}]


def node(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def pod(name, node_name, ports, host_network=False, labels=None, phase="Running"):
    return {"metadata": {"name": name, "namespace": "media", "labels": labels or {}},
            "spec": {"nodeName": node_name, "hostNetwork": host_network, "containers": [{"name": "c", "ports": ports}]},
            "status": {"phase": phase}}


def test_nodes_matching_every_label():
    nodes = [node("a", role="sfu", zone="1"), node("b", role="sfu"), node("c")]
    assert k8s_nodes_matching(nodes, {"role": "sfu"}) == ["a", "b"]
    assert k8s_nodes_matching(nodes, {"role": "sfu", "zone": "1"}) == ["a"]
    assert k8s_nodes_matching(nodes, {}) == ["a", "b", "c"]
    assert k8s_nodes_matching(nodes, {"role": "turn"}) == []


def test_nodes_matching_refuses_a_selector_that_is_not_a_mapping():
    with pytest.raises(AnsibleFilterError, match="mapping"):
        k8s_nodes_matching([], "role=sfu")


def test_host_port_conflicts():
    pods = [
        pod("web", "a", [{"containerPort": 7880, "hostPort": 7880, "protocol": "TCP"}]),
        pod("media", "a", [{"containerPort": 55000, "protocol": "UDP"}], host_network=True),
        pod("plain", "a", [{"containerPort": 7880, "protocol": "TCP"}]),  # pod network only: no host port
        pod("other-node", "b", [{"containerPort": 7880, "hostPort": 7880}]),
        pod("done", "a", [{"containerPort": 7880, "hostPort": 7880}], phase="Succeeded"),
        pod("ours", "a", [{"containerPort": 7880, "protocol": "TCP"}], host_network=True, labels=OURS),
    ]
    assert k8s_host_port_conflicts(pods, ENTRIES, OURS, ["a"]) == [
        "TCP 7880 (livekit-http) is held by pod media/web on node a",
        "UDP 55000 (livekit-rtc-udp) is held by pod media/media on node a",
    ]
    assert len(k8s_host_port_conflicts(pods, ENTRIES, OURS)) == 3
    assert k8s_host_port_conflicts(pods, ENTRIES, OURS, ["c"]) == []


def test_memory_mb_of_node_quantities():
    from ansible_collections.rtcstack.livekit.plugins.filter.k8s import k8s_memory_mb
    assert k8s_memory_mb("16318864Ki") == 15936
    assert k8s_memory_mb("8Gi") == 8192
    assert k8s_memory_mb("1073741824") == 1024
    assert k8s_memory_mb("2G") == 1907
    for bad in ("1.5Gi", "lots", "8Xi", ""):
        with pytest.raises(AnsibleFilterError, match="memory quantity"):
            k8s_memory_mb(bad)


REDIS = {"k8s_redis": {"name": "redis", "labels": {"app.kubernetes.io/name": "redis"}}}
LIVEKIT = {"livekit_k8s": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "livekit-server"}}},
                           {"ipBlock": {"cidr": "10.206.0.1/32"}}]}
LIVEKIT_GIVEN = {"livekit_k8s": [LIVEKIT["livekit_k8s"][0], "10.206.0.1"]}  # addresses become ipBlocks


def test_network_policies_admit_exactly_the_entries_sources():
    from ansible_collections.rtcstack.livekit.plugins.filter.k8s import k8s_network_policies
    entries = [
        {"name": "livekit-http", "proto": "tcp", "port": 7880, "from": "private", "owner": "k8s_livekit_server"},
        {"name": "redis", "proto": "tcp", "port": 6379, "from": "livekit_k8s", "owner": "k8s_redis"},
        {"name": "redis-metrics", "proto": "tcp", "port": 9121, "from": ["monitoring", "192.0.2.7"], "owner": "k8s_redis"},
        {"name": "relay", "proto": "udp", "port": "40000-40100", "from": "any", "owner": "k8s_redis"},
        {"name": "nobody", "proto": "tcp", "port": 1, "from": "ghosts", "owner": "k8s_redis"},
    ]
    [policy] = k8s_network_policies(entries, REDIS, peers=LIVEKIT_GIVEN, groups={"monitoring": ["10.0.0.9"], "ghosts": []})
    assert policy["metadata"] == {"name": "redis"}
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "redis"}}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 6379}], "from": LIVEKIT["livekit_k8s"]},
        {"ports": [{"protocol": "TCP", "port": 9121}],
         "from": [{"ipBlock": {"cidr": "10.0.0.9/32"}}, {"ipBlock": {"cidr": "192.0.2.7/32"}}]},
        {"ports": [{"protocol": "UDP", "port": 40000, "endPort": 40100}]},
        # "ghosts" resolves to no address: no rule (an empty `from` would admit every source)
    ]


def test_network_policies_refuse_an_unknown_source_and_skip_host_network_owners():
    from ansible_collections.rtcstack.livekit.plugins.filter.k8s import k8s_network_policies
    with pytest.raises(AnsibleFilterError, match="neither any, private"):
        k8s_network_policies([{"name": "redis", "proto": "tcp", "port": 6379, "from": "nowhere", "owner": "k8s_redis"}], REDIS)
    only_host = [{"name": "livekit-http", "proto": "tcp", "port": 7880, "from": "private", "owner": "k8s_livekit_server"}]
    assert k8s_network_policies(only_host, {}) == []
    [private] = k8s_network_policies([dict(only_host[0], owner="k8s_redis")], REDIS, private=["10.0.0.0/8"])
    assert private["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 7880}], "from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]
