# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the Kubernetes roles: which nodes a selector matches, which host ports are taken, node memory,
NetworkPolicies from the port model.

They read what kubernetes.core.k8s_info returns (Node and Pod objects as dicts) and return names or
messages. The documentation of each filter is in the ``<filter>.yml`` file next to this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.rtcstack.livekit.plugins.module_utils._deployment import PortError, network_policies


def _labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def k8s_nodes_matching(nodes, selector):
    """Names of the nodes whose labels include every key=value of ``selector``."""
    if not isinstance(selector, dict):
        raise AnsibleFilterError("k8s_nodes_matching: the selector must be a mapping of labels, got %s" % type(selector).__name__)
    wanted = {str(k): str(v) for k, v in selector.items()}
    return [n["metadata"]["name"] for n in nodes or [] if all(_labels(n).get(k) == v for k, v in wanted.items())]


def _host_ports(pod):
    """(proto, port) a pod holds on its node: hostPort entries, and every containerPort on the host network."""
    spec = pod.get("spec") or {}
    host_network = bool(spec.get("hostNetwork"))
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for port in container.get("ports") or []:
            number = port.get("hostPort") or (port.get("containerPort") if host_network else None)
            if number:
                yield (port.get("protocol") or "TCP").lower(), int(number)


def k8s_host_port_conflicts(pods, entries, own_labels, nodes=None):
    """Messages for the ports of ``entries`` (port model entries) held by a pod that is not ours.

    own_labels: labels that mark our own pods (they are replaced, not in the way); nodes: only pods on
    these nodes count (None: every node).
    """
    own = {str(k): str(v) for k, v in (own_labels or {}).items()}
    messages = []
    for pod in pods or []:
        labels, spec, meta = _labels(pod), pod.get("spec") or {}, pod.get("metadata") or {}
        if own and all(labels.get(k) == v for k, v in own.items()):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if nodes is not None and spec.get("nodeName") not in nodes:
            continue
        for proto, port in sorted(set(_host_ports(pod))):
            for entry in entries or []:
                if entry.get("proto") == proto and entry["start"] <= port <= entry["end"]:
                    messages.append("%s %s (%s) is held by pod %s/%s on node %s" % (
                        proto.upper(), port, entry.get("name"), meta.get("namespace"), meta.get("name"), spec.get("nodeName")))
    return messages


_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def k8s_memory_mb(quantity):
    """MiB of a Kubernetes memory quantity ("16318864Ki", "8Gi", "1073741824"), rounded down."""
    text = str(quantity).strip()
    number = text.rstrip("kKMGTi")
    unit = text[len(number):]
    if unit not in _UNITS or not number.isdigit():
        raise AnsibleFilterError("k8s_memory_mb: %r is not a memory quantity like 16318864Ki, 8Gi or 1073741824" % (quantity,))
    return int(number) * _UNITS[unit] // 2**20


def k8s_network_policies(entries, pods, peers=None, groups=None, private=None):
    """NetworkPolicies of the pod-network owners of ``entries`` (the model's port entries of a livekit_k8s host)."""
    try:
        return network_policies(entries, pods, peers=peers, groups=groups, private=private)
    except PortError as e:
        raise AnsibleFilterError(str(e)) from None


class FilterModule(object):
    """The Kubernetes preflight filters of rtcstack.livekit."""

    def filters(self):
        return {
            "k8s_nodes_matching": k8s_nodes_matching,
            "k8s_host_port_conflicts": k8s_host_port_conflicts,
            "k8s_memory_mb": k8s_memory_mb,
            "k8s_network_policies": k8s_network_policies,
        }
