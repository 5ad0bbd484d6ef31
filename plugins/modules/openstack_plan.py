# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin plugins/action/openstack_plan.py, on the controller; this file is its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: openstack_plan
short_description: The OpenStack plan of the inventory - security groups, server groups, servers - from the deployment model
version_added: 0.1.0
author:
  - rtcstack.livekit contributors (@rtcstack)
description:
  - Builds the deployment model of the inventory (as M(rtcstack.livekit.deployment) does) and turns it into what the
    C(openstack_infra) role creates. Runs on the controller only; it never contacts a cloud or a host.
  - One security group per node group (C(livekit_sfu), C(livekit_redis)...), named C(NAME-sfu), C(NAME-redis)...,
    whose ingress rules are exactly the exposed port entries of the group's hosts. Sources - V(any) is 0.0.0.0/0
    (and ::/0 with O(ipv6)), V(private) the O(private_cidrs), an address or CIDR itself, a group of the plan its
    security group (C(remote_group)), a group outside the plan its known addresses. Entries with C(expose=false)
    get no rule. Neutron's default egress rules are kept.
  - Server groups for the groups of O(server_group_policies) with two hosts or more (Redis only in sentinel or
    cluster mode); servers named after their inventory host, with metadata C(rtcstack_managed),
    C(rtcstack_deployment) and C(rtcstack_groups) and tags C(rtcstack-livekit), C(rtcstack-NAME).
  - A host gets a floating IP when it exposes a port to V(any) other than SSH, unless its C(openstack_infra_floating_ip) says
    otherwise.
  - Fails with one message listing every problem - model problems other than unknown addresses (the servers do not
    exist yet), a host in two node groups, hosts of one group needing different rules, a missing flavor or image.
options:
  name:
    description: The deployment's name, the prefix of every resource name and the value of its ownership marks.
    type: str
    required: true
  private_cidrs:
    description: What C(from=private) stands for (the deployment's subnet).
    type: list
    elements: str
  ipv6:
    description: Add the IPv6 rule next to every IPv4 rule from V(any) and every group rule.
    type: bool
    default: false
  icmp:
    description: Allow ICMP from anywhere, as the host firewall of the collection does.
    type: bool
    default: true
  server_group_policies:
    description: Node group -> server group policy (V(anti-affinity), V(soft-anti-affinity), V(affinity), V(soft-affinity)).
    type: dict
  keypair:
    description: The keypair's name (default the deployment's name).
    type: str
  groups:
    description:
      - Plan only the hosts of these node groups (default every C(livekit_*) group); a source group outside them is
        allowed by its hosts' addresses. The load-generator fleet (C(playbooks/loadgen_fleet.yml)) plans
        C(livekit_loadgen) only.
    type: list
    elements: str
  extra_tags:
    description:
      - More tags for every server (the fleet adds the main deployment's C(rtcstack-NAME), so that its dynamic inventory
        lists the generators).
    type: list
    elements: str
  fail_on_problems:
    description: Fail when the plan has problems (with V(false) they are only returned, for a removal).
    type: bool
    default: true
  defaults:
    description:
      - Per-host settings used where the host has no C(openstack_infra_flavor), C(openstack_infra_image),
        C(openstack_infra_volume_size) or C(openstack_infra_floating_ip) variable.
    type: dict
extends_documentation_fragment:
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.CONTROLLER
"""

EXAMPLES = r"""
- name: The plan of the inventory
  rtcstack.livekit.openstack_plan:
    name: prod
    private_cidrs: [10.42.0.0/24]
    server_group_policies: {livekit_sfu: anti-affinity, livekit_redis: anti-affinity}
    defaults: {flavor: m1.medium, image: debian-12}
  register: plan
"""

RETURN = r"""
plan:
  description:
    - C(deployment), C(names) (network, subnet, router, keypair), C(security_groups) (name, group, hosts, description,
      rules in the form of the C(security_group_rules) option of C(openstack.cloud.security_group)), C(server_groups)
      (name, group, policy, hosts), C(servers) (name, group, security_groups, server_group, flavor, image, volume_size,
      floating_ip, metadata, tags), C(needs) (what the plan counts against the quota) and C(problems).
  returned: always
  type: dict
model_ports:
  description: The model's port entries per host (what the rules come from).
  returned: always
  type: dict
"""
