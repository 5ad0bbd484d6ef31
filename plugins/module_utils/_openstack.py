# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OpenStack plan of a deployment model (private to this collection).

``plan(model, settings, options)`` turns the deployment model (plugins/module_utils/_deployment.py) into what
the openstack_infra role creates: one security group per node group whose ingress rules are the model's exposed
port entries of that group's hosts (rule for rule), server groups, servers and their floating IPs. Source
translation: ``any`` -> 0.0.0.0/0 (and ::/0 with ipv6), ``private`` -> the private CIDRs (the deployment's
subnet), an address/CIDR -> itself, a group of the plan -> remote_group (its security group), a group outside
the plan -> its known addresses. Standard library only.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.rtcstack.livekit.plugins.module_utils import _deployment

MANAGED_BY = "rtcstack.livekit"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
POLICIES = ("anti-affinity", "soft-anti-affinity", "affinity", "soft-affinity")
# Neutron's default egress rules of a new security group, listed so that the exact rule list keeps them.
EGRESS = [{"direction": "egress", "ether_type": "IPv4"}, {"direction": "egress", "ether_type": "IPv6"}]
# Model problems that only say that addresses are not known yet: expected before the servers exist.
ADDRESS_PROBLEMS = ("no address is known for", "no address to scrape")


def mark(deployment, group=None):
    """The description that marks a neutron resource as the deployment's."""
    text = "managed by %s, deployment %s" % (MANAGED_BY, deployment)
    return text + (" (%s)" % group if group else "")


def owned(description, deployment):
    """True when a neutron resource's description marks it as the deployment's."""
    text = mark(deployment)
    return isinstance(description, str) and (description == text or description.startswith(text + " ("))


def short(group):
    return group[len("livekit_"):] if group.startswith("livekit_") else group


def names(deployment, keypair=None):
    """The names of the deployment's shared resources."""
    return {"network": deployment + "-net", "subnet": deployment + "-subnet", "router": deployment + "-router",
            "keypair": keypair or deployment}


def _network(value):
    return ipaddress.ip_network(str(value).strip(), strict=False)


def _ether(net):
    return "IPv%d" % net.version


def _rule(entry, ether_type, remote_ip_prefix=None, remote_group=None):
    rule = {"direction": "ingress", "ether_type": ether_type, "protocol": entry["proto"],
            "port_range_min": entry["start"], "port_range_max": entry["end"], "description": entry["name"]}
    if remote_group is not None:
        rule["remote_group"] = remote_group
    else:
        rule["remote_ip_prefix"] = remote_ip_prefix
    return rule


def rule_key(rule):
    """What makes two rules the same (the description aside)."""
    return (rule.get("direction", "ingress"), rule.get("ether_type", "IPv4"), rule.get("protocol"),
            rule.get("port_range_min"), rule.get("port_range_max"), rule.get("remote_ip_prefix"), rule.get("remote_group"))


def host_rules(model, host, sg_of_group, private_cidrs, ipv6=False, icmp=True):
    """The ingress rules a host's exposed port entries need, and the problems of their sources."""
    rules, problems = [], []
    for entry in model["ports"].get(host, []):
        if not entry["expose"]:
            continue
        for source in entry["from"]:
            if source == "any":
                rules.append(_rule(entry, "IPv4", "0.0.0.0/0"))
                if ipv6:
                    rules.append(_rule(entry, "IPv6", "::/0"))
            elif source == "private":
                for cidr in private_cidrs:
                    net = _network(cidr)
                    rules.append(_rule(entry, _ether(net), str(net)))
            elif _deployment.is_group_source(source):
                info = model["sources"].get(source) or {}
                group = info.get("group")
                if group is None:
                    problems.append("%s: %s allows from %r, which is not a group of the inventory"
                                    % (host, entry["name"], source))
                elif group in sg_of_group:
                    rules.append(_rule(entry, "IPv4", remote_group=sg_of_group[group]))
                    if ipv6:
                        rules.append(_rule(entry, "IPv6", remote_group=sg_of_group[group]))
                elif info.get("missing"):
                    problems.append("%s: %s allows from %s, whose hosts %s are not in the plan and have no known address"
                                    % (host, entry["name"], group, ", ".join(info["missing"])))
                else:
                    for address in info.get("addresses") or []:
                        net = _network(address)
                        rules.append(_rule(entry, _ether(net), str(net)))
            else:
                net = _network(source)
                rules.append(_rule(entry, _ether(net), str(net)))
    if icmp:
        rules.append({"direction": "ingress", "ether_type": "IPv4", "protocol": "icmp",
                      "remote_ip_prefix": "0.0.0.0/0", "description": "icmp"})
        if ipv6:
            rules.append({"direction": "ingress", "ether_type": "IPv6", "protocol": "ipv6-icmp", "remote_ip_prefix": "::/0",
                          "description": "icmp"})
    unique, seen = [], set()
    for rule in rules:
        if rule_key(rule) not in seen:
            seen.add(rule_key(rule))
            unique.append(rule)
    return sorted(unique, key=lambda r: tuple(str(x) for x in rule_key(r))), problems


def _public(model, host):
    """A host needs a floating IP when it exposes a port to any address (SSH aside)."""
    return any(e["expose"] and "any" in e["from"] and e["owner"] != "firewall_ssh" for e in model["ports"].get(host, []))


def _describe(rule):
    remote = rule.get("remote_group") or rule.get("remote_ip_prefix")
    ports = "" if rule.get("port_range_min") is None else " " + _deployment.span(rule["port_range_min"], rule["port_range_max"])
    return "%s%s from %s" % (rule.get("protocol"), ports, remote)


def plan(model, settings, options):
    """The OpenStack plan of a model.

    settings: host -> {flavor, image, volume_size, floating_ip (None: from the model)}; options: deployment,
    private_cidrs, ipv6, icmp, server_group_policies (group -> policy), groups (only these node groups; default all),
    extra_tags (more server tags).
    """
    deployment = options["deployment"]
    problems = []
    if not isinstance(deployment, str) or not NAME_RE.match(deployment):
        problems.append("openstack_infra_name must be 1-31 lowercase letters, digits or '-', starting with a letter or "
                        "digit, got %r" % (deployment,))
        deployment = "invalid"
    problems.extend(p["message"] for p in model.get("problems", [])
                    if not any(text in p["message"] for text in ADDRESS_PROBLEMS))
    only = options.get("groups") or _deployment.STACK_GROUPS
    hosts = [h for h, n in model["nodes"].items() if set(n["groups"]) & set(_deployment.STACK_GROUPS) & set(only)]
    group_of = {}
    for host in hosts:
        groups = [g for g in model["nodes"][host]["groups"] if g in _deployment.STACK_GROUPS]
        if len(groups) > 1:
            problems.append("%s is in %s: each server gets the security group of its one node group; give it one group"
                            % (host, " and ".join(groups)))
        group_of[host] = groups[0]
    groups = [g for g in _deployment.STACK_GROUPS if g in group_of.values()]
    sg_of_group = {g: "%s-%s" % (deployment, short(g)) for g in groups}

    security_groups = []
    for group in groups:
        members = [h for h in hosts if group_of[h] == group]
        per_host = {}
        for host in members:
            rules, source_problems = host_rules(model, host, sg_of_group, options.get("private_cidrs") or [],
                                                ipv6=options.get("ipv6", False), icmp=options.get("icmp", True))
            problems.extend(source_problems)
            per_host[host] = rules
        first = members[0]
        for host in members[1:]:
            a = {rule_key(r): r for r in per_host[first]}
            b = {rule_key(r): r for r in per_host[host]}
            if set(a) != set(b):
                diff = ["%s has %s" % (first, _describe(a[k])) for k in sorted(set(a) - set(b), key=str)]
                diff += ["%s has %s" % (host, _describe(b[k])) for k in sorted(set(b) - set(a), key=str)]
                problems.append("%s and %s need different rules (%s): the hosts of %s share one security group; give them "
                                "the same port variables" % (first, host, "; ".join(diff), group))
        security_groups.append({"name": sg_of_group[group], "group": group, "hosts": members,
                                "description": mark(deployment, group), "rules": per_host[first] + EGRESS})

    policies = options.get("server_group_policies") or {}
    server_groups = []
    for group, policy in sorted(policies.items()):
        members = [h for h in hosts if group_of[h] == group]
        if policy in (None, "", "none") or len(members) < 2:
            continue
        if policy not in POLICIES:
            problems.append("openstack_infra_server_group_policies: %s: %r is not one of %s"
                            % (group, policy, ", ".join(POLICIES)))
            continue
        if group == "livekit_redis" and model["redis"]["mode"] not in ("sentinel", "cluster"):
            continue
        server_groups.append({"name": "%s-%s" % (deployment, short(group)), "group": group, "policy": policy,
                              "hosts": members})
    server_group_of = {h: sg["name"] for sg in server_groups for h in sg["hosts"]}

    servers = []
    for host in hosts:
        s = settings.get(host) or {}
        for key in ("flavor", "image"):
            if not s.get(key):
                problems.append("%s: openstack_infra_%s is not set (a host or group variable)" % (host, key))
        volume = s.get("volume_size") or 0
        if not isinstance(volume, int) or isinstance(volume, bool) or volume < 0:
            problems.append("%s: openstack_infra_volume_size must be a number of GB (0: the flavor's disk), got %r"
                            % (host, volume))
            volume = 0
        floating = s.get("floating_ip")
        servers.append({
            "name": host,
            "group": group_of[host],
            "security_groups": [sg_of_group[group_of[host]]],
            "server_group": server_group_of.get(host),
            "flavor": s.get("flavor"),
            "image": s.get("image"),
            "volume_size": volume,
            "floating_ip": _public(model, host) if floating is None else bool(floating),
            "metadata": {"rtcstack_managed": MANAGED_BY, "rtcstack_deployment": deployment, "rtcstack_groups": group_of[host]},
            "tags": ["rtcstack-livekit", "rtcstack-" + deployment] + list(options.get("extra_tags") or []),
        })

    return {
        "deployment": deployment,
        "names": names(deployment, options.get("keypair")),
        "security_groups": security_groups,
        "server_groups": server_groups,
        "servers": servers,
        "needs": {
            "instances": len(servers),
            "floating_ips": sum(1 for s in servers if s["floating_ip"]),
            "security_groups": len(security_groups),
            "security_group_rules": sum(len(sg["rules"]) for sg in security_groups),
            "server_groups": len(server_groups),
            "server_group_members": max([len(g["hosts"]) for g in server_groups] or [0]),
        },
        "problems": problems,
    }
