"""The port model filters: validation, normalisation, overlap detection and nftables rules."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rtcstack.livekit.plugins.filter.ports import (
    FilterModule,
    nft_rules,
    port_problems,
    port_ranges_overlap,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._deployment import PortError, parse_port, port_entries, span

RTC = {"name": "livekit-rtc-udp", "proto": "udp", "port": "50000-60000", "from": "any", "owner": "livekit_server"}
RELAY = {"name": "coturn-relay", "proto": "udp", "port": "49152-50500", "from": "any", "owner": "coturn"}
HTTP = {"name": "livekit-http", "proto": "tcp", "port": 7880, "from": "proxy", "owner": "livekit_server"}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"port_problems", "port_ranges_overlap", "nft_rules"}


def test_valid_entries_have_no_problems():
    assert port_problems([RTC, RELAY, HTTP]) == []
    assert port_problems([]) == []
    assert port_problems(None) == []


@pytest.mark.parametrize(
    "entry, fragment",
    [
        ({"name": "x", "proto": "sctp", "port": 1}, "proto must be tcp or udp"),
        ({"name": "x", "proto": "TCP", "port": 1}, "proto must be tcp or udp"),
        ({"name": "x", "proto": "tcp"}, "port is missing"),
        ({"name": "x", "proto": "tcp", "port": 0}, "outside 1-65535"),
        ({"name": "x", "proto": "tcp", "port": 70000}, "outside 1-65535"),
        ({"name": "x", "proto": "tcp", "port": "60000-50000"}, "reversed (write 50000-60000)"),
        ({"name": "x", "proto": "tcp", "port": "50000:60000"}, "an int or an 'a-b' range"),
        ({"name": "x", "proto": "tcp", "port": True}, "not a boolean"),
        ({"name": "x", "proto": "tcp", "port": [1, 2]}, "an int or an 'a-b' range"),
        ({"name": "bad name", "proto": "tcp", "port": 1}, "name must be"),
        ({"proto": "tcp", "port": 1}, "name must be"),
        ({"name": "x", "proto": "tcp", "port": 1, "from": "10.0.0.0/33"}, "is not any, private"),
        ({"name": "x", "proto": "tcp", "port": 1, "from": "no spaces allowed"}, "is not any, private"),
        ({"name": "x", "proto": "tcp", "port": 1, "from": []}, "from is an empty list"),
        ({"name": "x", "proto": "tcp", "port": 1, "form": "any"}, "unknown keys form"),
        ({"name": "x", "proto": "tcp", "port": 1, "owner": ""}, "owner must be"),
    ],
)
def test_problems_say_what_to_fix(entry, fragment):
    problems = port_problems([entry])
    assert len(problems) == 1, problems
    assert fragment in problems[0]
    assert problems[0].startswith("port entry 0")


def test_problems_of_non_lists_and_non_dicts():
    assert "must be a list" in port_problems({"name": "x"})[0]
    assert "must be a dict" in port_problems(["tcp/80"])[0]


def test_problem_names_the_entry():
    problems = port_problems([RTC, dict(RTC, port="60000-50001")])
    assert problems == ["port entry 1 (livekit-rtc-udp): range 60000-50001 is reversed (write 50001-60000)"]


def test_entries_are_normalised():
    out = port_entries([
        {"name": "a", "proto": "tcp", "port": "7880"},
        {"name": "b", "proto": "udp", "port": "3478-3478", "from": ["private", "10.1.0.0/16"]},
        {"name": "c", "proto": "udp", "port": " 50000 - 50100 ", "from": "sfu"},
    ], owner="role")
    assert out == [
        {"name": "a", "proto": "tcp", "port": 7880, "start": 7880, "end": 7880, "from": ["any"], "owner": "role", "expose": True},
        {"name": "b", "proto": "udp", "port": 3478, "start": 3478, "end": 3478, "from": ["private", "10.1.0.0/16"],
         "owner": "role", "expose": True},
        {"name": "c", "proto": "udp", "port": "50000-50100", "start": 50000, "end": 50100, "from": ["sfu"], "owner": "role",
         "expose": True},
    ]
    # an explicit owner wins over the default; without either, the name is the owner
    assert port_entries([dict(RTC)], owner="x")[0]["owner"] == "livekit_server"
    assert port_entries([{"name": "a", "proto": "tcp", "port": 1}])[0]["owner"] == "a"


def test_invalid_entries_raise_with_every_problem():
    with pytest.raises(PortError) as e:
        port_entries([{"name": "a", "proto": "icmp", "port": 0}])
    assert "proto must be tcp or udp" in str(e.value) and "outside 1-65535" in str(e.value)


def test_overlap_of_two_owners_names_both():
    conflicts = port_ranges_overlap([RTC, RELAY, HTTP])
    assert len(conflicts) == 1
    c = conflicts[0]
    assert c["proto"] == "udp" and c["ports"] == "50000-50500"
    assert c["names"] == ["livekit-rtc-udp", "coturn-relay"]
    assert c["owners"] == ["livekit_server", "coturn"]
    assert "livekit-rtc-udp" in c["message"] and "coturn-relay" in c["message"]


def test_no_overlap_across_protocols_adjacent_ranges_or_same_owner():
    tcp_range = dict(RELAY, proto="tcp")
    assert port_ranges_overlap([RTC, tcp_range]) == []
    assert port_ranges_overlap([RTC, dict(RELAY, port="49152-49999")]) == []
    # one owner opening one port to two sources is not a conflict
    assert port_ranges_overlap([HTTP, dict(HTTP, **{"from": "10.0.0.0/8"})]) == []
    # without owners, the names decide
    a = {"name": "a", "proto": "tcp", "port": 22}
    assert port_ranges_overlap([a, dict(a)]) == []
    assert port_ranges_overlap([a, dict(a, name="b")])[0]["ports"] == "22"


def test_overlap_single_port_inside_range():
    conflicts = port_ranges_overlap([RTC, {"name": "stray", "proto": "udp", "port": 55555}])
    assert [c["ports"] for c in conflicts] == ["55555"]


@pytest.mark.parametrize("value, out", [(7880, "7880"), ("7880", "7880"), ("50000-60000", "50000-60000"),
                                        ("50000 - 60000", "50000-60000"), ("5-5", "5")])
def test_ports_in_nft_syntax(value, out):
    assert span(*parse_port(value)) == out


def test_bad_ports_are_refused():
    with pytest.raises(ValueError, match="outside 1-65535"):
        parse_port(0)


def test_nft_rules_any_private_cidr_group():
    entries = [
        RTC,
        HTTP,
        {"name": "ssh", "proto": "tcp", "port": 22, "from": "any"},
        {"name": "redis", "proto": "tcp", "port": 6379, "from": "private"},
        {"name": "metrics", "proto": "tcp", "port": 7882, "from": ["10.1.2.3", "2001:db8::/64", "10.1.2.0/24"]},
    ]
    rules = nft_rules(entries, private=["10.0.0.0/8", "fc00::/7"], groups={"proxy": ["192.0.2.10", "192.0.2.11", "2001:db8::5"]})
    assert rules == [
        'tcp dport 22 accept comment "ssh"',
        'ip saddr 10.0.0.0/8 tcp dport 6379 accept comment "redis"',
        'ip6 saddr fc00::/7 tcp dport 6379 accept comment "redis"',
        'ip saddr 192.0.2.10/31 tcp dport 7880 accept comment "livekit-http"',  # .10 and .11 merged
        'ip6 saddr 2001:db8::5 tcp dport 7880 accept comment "livekit-http"',
        'ip saddr 10.1.2.0/24 tcp dport 7882 accept comment "metrics"',
        'ip6 saddr 2001:db8::/64 tcp dport 7882 accept comment "metrics"',
        'udp dport 50000-60000 accept comment "livekit-rtc-udp"',
    ]


def test_nft_rules_sets_and_any_wins():
    rules = nft_rules([
        {"name": "a", "proto": "tcp", "port": 1, "from": ["192.0.2.1", "198.51.100.7"]},
        {"name": "b", "proto": "tcp", "port": 2, "from": ["10.0.0.1", "any"]},
    ])
    assert rules == ['ip saddr { 192.0.2.1, 198.51.100.7 } tcp dport 1 accept comment "a"',
                     'tcp dport 2 accept comment "b"']


def test_nft_rules_default_private_and_dedup():
    rules = nft_rules([{"name": "r", "proto": "udp", "port": 5, "from": "private"},
                       {"name": "r", "proto": "udp", "port": 5, "from": "private"}])
    assert rules == ['ip saddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } udp dport 5 accept comment "r"',
                     'ip6 saddr fc00::/7 udp dport 5 accept comment "r"']


def test_nft_rules_empty_group_allows_nobody():
    rules = nft_rules([{"name": "h", "proto": "tcp", "port": 9, "from": "proxy"}], groups={"proxy": []})
    assert rules == ["# h: tcp dport 9 from proxy resolves to no address, nothing allowed"]


def test_nft_rules_unknown_group_and_bad_address():
    with pytest.raises(AnsibleFilterError, match="no addresses were given"):
        nft_rules([{"name": "h", "proto": "tcp", "port": 9, "from": "proxy"}])
    with pytest.raises(AnsibleFilterError, match="is not an address"):
        nft_rules([{"name": "h", "proto": "tcp", "port": 9, "from": "proxy"}], groups={"proxy": ["not-an-ip"]})


def test_nft_rules_are_sorted_and_stable():
    a = {"name": "a", "proto": "udp", "port": "100-200"}
    b = {"name": "b", "proto": "tcp", "port": 50}
    assert nft_rules([a, b]) == nft_rules([b, a])
    assert nft_rules([a, b])[0].startswith("tcp dport 50 ")
