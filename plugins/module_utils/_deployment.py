# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deployment model: one typed view of the inventory that every consumer reads (private to this collection).

``build(groups, hostvars, defaults)`` turns the inventory groups, each host's variables (already templated)
and the collection roles' defaults into a plain dict (JSON-able)::

    nodes     host -> {groups, roles, addresses}
    ports     host -> [{name, proto, port, start, end, from, owner, expose}]
    sources   every group name used in a `from` -> {group, hosts, addresses, missing}
    redis     {mode, hosts, endpoints, sentinel_endpoints, master_name, cluster_endpoints, tls, username, password_var}
    turn      {secret_var, servers: [{host, address, udp_port, tcp_port, tls_ports, relay}]}
    keys      {variable, ids}
    sfu       {nodes: [{host, node_ip, address, default_ipv4, http_port, rtc_tcp_port, rtc_udp, prometheus_port}]}
    monitoring {hosts, jobs: job -> [{targets: [address:port], labels: {instance: host}}]}: file_sd scrape targets
              (the probe jobs tls_front and turn: the addresses blackbox-exporter probes, tls_front with server_name)
    problems  [{host, message}]: cross-host and cross-role inconsistencies

Secrets never enter the model: only the names of the variables that hold them. Each role declares its ports
in one function of its variables (``ROLES``: role -> groups, ports function); no variable-name lookup.
Standard library only: the filters, the action plugin and the unit tests share it.
"""

from __future__ import annotations

import copy
import ipaddress
import re

PROTOCOLS = ("tcp", "udp")
SPECIAL_SOURCES = ("any", "private")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
GROUP_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
RANGE_RE = re.compile(r"^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$")
INT_RE = re.compile(r"^\s*\d{1,5}\s*$")
DEFAULT_PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
ENTRY_KEYS = ("name", "proto", "port", "from", "owner")
# Keys the model adds to an entry (accepted on input so that model entries can be passed back).
MODEL_KEYS = ("start", "end", "expose")


class PortError(ValueError):
    """Invalid port entries; the message lists every problem."""


# --- port entries: parsing, validation, normalisation, overlap, nftables ---------------------------------------

def _label(entry, index):
    if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry.get("name"):
        return "port entry %d (%s)" % (index, entry["name"])
    return "port entry %d" % index


def parse_port(value):
    """(start, end) of an int, a digit string or an "a-b" string; ValueError with the reason."""
    if isinstance(value, bool):
        raise ValueError("port must be an int or an 'a-b' range, not a boolean")
    if isinstance(value, int):
        start = end = value
    elif isinstance(value, str) and INT_RE.match(value):
        start = end = int(value)
    elif isinstance(value, str) and RANGE_RE.match(value):
        start, end = (int(x) for x in RANGE_RE.match(value).groups())
    else:
        raise ValueError("port must be an int or an 'a-b' range (like 50000-60000), got %r" % (value,))
    for p in (start, end):
        if not 1 <= p <= 65535:
            raise ValueError("port %d is outside 1-65535" % p)
    if start > end:
        raise ValueError("range %d-%d is reversed (write %d-%d)" % (start, end, end, start))
    return start, end


def span(start, end):
    """7880 or "50000-60000" as a string."""
    return str(start) if start == end else "%d-%d" % (start, end)


def _source_problem(source):
    if not isinstance(source, str) or not source.strip():
        return "from must be any, private, an address/CIDR or a group name, got %r" % (source,)
    source = source.strip()
    if source in SPECIAL_SOURCES or GROUP_RE.match(source):
        return None
    try:
        ipaddress.ip_network(source, strict=False)
    except ValueError:
        return "from %r is not any, private, an address/CIDR or a group name" % source
    return None


def _sources(value):
    if value is None:
        return ["any"]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def is_address(value):
    """True for an IPv4/IPv6 address or CIDR."""
    try:
        ipaddress.ip_network(str(value).strip(), strict=False)
        return True
    except ValueError:
        return False


def is_group_source(source):
    """True when a `from` value names an inventory group (not any, private or an address)."""
    return isinstance(source, str) and source not in SPECIAL_SOURCES and bool(GROUP_RE.match(source)) and not is_address(source)


def port_problems(entries):
    """Every problem of a list of port entries, as messages that say what to fix ([] when valid)."""
    if entries is None:
        return []
    if not isinstance(entries, (list, tuple)):
        return ["ports must be a list of {name, proto, port, from} entries, got %s" % type(entries).__name__]
    problems = []
    for index, entry in enumerate(entries):
        label = _label(entry, index)
        if not isinstance(entry, dict):
            problems.append("%s: must be a dict with name, proto, port and from, got %r" % (label, entry))
            continue
        unknown = sorted(set(entry) - set(ENTRY_KEYS) - set(MODEL_KEYS))
        if unknown:
            problems.append("%s: unknown keys %s (allowed: %s)" % (label, ", ".join(map(str, unknown)), ", ".join(ENTRY_KEYS)))
        name = entry.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append("%s: name must be 1-64 characters of letters, digits, '_', '.', ':', '-', got %r" % (label, name))
        if entry.get("proto") not in PROTOCOLS:
            problems.append("%s: proto must be tcp or udp, got %r" % (label, entry.get("proto")))
        if "port" not in entry:
            problems.append("%s: port is missing" % label)
        else:
            try:
                parse_port(entry["port"])
            except ValueError as e:
                problems.append("%s: %s" % (label, e))
        sources = _sources(entry.get("from", "any"))
        if not sources:
            problems.append("%s: from is an empty list (use any, private, a CIDR or a group name)" % label)
        for source in sources:
            problem = _source_problem(source)
            if problem:
                problems.append("%s: %s" % (label, problem))
        owner = entry.get("owner")
        if owner is not None and (not isinstance(owner, str) or not owner):
            problems.append("%s: owner must be a non-empty string, got %r" % (label, owner))
    return problems


def port_entries(entries, owner=None):
    """Validated, normalised copies: port as int or "a-b", start, end, from as a list, owner, expose."""
    problems = port_problems(entries)
    if problems:
        raise PortError("invalid port entries: " + "; ".join(problems))
    result = []
    for entry in entries or []:
        start, end = parse_port(entry["port"])
        result.append({
            "name": entry["name"],
            "proto": entry["proto"],
            "port": start if start == end else span(start, end),
            "start": start,
            "end": end,
            "from": [s.strip() for s in _sources(entry.get("from", "any"))],
            "owner": entry.get("owner") or owner or entry["name"],
            "expose": entry.get("expose", True) is not False,
        })
    return result


def port_ranges_overlap(entries, owner=None):
    """Pairs of entries of different owners whose port ranges of one protocol intersect."""
    normalised = port_entries(entries, owner=owner)
    conflicts = []
    for i, a in enumerate(normalised):
        for b in normalised[i + 1:]:
            if a["proto"] != b["proto"] or a["owner"] == b["owner"]:
                continue
            low, high = max(a["start"], b["start"]), min(a["end"], b["end"])
            if low > high:
                continue
            conflicts.append({
                "proto": a["proto"],
                "ports": span(low, high),
                "names": [a["name"], b["name"]],
                "owners": [a["owner"], b["owner"]],
                "message": "%s %s: %s (%s, %s %s) overlaps %s (%s, %s %s)" % (
                    a["proto"], span(low, high), a["name"], a["owner"], a["proto"], a["port"],
                    b["name"], b["owner"], b["proto"], b["port"]),
            })
    return conflicts


def _networks(sources, private, groups, entry_name):
    """ipaddress networks a list of from values allows; None means any."""
    networks = []
    for source in sources:
        if source == "any":
            return None
        if source == "private":
            values = list(private)
        elif is_group_source(source):
            if source not in groups:
                raise PortError("nft_rules: %s allows from group %r, but no addresses were given for it" % (entry_name, source))
            values = list(groups[source] or [])
        else:
            values = [source]
        for value in values:
            try:
                networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
            except ValueError:
                raise PortError("nft_rules: %s: %r (from %s) is not an address or CIDR" % (entry_name, value, source)) from None
    return networks


def _render_set(networks):
    items = [str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n) for n in networks]
    return items[0] if len(items) == 1 else "{ %s }" % ", ".join(items)


def nft_rules(entries, private=None, groups=None):
    """nftables rule lines (inet family) accepting each exposed entry's new connections from its sources."""
    private = DEFAULT_PRIVATE if private is None else private
    groups = groups or {}
    exposed = [e for e in port_entries(entries) if e["expose"]]
    normalised = sorted(exposed, key=lambda e: (e["start"], e["end"], e["proto"], e["name"]))
    lines = []
    for entry in normalised:
        match = "%s dport %s" % (entry["proto"], span(entry["start"], entry["end"]))
        comment = 'comment "%s"' % entry["name"]
        networks = _networks(entry["from"], private, groups, entry["name"])
        if networks is None:
            candidates = ["%s accept %s" % (match, comment)]
        else:
            candidates = []
            for family, keyword in ((4, "ip"), (6, "ip6")):
                nets = list(ipaddress.collapse_addresses(n for n in networks if n.version == family))
                if nets:
                    candidates.append("%s saddr %s %s accept %s" % (keyword, _render_set(nets), match, comment))
            if not candidates:
                candidates = ["# %s: %s from %s resolves to no address, nothing allowed"
                              % (entry["name"], match, ", ".join(entry["from"]))]
        for line in candidates:
            if line not in lines:
                lines.append(line)
    return lines


# --- reading a host's variables ----------------------------------------------------------------------------------

class _Undefined(Exception):
    """A variable the model needs cannot be read (its template fails)."""


def _int(value, default=0):
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return int(value)
    try:
        return int(float(value)) if isinstance(value, (int, float)) else int(str(value).strip())
    except ValueError:
        return value  # kept as given: port_problems names it


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def _merge(base, extra):
    """Recursive merge like Jinja's combine(recursive=True): dicts merged, everything else replaced."""
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _templated(value):
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class HostView(object):
    """The variables of one host: the host's own (already templated) over the roles' defaults.

    A default that is a Jinja expression is never evaluated here: the ones the model needs are resolved by
    the explicit functions of RESOLVED_DEFAULTS; any other one reads as None.
    """

    def __init__(self, host, hostvars, defaults, groups):
        self.host = host
        self._vars = hostvars
        self._defaults = defaults
        self.groups = groups

    def defined(self, name):
        return name in self._vars

    def get(self, name, default=None):
        if name in self._vars:
            try:
                value = self._vars[name]
            except Exception as e:  # noqa: BLE001 - a template error of the inventory, reported as a problem
                raise _Undefined("%s: %s cannot be templated (%s)" % (self.host, name, type(e).__name__)) from None
            return default if value is None else value
        if name in RESOLVED_DEFAULTS:
            return RESOLVED_DEFAULTS[name](self)
        value = self._defaults.get(name, default)
        return None if _templated(value) else value

    def facts(self):
        facts = self._vars.get("ansible_facts") if "ansible_facts" in self._vars else None
        return facts if isinstance(facts, dict) else {}

    def default_ipv4(self):
        address = (self.facts().get("default_ipv4") or {}).get("address")
        return address if isinstance(address, str) and address else None


# Defaults of the roles that are Jinja expressions and matter to the model, resolved explicitly (same result).
RESOLVED_DEFAULTS = {
    # livekit_server: "{{ 'proxy' if groups['livekit_proxy'] | default([]) | length > 0 else 'private' }}"
    "livekit_server_http_allowed_from": lambda v: "proxy" if v.groups.get("livekit_proxy") else "private",
    # redis: "{{ ansible_default_ipv4.address | default('') }}"
    "redis_bind_address": lambda v: v.default_ipv4() or "",
    # livekit_server: "{{ livekit_api_keys | default({}) }}"
    "livekit_server_api_keys": lambda v: v.get("livekit_api_keys", {}),
}


# --- the ports of each role, from its variables ------------------------------------------------------------------

def _entry(name, proto, port, source, expose=True):
    entry = {"name": name, "proto": proto, "port": port, "from": source}
    if not expose:
        entry["expose"] = False
    return entry


def livekit_server_config(v):
    """The parts of livekit-server's config.yaml that decide its ports (livekit_server_config_extra merged over)."""
    udp_single = str(v.get("livekit_server_rtc_udp_port", "") or "")
    rtc = {"tcp_port": _int(v.get("livekit_server_rtc_tcp_port"), 7881)}
    if udp_single:
        rtc["udp_port"] = udp_single
    else:
        rtc["port_range_start"] = _int(v.get("livekit_server_rtc_port_range_start"), 50000)
        rtc["port_range_end"] = _int(v.get("livekit_server_rtc_port_range_end"), 60000)
    config = {"port": _int(v.get("livekit_server_port"), 7880), "rtc": rtc}
    turn = v.get("livekit_server_embedded_turn") or {}
    if turn:
        config["turn"] = turn
    prometheus = _int(v.get("livekit_server_prometheus_port"), 0)
    if isinstance(prometheus, int) and prometheus > 0:
        config["prometheus"] = {"port": prometheus}
    extra = v.get("livekit_server_config_extra") or {}
    return _merge(config, extra if isinstance(extra, dict) else {})


def livekit_server_udp(config):
    """(start, end) of livekit-server's RTC UDP ports in its merged config."""
    rtc = config.get("rtc") or {}
    udp = str(rtc.get("udp_port", "") or "")
    if udp:
        parts = udp.split("-")
        return _int(parts[0]), _int(parts[-1])
    return _int(rtc.get("port_range_start"), 50000), _int(rtc.get("port_range_end"), 60000)


def _livekit_server_ports(v):
    config = livekit_server_config(v)
    rtc = config.get("rtc") or {}
    start, end = livekit_server_udp(config)
    ports = [
        _entry("livekit-http", "tcp", _int(config.get("port"), 7880), v.get("livekit_server_http_allowed_from")),
        _entry("livekit-rtc-tcp", "tcp", _int(rtc.get("tcp_port"), 7881), "any"),
        _entry("livekit-rtc-udp", "udp", start if start == end else "%s-%s" % (start, end), "any"),
    ]
    prometheus = _int((config.get("prometheus") or {}).get("port"), 0)
    if isinstance(prometheus, int) and prometheus > 0:
        ports.append(_entry("livekit-prometheus", "tcp", prometheus, _scraped_from(v)))
    turn = config.get("turn") or {}
    if _truthy(turn.get("enabled", False)):
        if _int(turn.get("tls_port"), 0) > 0:
            ports.append(_entry("livekit-turn-tls", "tcp", _int(turn["tls_port"]), "any"))
        if _int(turn.get("udp_port"), 0) > 0:
            ports.append(_entry("livekit-turn-udp", "udp", _int(turn["udp_port"]), "any"))
        relay = "%s-%s" % (turn.get("relay_range_start", 30000), turn.get("relay_range_end", 40000))
        ports.append(_entry("livekit-turn-relay", "udp", relay, "any"))
    return ports


def _coturn_ports(v):
    listening = _int(v.get("coturn_listening_port"), 3478)
    ports = [_entry("turn-udp", "udp", listening, "any"), _entry("turn-tcp", "tcp", listening, "any")]
    for port in v.get("coturn_tls_ports") or []:
        ports.append(_entry("turn-tls-%s" % port, "tcp", _int(port), "any"))
    ports.append(_entry("turn-relay", "udp", "%s-%s" % (v.get("coturn_min_port"), v.get("coturn_max_port")), "any"))
    return ports


def _livekit_proxy_ports(v):
    return [_entry("proxy-http", "tcp", _int(v.get("livekit_proxy_http_port"), 80), "any"),
            _entry("proxy-https", "tcp", _int(v.get("livekit_proxy_https_port"), 443), "any")]


def livekit_ingress_config(v):
    """The port keys of the ingress worker's config.yaml (livekit_ingress_config_extra merged over)."""
    rtmp, whip = _int(v.get("livekit_ingress_rtmp_port"), 0), _int(v.get("livekit_ingress_whip_port"), 0)
    config = {"rtmp_port": rtmp if rtmp > 0 else -1, "whip_port": whip if whip > 0 else -1,
              "http_relay_port": _int(v.get("livekit_ingress_http_relay_port"), 9090)}
    if whip > 0:
        config["rtc_config"] = {"udp_port": _int(v.get("livekit_ingress_whip_udp_port"), 7885)}
    for key in ("health_port", "prometheus_port"):
        value = _int(v.get("livekit_ingress_" + key), 0)
        if isinstance(value, int) and value > 0:
            config[key] = value
    extra = v.get("livekit_ingress_config_extra") or {}
    return _merge(config, extra if isinstance(extra, dict) else {})


def _livekit_ingress_ports(v):
    config = livekit_ingress_config(v)
    ports = []
    if _int(config.get("rtmp_port"), 0) > 0:
        ports.append(_entry("livekit-ingress-rtmp", "tcp", _int(config["rtmp_port"]), v.get("livekit_ingress_rtmp_allowed_from")))
    if _int(config.get("whip_port"), 0) > 0:
        udp = str((config.get("rtc_config") or {}).get("udp_port", 7885))
        ports.append(_entry("livekit-ingress-whip", "tcp", _int(config["whip_port"]), v.get("livekit_ingress_whip_allowed_from")))
        ports.append(_entry("livekit-ingress-whip-udp", "udp", int(udp) if udp.isdigit() else udp, "any"))
    for key in ("health", "prometheus"):
        if _int(config.get(key + "_port"), 0) > 0:
            ports.append(_entry("livekit-ingress-" + key, "tcp", _int(config[key + "_port"]), "private"))
    ports.append(_entry("livekit-ingress-http-relay", "tcp", _int(config.get("http_relay_port"), 9090), "private", expose=False))
    return ports


def _livekit_egress_ports(v):
    config = {"template_port": _int(v.get("livekit_egress_template_port"), 7980)}
    for key in ("health_port", "prometheus_port"):
        value = _int(v.get("livekit_egress_" + key), 0)
        if isinstance(value, int) and value > 0:
            config[key] = value
    extra = v.get("livekit_egress_config_extra") or {}
    config = _merge(config, extra if isinstance(extra, dict) else {})
    ports = []
    for key in ("health", "prometheus"):
        if _int(config.get(key + "_port"), 0) > 0:
            ports.append(_entry("livekit-egress-" + key, "tcp", _int(config[key + "_port"]), "private"))
    ports.append(_entry("livekit-egress-template", "tcp", _int(config.get("template_port"), 7980), "private", expose=False))
    if _int(config.get("debug_handler_port"), 0) > 0:
        ports.append(_entry("livekit-egress-debug", "tcp", _int(config["debug_handler_port"]), "private", expose=False))
    return ports


def _redis_ports(v):
    mode = v.get("redis_mode", "standalone")
    source = v.get("redis_allowed_from", "private")
    ports = [_entry("redis", "tcp", _int(v.get("redis_port"), 6379), source)]
    if mode == "sentinel":
        ports.append(_entry("redis-sentinel", "tcp", _int(v.get("redis_sentinel_port"), 26379), source))
    if mode == "cluster":
        ports.append(_entry("redis-cluster-bus", "tcp", _int(v.get("redis_cluster_bus_port"), 16379), source))
    return ports


def _k8s_redis_runs(v):
    """playbooks/kubernetes.yml runs k8s_redis unless the inventory has VM Redis hosts or it is switched off."""
    return _truthy(v.get("k8s_redis_enabled", True)) and not v.groups.get("livekit_redis")


def _k8s_redis_ports(v):
    """Redis in the cluster: a port of the pod network (a ClusterIP Service), reached only by LiveKit's pods."""
    return [_entry("redis", "tcp", _int(v.get("k8s_redis_port"), 6379), K8S_LIVEKIT_SOURCE)]


def _firewall_ports(v):
    """SSH (owner firewall_ssh) and firewall_extra_ports (each its own owner unless it names one)."""
    ports = [dict(_entry("ssh", "tcp", v.get("firewall_ssh_port", 22), "any"), owner="firewall_ssh")]
    extra = v.get("firewall_extra_ports") or []
    return ports + (list(extra) if isinstance(extra, (list, tuple)) else [extra])


def _scraped_from(v):
    """Who may read a metrics port: the monitoring hosts when the inventory has them, else private addresses."""
    return v.get("monitoring_allowed_from", "monitoring") if v.groups.get("livekit_monitoring") else "private"


def _monitoring_runs(v):
    return bool(v.groups.get("livekit_monitoring"))


def _monitoring_ports(v):
    """node-exporter on every host, redis-exporter next to Redis (a second one next to each Sentinel), nginx-exporter
    and nginx's stub_status (loopback) on the proxies, Prometheus and blackbox-exporter (loopback) on the monitoring
    hosts."""
    source = _scraped_from(v)
    ports = [_entry("node-exporter", "tcp", _int(v.get("monitoring_node_exporter_port"), 9100), source)]
    if v.host in v.groups.get("livekit_redis", []):
        ports.append(_entry("redis-exporter", "tcp", _int(v.get("monitoring_redis_exporter_port"), 9121), source))
        if v.get("redis_mode", "standalone") == "sentinel":
            ports.append(_entry("redis-sentinel-exporter", "tcp", _int(v.get("monitoring_redis_sentinel_exporter_port"), 9122),
                                source))
    if v.host in v.groups.get("livekit_proxy", []):
        ports.append(_entry("nginx-exporter", "tcp", _int(v.get("monitoring_nginx_exporter_port"), 9113), source))
        ports.append(_entry("nginx-stub-status", "tcp", _int(v.get("monitoring_nginx_status_port"), 8089), "private",
                            expose=False))
    if v.host in v.groups.get("livekit_monitoring", []):
        installed = _truthy(v.get("monitoring_install_prometheus", True))
        ports.append(_entry("prometheus", "tcp", _int(v.get("monitoring_prometheus_port"), 9090),
                            v.get("monitoring_prometheus_allowed_from", "private"), expose=installed))
        ports.append(_entry("blackbox-exporter", "tcp", _int(v.get("monitoring_blackbox_port"), 9115), "private",
                            expose=False))
    return ports


def _firewall_runs(v):
    return _truthy(v.get("firewall_enabled", True))


SERVICE_GROUPS = ("livekit_redis", "livekit_turn", "livekit_sfu", "livekit_proxy", "livekit_ingress", "livekit_egress")
TUNED_GROUPS = ("livekit_redis", "livekit_turn", "livekit_sfu", "livekit_loadgen")
STACK_GROUPS = SERVICE_GROUPS + ("livekit_loadgen", "livekit_monitoring")
# One inventory host per Kubernetes cluster (reached with its kubeconfig); its ports are the host ports
# of the pods the k8s_* roles run on the host network of its nodes.
K8S_GROUPS = ("livekit_k8s",)
# As a `from` of a port of a livekit_k8s host: the LiveKit pods of that cluster (they run on the host network of
# their nodes, so a NetworkPolicy admits them by their labels and by their nodes' addresses).
K8S_LIVEKIT_SOURCE = "livekit_k8s"
MODEL_GROUPS = STACK_GROUPS + K8S_GROUPS

# role -> the inventory groups it runs on, the function that declares its ports from its variables (None: no
# port), and when it runs there (None: always). The order is the order of each host's port list.
ROLES = {
    "firewall": {"groups": STACK_GROUPS, "ports": _firewall_ports, "when": _firewall_runs},
    "node_tuning": {"groups": TUNED_GROUPS, "ports": None, "when": None},
    "redis": {"groups": ("livekit_redis",), "ports": _redis_ports, "when": None},
    "coturn": {"groups": ("livekit_turn",), "ports": _coturn_ports, "when": None},
    "livekit_server": {"groups": ("livekit_sfu",), "ports": _livekit_server_ports, "when": None},
    "livekit_proxy": {"groups": ("livekit_proxy",), "ports": _livekit_proxy_ports, "when": None},
    "livekit_egress": {"groups": ("livekit_egress",), "ports": _livekit_egress_ports, "when": None},
    "livekit_ingress": {"groups": ("livekit_ingress",), "ports": _livekit_ingress_ports, "when": None},
    "load_test": {"groups": ("livekit_loadgen",), "ports": None, "when": None},
    "monitoring": {"groups": STACK_GROUPS, "ports": _monitoring_ports, "when": _monitoring_runs},
    "k8s_livekit_server": {"groups": K8S_GROUPS, "ports": _livekit_server_ports, "when": None},
    "k8s_redis": {"groups": K8S_GROUPS, "ports": _k8s_redis_ports, "when": _k8s_redis_runs},
}


# --- the model ---------------------------------------------------------------------------------------------------

def _addresses(v):
    """What is known of a host's addresses; `reach` is what a source group allows (firewall rules, peers)."""
    facts = v.facts()
    ipv4 = [a for a in facts.get("all_ipv4_addresses") or [] if isinstance(a, str)]
    ipv6 = [a for a in facts.get("all_ipv6_addresses") or [] if isinstance(a, str) and not a.lower().startswith("fe80:")]
    ansible_host = v.get("ansible_host") if v.defined("ansible_host") else None
    own = v.get("firewall_addresses") if v.defined("firewall_addresses") else None
    if own is not None:
        reach = list(own) if isinstance(own, (list, tuple)) else [own]
    elif "all_ipv4_addresses" in facts:
        reach = ipv4 + ipv6
    elif isinstance(ansible_host, str) and is_address(ansible_host):
        reach = [ansible_host]
    else:
        reach = []
    node_ip = v.get("livekit_server_node_ip") if v.defined("livekit_server_node_ip") else ""
    return {
        "ansible_host": ansible_host,
        "default_ipv4": v.default_ipv4(),
        "ipv4": ipv4,
        "ipv6": ipv6,
        "private_ip": v.get("private_ip") if v.defined("private_ip") else None,
        "public": node_ip or None,
        "reach": _unique(reach),
    }


def _unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _hostport(address, port):
    address = str(address)
    if ":" in address and not address.startswith("["):
        address = "[%s]" % address
    return "%s:%s" % (address, port)


def _redis(views, hosts, problems):
    if not hosts:
        return {"mode": None, "hosts": [], "endpoints": [], "sentinel_endpoints": [], "master_name": None,
                "cluster_endpoints": [], "tls": False, "username": None, "password_var": "redis_password"}
    first = views[hosts[0]]
    mode = first.get("redis_mode", "standalone")
    nodes = []
    for host in hosts:
        v = views[host]
        if v.get("redis_mode", "standalone") != mode:
            problems.append({"host": host, "message": "%s: redis_mode %s differs from %s's %s: every Redis host needs the "
                                                      "same mode" % (host, v.get("redis_mode"), hosts[0], mode)})
        nodes.append({"host": host, "address": v.get("redis_bind_address") or None, "port": _int(v.get("redis_port"), 6379),
                      "sentinel_port": _int(v.get("redis_sentinel_port"), 26379)})
    known = [n for n in nodes if n["address"]]
    user = first.get("redis_livekit_user", "")
    return {
        "mode": mode,
        "hosts": hosts,
        "endpoints": [_hostport(n["address"], n["port"]) for n in known],
        "sentinel_endpoints": [_hostport(n["address"], n["sentinel_port"]) for n in known] if mode == "sentinel" else [],
        "master_name": first.get("redis_sentinel_master_name", "livekit") if mode == "sentinel" else None,
        "cluster_endpoints": [_hostport(n["address"], n["port"]) for n in known] if mode == "cluster" else [],
        "tls": _truthy(first.get("redis_tls_enabled", False)),
        "username": user or None,
        "password_var": "redis_password",
    }


def _turn(views, hosts, nodes):
    servers = []
    for host in hosts:
        v = views[host]
        listening = _int(v.get("coturn_listening_port"), 3478)
        addresses = nodes[host]["addresses"]
        servers.append({
            "host": host,
            "address": addresses["public"] or addresses["default_ipv4"] or addresses["ansible_host"],
            "realm": v.get("coturn_realm", ""),
            "udp_port": listening,
            "tcp_port": listening,
            "tls_ports": [_int(p) for p in v.get("coturn_tls_ports") or []],
            "relay": {"start": _int(v.get("coturn_min_port")), "end": _int(v.get("coturn_max_port"))},
        })
    return {"secret_var": "coturn_static_auth_secret", "servers": servers}


def _sfu(views, hosts, nodes):
    out = []
    for host in hosts:
        config = livekit_server_config(views[host])
        start, end = livekit_server_udp(config)
        addresses = nodes[host]["addresses"]
        out.append({
            "host": host,
            "node_ip": addresses["public"],
            "default_ipv4": addresses["default_ipv4"],
            "address": addresses["public"] or addresses["default_ipv4"] or addresses["ansible_host"],
            "http_port": _int(config.get("port"), 7880),
            "rtc_tcp_port": _int((config.get("rtc") or {}).get("tcp_port"), 7881),
            "rtc_udp": {"start": start, "end": end},
            "prometheus_port": _int((config.get("prometheus") or {}).get("port"), 0) or None,
        })
    return {"nodes": out}


# port entry name -> Prometheus job of the targets the monitoring role writes
SCRAPE_JOBS = {"livekit-prometheus": "livekit", "livekit-ingress-prometheus": "livekit_ingress",
               "livekit-egress-prometheus": "livekit_egress", "node-exporter": "node", "redis-exporter": "redis",
               "redis-sentinel-exporter": "redis_sentinel", "nginx-exporter": "nginx", "prometheus": "prometheus"}
# port entry name -> probe job: blackbox-exporter on the monitoring host probes these ports (TLS handshake, TCP connect)
PROBE_JOBS = {"proxy-https": "tls_front", "turn-tcp": "turn"}


def _monitoring(groups, nodes, ports, problems, views):
    """Scrape targets per job: every metrics port of the stack hosts, at the address the monitoring hosts reach; and
    the probe targets (the TLS front and coturn's TCP port) at the same address."""
    hosts = groups.get("livekit_monitoring", [])
    jobs = {}
    if not hosts:
        return {"hosts": [], "jobs": jobs}
    for host in ports:
        if host not in nodes or not set(nodes[host]["groups"]) & set(STACK_GROUPS):
            continue
        addresses = nodes[host]["addresses"]
        address = addresses["private_ip"] or addresses["default_ipv4"] or addresses["ansible_host"]
        for entry in ports[host]:
            job = SCRAPE_JOBS.get(entry["name"]) or PROBE_JOBS.get(entry["name"])
            if job is None or not entry["expose"]:
                continue
            if not address:
                problems.append({"host": host, "message": "%s: no address to scrape %s on (set private_ip or ansible_host, "
                                                          "or gather its facts earlier in the playbook)" % (host, entry["name"])})
                continue
            labels = {"instance": host}
            if job == "tls_front":
                labels["server_name"] = str(views[host].get("livekit_proxy_server_name", "") or "") if host in views else ""
            jobs.setdefault(job, []).append({"targets": [_hostport(address, entry["start"])], "labels": labels})
    return {"hosts": hosts, "jobs": jobs}


def _keys(views, hosts):
    ids = []
    for host in hosts:
        keys = views[host].get("livekit_server_api_keys", {})
        if isinstance(keys, dict):
            ids.extend(str(k) for k in keys)
    return {"variable": "livekit_api_keys", "ids": sorted(set(ids))}


def _overlap_message(host, conflict, by_name):
    pairs = list(zip(conflict["owners"], conflict["names"]))
    if ("coturn", "turn-relay") in pairs:
        other_owner, other = pairs[1] if pairs[0] == ("coturn", "turn-relay") else pairs[0]
        entry = by_name[("coturn", "turn-relay")]
        other_entry = by_name[(other_owner, other)]
        return ("The coturn relay range %s overlaps other UDP ports of %s: %s: %s udp %s. Move coturn_min_port / "
                "coturn_max_port or the other range (e.g. LiveKit's RTC UDP range)."
                % (entry["port"], host, other_owner, other, other_entry["port"]))
    return ("Port ranges of different owners overlap on %s: %s. Move one of them, or give both entries the same "
            "owner if they are meant to share the ports." % (host, conflict["message"]))


def build(groups, hostvars, defaults):
    """The deployment model of an inventory.

    groups: inventory group -> host names; hostvars: host -> mapping of its variables (values templated on
    access, like Ansible's hostvars); defaults: the merged defaults/main.yml of the collection's roles.
    """
    groups = {name: list(members or []) for name, members in (groups or {}).items()}
    stack_hosts = _unique(h for g in MODEL_GROUPS for h in groups.get(g, []))
    problems = []
    views = {h: HostView(h, _vars_of(hostvars, h), defaults, groups) for h in stack_hosts}

    nodes, ports = {}, {}
    for host in stack_hosts:
        v = views[host]
        host_groups = [g for g in MODEL_GROUPS if host in groups.get(g, [])]
        roles, entries = [], []
        try:
            for role, spec in ROLES.items():
                if not set(spec["groups"]) & set(host_groups):
                    continue
                if spec["when"] is not None and not spec["when"](v):
                    continue
                roles.append(role)
                for entry in (spec["ports"](v) if spec["ports"] else []):
                    if isinstance(entry, dict):
                        entry = dict(entry)
                        entry.setdefault("owner", role if role != "firewall" else entry.get("name"))
                    entries.append(entry)
            addresses = _addresses(v)
        except _Undefined as e:
            problems.append({"host": host, "message": str(e)})
            addresses = dict(NO_ADDRESS)
        nodes[host] = {"groups": host_groups, "roles": roles, "addresses": addresses}
        invalid = port_problems(entries)
        if invalid:
            problems.extend({"host": host, "message": "%s: invalid port entries: %s" % (host, p)} for p in invalid)
            ports[host] = []
            continue
        ports[host] = port_entries(entries)
        by_name = {(e["owner"], e["name"]): e for e in ports[host]}
        for conflict in port_ranges_overlap(ports[host]):
            problems.append({"host": host, "message": _overlap_message(host, conflict, by_name)})

    sources = {}
    for host in stack_hosts:
        for entry in ports[host]:
            for source in entry["from"]:
                if not is_group_source(source) or source in sources:
                    continue
                group = source if source in groups else "livekit_" + source if "livekit_" + source in groups else None
                if group is None:  # a group of the collection that the inventory leaves out (a dynamic one has no empty groups)
                    group = next((g for g in (source, "livekit_" + source) if g in MODEL_GROUPS), None)
                members = groups.get(group, []) if group else []
                reach = {h: (nodes[h]["addresses"] if h in nodes else _safe_addresses(hostvars, h, defaults, groups))["reach"]
                         for h in members}
                missing = [h for h in members if not reach[h]]
                sources[source] = {"group": group, "hosts": members, "addresses": _unique(a for h in members for a in reach[h]),
                                   "missing": missing}
    for host in stack_hosts:
        unknown = _unique(s for e in ports[host] for s in e["from"] if s in sources and sources[s]["group"] is None)
        if unknown:
            problems.append({"host": host, "message": "%s: `from` names groups that are not in the inventory (neither NAME nor "
                                                      "livekit_NAME): %s" % (host, ", ".join(unknown))})
        if "firewall" in nodes[host]["roles"]:
            missing = _unique(m for e in ports[host] if e["expose"] for s in e["from"] if s in sources
                              for m in sources[s]["missing"])
            if missing:
                problems.append({"host": host, "message": "%s: no address is known for %s (a source of its firewall): gather "
                                                          "their facts earlier in the playbook (or use a fact cache), or set "
                                                          "firewall_addresses (a list) or ansible_host to an address for them"
                                                          % (host, ", ".join(missing))})

    model = {
        "nodes": nodes,
        "ports": ports,
        "sources": sources,
        "redis": _redis(views, [h for h in groups.get("livekit_redis", []) if h in views], problems),
        "turn": _turn(views, groups.get("livekit_turn", []), nodes),
        "keys": _keys(views, groups.get("livekit_sfu", [])),
        "sfu": _sfu(views, groups.get("livekit_sfu", []), nodes),
        "monitoring": _monitoring(groups, nodes, ports, problems, views),
        "problems": problems,
    }
    return model


NO_ADDRESS = {"ansible_host": None, "default_ipv4": None, "ipv4": [], "ipv6": [], "private_ip": None, "public": None, "reach": []}


def _vars_of(hostvars, host):
    return hostvars.get(host, {})


def _safe_addresses(hostvars, host, defaults, groups):
    """Addresses of a host outside the stack groups (a custom source group)."""
    try:
        return _addresses(HostView(host, _vars_of(hostvars, host), defaults, groups))
    except _Undefined:
        return dict(NO_ADDRESS)


def _ip_block(address):
    return {"ipBlock": {"cidr": str(ipaddress.ip_network(str(address).strip(), strict=False))}}


def network_policies(entries, pods, peers=None, groups=None, private=None):
    """NetworkPolicy objects (without namespace) admitting exactly what the port entries allow.

    entries: a livekit_k8s host's port entries (the model's); pods: owner -> {name, labels} for the owners whose pods
    are on the pod network (entries of other owners, on the host network, get no policy); peers: source -> list of
    NetworkPolicyPeer dicts or addresses (e.g. the LiveKit pods' labels and their nodes' addresses); groups: source ->
    addresses (the model's sources). One policy per owner selects its pods, denies every other ingress and has one rule per entry.
    """
    private = DEFAULT_PRIVATE if private is None else private
    peers, groups = peers or {}, groups or {}
    policies = []
    for owner in sorted(pods or {}):
        rules = []
        for entry in port_entries([e for e in entries or [] if e.get("owner") == owner]):
            port = {"protocol": entry["proto"].upper(), "port": entry["start"]}
            if entry["end"] != entry["start"]:
                port["endPort"] = entry["end"]
            rule = {"ports": [port]}
            if "any" not in entry["from"]:
                rule["from"] = []
                for source in entry["from"]:
                    if source in peers:
                        found = [_ip_block(p) if isinstance(p, str) else p for p in peers[source]]
                    elif source == "private" or is_address(source) or source in groups:
                        found = [_ip_block(a) for a in (private if source == "private" else groups.get(source, [source]))]
                    else:
                        raise PortError("network_policies: %s (%s) allows from %r, which is neither any, private, an "
                                        "address nor a known source" % (entry["name"], owner, source))
                    rule["from"].extend(p for p in found if p not in rule["from"])
                if not rule["from"]:
                    continue  # no address known: nothing is admitted (an empty `from` would admit everyone)
            rules.append(rule)
        policies.append({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": pods[owner]["name"]},
            "spec": {"podSelector": {"matchLabels": dict(pods[owner]["labels"])}, "policyTypes": ["Ingress"], "ingress": rules},
        })
    return policies


def node(model, host):
    """The part of the model about one host, with the problems that concern it."""
    return {
        "host": host,
        "groups": model["nodes"].get(host, {}).get("groups", []),
        "roles": model["nodes"].get(host, {}).get("roles", []),
        "addresses": model["nodes"].get(host, {}).get("addresses", {}),
        "ports": model["ports"].get(host, []),
        "sources": {s: model["sources"][s]["addresses"] for s in model["sources"]},
        "problems": [p["message"] for p in model["problems"] if p["host"] in (host, None)],
    }
