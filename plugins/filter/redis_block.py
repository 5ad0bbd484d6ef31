# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: redis_block
short_description: Build LiveKit's C(redis:) configuration block from the facts the redis role published
version_added: 0.1.0
author:
  - rtcstack.livekit contributors
description:
  - Reads the fact C(redis_published) that the M(rtcstack.livekit.redis) role sets on each Redis host (mode,
    address, port, sentinel port, master name, TLS flag, ACL user name; never the password) and returns the
    C(redis:) block of C(livekit-server), C(ingress) and C(egress) configuration files.
  - "Standalone: C(address: <ip>:<port>). Sentinel: C(sentinel_master_name) and C(sentinel_addresses) (one
    C(<ip>:<sentinel port>) per host). Cluster: C(cluster_addresses) (one C(<ip>:<port>) per host)."
  - When O(password) is given, the block gets C(password) (and C(sentinel_password) in sentinel mode, because
    the role's sentinels require the same password), plus C(username) when the role created an ACL user for
    LiveKit. When the role enabled TLS, the block gets C(tls.enabled=true).
  - Fails with a message naming the host when a host has no C(redis_published) fact (the role has not run on
    it in this play and no fact cache holds it) or when the hosts disagree (mode, master name, TLS).
positional: hostvars
options:
  _input:
    description:
      - Names of the Redis hosts, usually C(groups['livekit_redis']).
    type: list
    elements: str
    required: true
  hostvars:
    description:
      - The C(hostvars) of the play, from which each host's C(redis_published) fact is read.
    type: dict
    required: true
  password:
    description:
      - The Redis password (C(redis_password), from the vault). Omit it, or pass V(omit), to get a block
        without secrets, for example to show it.
    type: str
"""

EXAMPLES = r"""
# The livekit_server role does this by default for its variable livekit_server_redis.
- name: Build LiveKit's Redis block
  ansible.builtin.set_fact:
    livekit_server_redis: "{{ groups['livekit_redis'] | rtcstack.livekit.redis_block(hostvars, password=redis_password) }}"
  no_log: true

# Standalone:  {"address": "10.0.0.5:6379", "password": "..."}
# Sentinel:    {"sentinel_master_name": "livekit",
#               "sentinel_addresses": ["10.0.0.5:26379", "10.0.0.6:26379", "10.0.0.7:26379"],
#               "password": "...", "sentinel_password": "..."}
# Cluster:     {"cluster_addresses": ["10.0.0.5:6379", ..., "10.0.0.10:6379"], "password": "..."}

- name: Show the block without the password
  ansible.builtin.debug:
    msg: "{{ groups['livekit_redis'] | rtcstack.livekit.redis_block(hostvars) }}"
"""

RETURN = r"""
_value:
  description:
    - LiveKit's C(redis:) block, a dictionary with C(address), or C(sentinel_master_name) and
      C(sentinel_addresses), or C(cluster_addresses); C(password), C(sentinel_password) and C(username) when
      O(password) is given; C(tls) when the role enabled TLS.
  type: dict
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

_MODES = ("standalone", "sentinel", "cluster")
_OMIT_PREFIX = "__omit_place_holder__"


def _hostport(address, port):
    address = str(address)
    if ":" in address and not address.startswith("["):
        address = "[%s]" % address
    return "%s:%d" % (address, int(port))


def _published(hostvars, host):
    try:
        facts = hostvars[host]
    except KeyError:
        raise AnsibleFilterError("redis_block: host %r is not in hostvars (is it in the inventory?)" % host) from None
    pub = facts.get("redis_published") if isinstance(facts, Mapping) else None
    if not isinstance(pub, Mapping):
        raise AnsibleFilterError(
            "redis_block: host %r has no redis_published fact: run the rtcstack.livekit.redis role on it in this play "
            "first, or enable a fact cache (the fact is cacheable)" % host
        )
    pub = dict(pub)
    for key in ("mode", "address", "port"):
        if pub.get(key) in (None, ""):
            raise AnsibleFilterError("redis_block: the redis_published fact of %r has no %s" % (host, key))
    if pub["mode"] not in _MODES:
        raise AnsibleFilterError("redis_block: host %r published the unknown mode %r" % (host, pub["mode"]))
    if pub["mode"] == "sentinel":
        for key in ("sentinel_port", "master_name"):
            if pub.get(key) in (None, ""):
                raise AnsibleFilterError("redis_block: host %r is in sentinel mode but published no %s" % (host, key))
    return pub


def _given(password):
    if password is None:
        return False
    password = str(password)
    return password != "" and not password.startswith(_OMIT_PREFIX)


def redis_block(hosts, hostvars, password=None):
    """Return LiveKit's ``redis:`` block for the Redis hosts ``hosts``."""
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, (list, tuple)) or not hosts:
        raise AnsibleFilterError("redis_block: expected a non-empty list of Redis host names, e.g. groups['livekit_redis']")
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("redis_block: the first argument must be hostvars")

    published = [(host, _published(hostvars, host)) for host in hosts]
    first_host, first = published[0]
    for key in ("mode", "master_name", "tls", "username"):
        for host, pub in published[1:]:
            if pub.get(key) != first.get(key):
                raise AnsibleFilterError(
                    "redis_block: hosts %r and %r disagree on %s (%r, %r): run the redis role on all of them with the "
                    "same settings" % (first_host, host, key, first.get(key), pub.get(key))
                )

    mode = first["mode"]
    block = {}
    if mode == "standalone":
        if len(published) != 1:
            raise AnsibleFilterError(
                "redis_block: standalone mode has one Redis host, got %d (%s)" % (len(published), ", ".join(hosts))
            )
        block["address"] = _hostport(first["address"], first["port"])
    elif mode == "sentinel":
        block["sentinel_master_name"] = str(first["master_name"])
        block["sentinel_addresses"] = [_hostport(pub["address"], pub["sentinel_port"]) for _host, pub in published]
    else:
        block["cluster_addresses"] = [_hostport(pub["address"], pub["port"]) for _host, pub in published]

    if _given(password):
        if first.get("username"):
            block["username"] = str(first["username"])
        block["password"] = str(password)
        if mode == "sentinel":
            block["sentinel_password"] = str(password)
    if first.get("tls"):
        block["tls"] = {"enabled": True}
    return block


class FilterModule(object):
    def filters(self):
        return {"redis_block": redis_block}
