#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: openstack_infra_info
short_description: What an OpenStack project holds for a plan - credentials, flavors, images, quota, owned and foreign resources
version_added: 0.1.0
author:
  - rtcstack.livekit contributors (@rtcstack)
description:
  - Reads (never changes) the project of a C(clouds.yaml) entry against a plan of M(rtcstack.livekit.openstack_plan) -
    the preflight of the C(openstack_infra) role, and the list of what its C(state=absent) removes.
  - Returns C(problems), one sentence each - the flavors and images the plan names that do not exist, an image
    larger than its flavor, the external network missing or not external, an existing network missing, a quota too
    small for what the plan still has to create, a resource with one of the plan's names that the deployment does
    not own (a name collision), a keypair of that name with another public key.
  - Ownership - servers by their metadata C(rtcstack_deployment), security groups, the network, subnet and router
    by their description (C(managed by rtcstack.livekit, deployment NAME)), a server group by its name when every
    member is an owned server, the keypair by its public key.
  - Fails only when the cloud cannot be reached or the credentials are refused (the message names the C(clouds.yaml)
    entry, never a password).
extends_documentation_fragment:
  - rtcstack.livekit.openstack
options:
  plan:
    description: The plan (the C(plan) result of M(rtcstack.livekit.openstack_plan)).
    type: dict
    required: true
  network:
    description: An existing network to use (then no network, subnet or router is created).
    type: str
  external_network:
    description: The external network of the router and the floating IPs.
    type: str
  public_key:
    description: The public key of the keypair the plan creates (none - the keypair must exist).
    type: str
attributes:
  check_mode:
    description: Reads only; runs in check mode as in a normal run.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
"""

EXAMPLES = r"""
- name: Preflight of a plan
  rtcstack.livekit.openstack_infra_info:
    cloud: mycloud
    plan: "{{ plan.plan }}"
    external_network: public
    public_key: "{{ lookup('file', '~/.ssh/id_ed25519.pub') }}"
  register: cloud

- name: Stop on the first problem
  ansible.builtin.assert:
    that: cloud.problems | length == 0
    fail_msg: "{{ cloud.problems | join(' | ') }}"
"""

RETURN = r"""
problems:
  description: What stops the plan, one sentence each (empty when the plan can be created).
  returned: always
  type: list
  elements: str
owned:
  description:
    - The deployment's resources found - C(servers) (name, id, group, status, fixed_ips, floating_ips, compute_host when
      visible, created_at, minutes since then), C(security_groups), C(server_groups), C(network), C(subnet), C(router),
      C(keypair) (name and id each; null when absent).
  returned: always
  type: dict
quota:
  description: For each quota the plan uses - C(limit), C(used) and C(need) (what is still to create); -1 is unlimited.
  returned: always
  type: dict
flavors:
  description: Flavor name -> vcpus, ram (MiB), disk (GB) of the flavors found.
  returned: always
  type: dict
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rtcstack.livekit.plugins.module_utils import _openstack
from ansible_collections.rtcstack.livekit.plugins.module_utils._openstack_cloud import CLOUD_OPTIONS, SDKException, connect


def _key_body(text):
    parts = (text or "").split()
    return " ".join(parts[:2])


def _addresses(server):
    fixed, floating = [], []
    for entries in (server.addresses or {}).values():
        for a in entries:
            (floating if a.get("OS-EXT-IPS:type") == "floating" else fixed).append(a.get("addr"))
    return fixed, floating


def _minutes(created_at):
    """Minutes since a server was created (its cost in server-minutes so far); None when unknown."""
    try:
        created = datetime.datetime.strptime(str(created_at).replace("Z", "+00:00"), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
    return round((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds() / 60, 1)


def _quota_value(value):
    """(limit, used) of a neutron quota detail."""
    if isinstance(value, dict):
        return value.get("limit", -1), value.get("used", 0)
    return -1, 0


def inspect(conn, params):
    plan = params["plan"]
    deployment = plan["deployment"]
    names = plan["names"]
    problems = []
    project_id = conn.current_project_id

    # Flavors and images.
    flavors, images = {}, {}
    for server in plan["servers"]:
        for kind, table, find in (("flavor", flavors, conn.compute.find_flavor), ("image", images, conn.image.find_image)):
            name = server[kind]
            if name in table:
                continue
            found = find(name, ignore_missing=True)
            table[name] = found
            if found is None:
                problems.append("%s %r (of %s) was not found in the cloud" % (kind, name, server["name"]))
        flavor, image = flavors.get(server["flavor"]), images.get(server["image"])
        if flavor is not None and image is not None and not server["volume_size"]:
            if (image.min_disk or 0) > (flavor.disk or 0) and flavor.disk:
                problems.append("%s: image %s needs %s GB of disk, flavor %s has %s GB"
                                % (server["name"], server["image"], image.min_disk, server["flavor"], flavor.disk))
            if (image.min_ram or 0) > (flavor.ram or 0):
                problems.append("%s: image %s needs %s MiB of RAM, flavor %s has %s MiB"
                                % (server["name"], server["image"], image.min_ram, server["flavor"], flavor.ram))

    # Networks.
    if params.get("external_network"):
        external = conn.network.find_network(params["external_network"], ignore_missing=True)
        if external is None:
            problems.append("external network %r was not found" % params["external_network"])
        elif not external.is_router_external:
            problems.append("network %r is not an external network (router:external)" % params["external_network"])
    elif any(s["floating_ip"] for s in plan["servers"]) or not params.get("network"):
        problems.append("openstack_infra_external_network is not set: the router and the floating IPs need it")
    owned = {"servers": [], "security_groups": [], "server_groups": [], "network": None, "subnet": None, "router": None,
             "keypair": None}
    if params.get("network"):
        if conn.network.find_network(params["network"], ignore_missing=True) is None:
            problems.append("network %r (openstack_infra_network) was not found" % params["network"])
    else:
        for kind, finder in (("network", conn.network.find_network), ("subnet", conn.network.find_subnet),
                             ("router", conn.network.find_router)):
            found = finder(names[kind], ignore_missing=True)
            if found is None:
                continue
            if _openstack.owned(found.description, deployment):
                owned[kind] = {"name": found.name, "id": found.id}
            else:
                problems.append("a %s named %s exists and is not this deployment's (description %r): rename the deployment "
                                "(openstack_infra_name) or that %s" % (kind, names[kind], found.description or "", kind))

    # Servers.
    by_name = {}
    for server in conn.compute.servers(details=True):
        by_name.setdefault(server.name, []).append(server)
        meta = server.metadata or {}
        if meta.get("rtcstack_deployment") == deployment and meta.get("rtcstack_managed") == _openstack.MANAGED_BY:
            fixed, floating = _addresses(server)
            owned["servers"].append({"name": server.name, "id": server.id, "group": meta.get("rtcstack_groups"),
                                     "status": server.status, "fixed_ips": fixed, "floating_ips": floating,
                                     "compute_host": server.compute_host, "created_at": server.created_at,
                                     "minutes": _minutes(server.created_at)})
    owned_ids = {s["id"] for s in owned["servers"]}
    for planned in plan["servers"]:
        foreign = [s for s in by_name.get(planned["name"], []) if s.id not in owned_ids]
        if foreign:
            problems.append("a server named %s exists and is not this deployment's (no metadata rtcstack_deployment=%s)"
                            % (planned["name"], deployment))

    # Security groups.
    planned_sgs = {sg["name"] for sg in plan["security_groups"]}
    for sg in conn.network.security_groups(project_id=project_id):
        if _openstack.owned(sg.description, deployment):
            owned["security_groups"].append({"name": sg.name, "id": sg.id})
        elif sg.name in planned_sgs:
            problems.append("a security group named %s exists and is not this deployment's (description %r)"
                            % (sg.name, sg.description or ""))

    # Server groups: owned when every member is an owned server (an empty one too: a run stopped before the servers).
    planned_groups = {g["name"] for g in plan["server_groups"]}
    prefix = deployment + "-"
    for group in conn.compute.server_groups():
        if not group.name.startswith(prefix):
            continue
        members = set(group.member_ids or [])
        if members <= owned_ids:
            policy = group.policy or (group.policies or [None])[0]
            owned["server_groups"].append({"name": group.name, "id": group.id, "policy": policy})
        elif group.name in planned_groups:
            problems.append("a server group named %s exists with servers that are not this deployment's" % group.name)

    # Keypair.
    keypair = conn.compute.find_keypair(names["keypair"], ignore_missing=True)
    if keypair is not None:
        if params.get("public_key") and _key_body(keypair.public_key) != _key_body(params["public_key"]):
            problems.append("a keypair named %s exists with another public key: rename the keypair (openstack_infra_keypair_name)"
                            % names["keypair"])
        elif params.get("public_key"):
            owned["keypair"] = {"name": keypair.name, "id": keypair.id}
    elif not params.get("public_key"):
        problems.append("keypair %s does not exist and no public key was given (openstack_infra_public_key)" % names["keypair"])

    # Quota: what is still to create against what is left.
    existing = {s["name"] for s in owned["servers"]}
    new_servers = [s for s in plan["servers"] if s["name"] not in existing]
    cores = sum((flavors.get(s["flavor"]).vcpus or 0) for s in new_servers if flavors.get(s["flavor"]) is not None)
    ram = sum((flavors.get(s["flavor"]).ram or 0) for s in new_servers if flavors.get(s["flavor"]) is not None)
    have_sgs = {sg["name"] for sg in owned["security_groups"]}
    new_sgs = [sg for sg in plan["security_groups"] if sg["name"] not in have_sgs]
    have_groups = {g["name"] for g in owned["server_groups"]}
    limits = conn.compute.get_limits().absolute
    quota = {
        "instances": {"limit": limits.instances, "used": limits.instances_used, "need": len(new_servers)},
        "cores": {"limit": limits.total_cores, "used": limits.total_cores_used, "need": cores},
        "ram": {"limit": limits.total_ram, "used": limits.total_ram_used, "need": ram},
        "server_groups": {"limit": limits.server_groups, "used": limits.server_groups_used,
                          "need": len([g for g in plan["server_groups"] if g["name"] not in have_groups])},
        "server_group_members": {"limit": limits.server_group_members, "used": 0, "need": plan["needs"]["server_group_members"]},
    }
    network_quota = conn.network.get_quota(project_id, details=True)
    new_fips = sum(1 for s in plan["servers"] if s["floating_ip"] and not any(
        o["floating_ips"] for o in owned["servers"] if o["name"] == s["name"]))
    create_network = not params.get("network")
    for key, need in (("floating_ips", new_fips), ("security_groups", len(new_sgs)),
                      ("security_group_rules", sum(len(sg["rules"]) for sg in new_sgs)),
                      ("ports", len(new_servers) + (1 if create_network and owned["router"] is None else 0)),
                      ("networks", 1 if create_network and owned["network"] is None else 0),
                      ("subnets", 1 if create_network and owned["subnet"] is None else 0),
                      ("routers", 1 if create_network and owned["router"] is None else 0)):
        limit, used = _quota_value(getattr(network_quota, key, None))
        quota[key] = {"limit": limit, "used": used, "need": need}
    for key, q in quota.items():
        limit = q["limit"]
        if limit is None or limit < 0 or not q["need"]:
            continue
        left = limit if key == "server_group_members" else limit - (q["used"] or 0)
        if q["need"] > left:
            problems.append("quota %s: the plan needs %d more, the project has %d left (limit %d, used %d)"
                            % (key, q["need"], max(left, 0), limit, q["used"] or 0))
    flavor_info = {n: {"vcpus": f.vcpus, "ram": f.ram, "disk": f.disk} for n, f in flavors.items() if f is not None}
    return {"problems": problems, "owned": owned, "quota": quota, "flavors": flavor_info}


def main():
    module = AnsibleModule(
        argument_spec=dict(CLOUD_OPTIONS, plan=dict(type="dict", required=True), network=dict(type="str"),
                           external_network=dict(type="str"),
                           public_key=dict(type="str")),
        supports_check_mode=True,
    )
    conn = connect(module)
    try:
        result = inspect(conn, module.params)
    except SDKException as e:
        module.fail_json(msg="reading cloud %r: %s" % (module.params["cloud"], e))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
