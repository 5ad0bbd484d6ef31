# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port model shared by every role: validation, normalisation, overlap detection, nftables rules.

A port entry (see docs/role-firewall.md) is a dict::

    {name: livekit-rtc-udp, proto: udp, port: "50000-60000", from: any, owner: livekit_server}

``name`` names the rule (nftables comment, security group description); ``proto`` is tcp or udp;
``port`` is an int or an "a-b" range; ``from`` is any, private, an address or CIDR, an inventory
group name, or a list of those; ``owner`` (optional, defaults to ``name``) is who declared it: two
entries of the same owner may share ports (the same port opened to two sources), two owners may not.

The documentation of each filter is in the ``<filter>.yml`` file next to this one.
"""

from __future__ import annotations

import ipaddress
import re

from ansible.errors import AnsibleFilterError

PROTOCOLS = ("tcp", "udp")
SPECIAL_SOURCES = ("any", "private")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
GROUP_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
RANGE_RE = re.compile(r"^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$")
INT_RE = re.compile(r"^\s*\d{1,5}\s*$")
DEFAULT_PRIVATE = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


def _label(entry, index):
    if isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry.get("name"):
        return "port entry %d (%s)" % (index, entry["name"])
    return "port entry %d" % index


def _parse_port(value):
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
        unknown = sorted(set(entry) - {"name", "proto", "port", "from", "owner"})
        if unknown:
            problems.append("%s: unknown keys %s (allowed: name, proto, port, from, owner)"
                            % (label, ", ".join(map(str, unknown))))
        name = entry.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append("%s: name must be 1-64 characters of letters, digits, '_', '.', ':', '-', got %r" % (label, name))
        proto = entry.get("proto")
        if proto not in PROTOCOLS:
            problems.append("%s: proto must be tcp or udp, got %r" % (label, proto))
        if "port" not in entry:
            problems.append("%s: port is missing" % label)
        else:
            try:
                _parse_port(entry["port"])
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
    """Validated, normalised copies of port entries: port as int or "a-b", start, end, from as a list, owner."""
    problems = port_problems(entries)
    if problems:
        raise AnsibleFilterError("invalid port entries: " + "; ".join(problems))
    result = []
    for entry in entries or []:
        start, end = _parse_port(entry["port"])
        result.append({
            "name": entry["name"],
            "proto": entry["proto"],
            "port": start if start == end else "%d-%d" % (start, end),
            "start": start,
            "end": end,
            "from": [s.strip() for s in _sources(entry.get("from", "any"))],
            "owner": entry.get("owner") or owner or entry["name"],
        })
    return result


def _span(start, end):
    return str(start) if start == end else "%d-%d" % (start, end)


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
                "ports": _span(low, high),
                "names": [a["name"], b["name"]],
                "owners": [a["owner"], b["owner"]],
                "message": "%s %s: %s (%s, %s %s) overlaps %s (%s, %s %s)" % (
                    a["proto"], _span(low, high), a["name"], a["owner"], a["proto"], a["port"],
                    b["name"], b["owner"], b["proto"], b["port"]),
            })
    return conflicts


def nft_port(value):
    """A port (int, "a-b", or a port entry) in nftables syntax: 7880 or 50000-60000."""
    if isinstance(value, dict):
        value = value.get("port")
    try:
        start, end = _parse_port(value)
    except ValueError as e:
        raise AnsibleFilterError("nft_port: %s" % e) from None
    return _span(start, end)


def _networks(sources, private, groups, entry_name):
    """ipaddress networks a list of from values allows; None means any."""
    networks = []
    for source in sources:
        if source == "any":
            return None
        if source == "private":
            values = list(private)
        elif GROUP_RE.match(source) and not _is_address(source):
            if source not in groups:
                raise AnsibleFilterError(
                    "nft_rules: %s allows from group %r, but no addresses were given for it" % (entry_name, source))
            values = list(groups[source] or [])
        else:
            values = [source]
        for value in values:
            try:
                networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
            except ValueError:
                raise AnsibleFilterError(
                    "nft_rules: %s: %r (from %s) is not an address or CIDR" % (entry_name, value, source)) from None
    return networks


def _is_address(value):
    try:
        ipaddress.ip_network(value, strict=False)
        return True
    except ValueError:
        return False


def _render_set(networks):
    items = []
    for net in networks:
        items.append(str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net))
    return items[0] if len(items) == 1 else "{ %s }" % ", ".join(items)


def nft_rules(entries, private=None, groups=None):
    """nftables rule lines (inet family) accepting each entry's new connections from its sources."""
    private = DEFAULT_PRIVATE if private is None else private
    groups = groups or {}
    normalised = sorted(port_entries(entries), key=lambda e: (e["start"], e["end"], e["proto"], e["name"]))
    lines = []
    for entry in normalised:
        match = "%s dport %s" % (entry["proto"], _span(entry["start"], entry["end"]))
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
                candidates = ["# %s: %s from %s resolves to no address, nothing allowed" % (
                    entry["name"], match, ", ".join(entry["from"]))]
        for line in candidates:
            if line not in lines:
                lines.append(line)
    return lines


class FilterModule(object):
    """The port model filters of rtcstack.livekit."""

    def filters(self):
        return {
            "port_problems": port_problems,
            "port_entries": port_entries,
            "port_ranges_overlap": port_ranges_overlap,
            "nft_port": nft_port,
            "nft_rules": nft_rules,
        }
