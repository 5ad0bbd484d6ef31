#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: openstack_security_group_rules
short_description: Exactly these rules in existing OpenStack security groups (the plan of rtcstack.livekit.openstack_plan)
version_added: 0.1.0
author:
  - rtcstack.livekit contributors (@rtcstack)
description:
  - Makes the rules of each given security group exactly the given list - missing rules are created, others
    deleted - comparing direction, ether type, protocol, port range and remote (prefix or group).
  - Written for the C(openstack_infra) role because C(openstack.cloud.security_group) 2.5.0 cannot match a rule whose
    port range ends at 65535 without starting at 1 (such as the TURN relay range 60001-65535) - it deletes and
    creates it again on every run.
extends_documentation_fragment:
  - rtcstack.livekit.openstack
options:
  security_groups:
    description:
      - The security groups (by name) and their rules, as the C(security_groups) of the C(plan) of
        M(rtcstack.livekit.openstack_plan) - each rule has C(direction), C(ether_type), C(protocol),
        C(port_range_min), C(port_range_max), C(remote_ip_prefix) or C(remote_group) (a security group's name), and
        C(description) (set on creation, not compared).
      - A security group that does not exist fails the task, in check mode it is reported with every rule to create.
    type: list
    elements: dict
    required: true
attributes:
  check_mode:
    description: Reports what would change and changes nothing.
    support: full
  diff_mode:
    description: The rules of each changed security group before and after, one line each.
    support: full
"""

EXAMPLES = r"""
- name: Exactly the plan's rules
  rtcstack.livekit.openstack_security_group_rules:
    cloud: mycloud
    security_groups: "{{ plan.plan.security_groups }}"
"""

RETURN = r"""
security_groups:
  description: Name -> C(created) and C(deleted) rules (one line each) of every security group.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rtcstack.livekit.plugins.module_utils._openstack_cloud import CLOUD_OPTIONS, SDKException, connect


def _key(direction, ether_type, protocol, low, high, prefix, group):
    if protocol in (None, "", "any", "0"):
        protocol = None
    if prefix in ("0.0.0.0/0", "::/0"):  # from anywhere: neutron's default rules say it with no prefix
        prefix = None
    return (direction or "ingress", ether_type or "IPv4", protocol, low, high, prefix or None, group or None)


def _line(key, names):
    direction, ether_type, protocol, low, high, prefix, group = key
    ports = "" if low is None else " %s" % (low if low == high else "%s-%s" % (low, high))
    source = names.get(group, group) if group else (prefix or "any")
    way = "to" if direction == "egress" else "from"
    return "%s %s %s%s %s %s" % (direction, ether_type, protocol or "any", ports, way, source)


def reconcile(conn, groups, check_mode):
    found = {}
    for sg in groups:
        found[sg["name"]] = conn.network.find_security_group(sg["name"], ignore_missing=True)
    ids = {name: sg.id for name, sg in found.items() if sg is not None}
    changed, result, before_all, after_all = False, {}, {}, {}
    for sg in groups:
        current = found[sg["name"]]
        if current is None and not check_mode:
            raise ValueError("security group %s does not exist" % sg["name"])
        for rule in sg["rules"]:
            remote = rule.get("remote_group")
            if remote and remote not in ids:
                other = conn.network.find_security_group(remote, ignore_missing=True)
                if other is not None:
                    ids[remote] = other.id
                elif not check_mode:
                    raise ValueError("security group %s (remote group of a rule of %s) does not exist" % (remote, sg["name"]))
        names = {v: k for k, v in ids.items()}
        want = {}
        for rule in sg["rules"]:
            remote = rule.get("remote_group")
            key = _key(rule.get("direction"), rule.get("ether_type"), rule.get("protocol"), rule.get("port_range_min"),
                       rule.get("port_range_max"), rule.get("remote_ip_prefix"), ids.get(remote, remote) if remote else None)
            want[key] = rule
        have = {}
        for r in (conn.network.security_group_rules(security_group_id=current.id) if current is not None else []):
            have[_key(r.direction, r.ether_type, r.protocol, r.port_range_min, r.port_range_max, r.remote_ip_prefix,
                      r.remote_group_id)] = r
        create = [k for k in want if k not in have]
        delete = [k for k in have if k not in want]
        result[sg["name"]] = {"created": sorted(_line(k, names) for k in create),
                              "deleted": sorted(_line(k, names) for k in delete)}
        if create or delete:
            changed = True
            before_all[sg["name"]] = sorted(_line(k, names) for k in have)
            after_all[sg["name"]] = sorted(_line(k, names) for k in want)
        if check_mode or not (create or delete):
            continue
        for k in delete:
            conn.network.delete_security_group_rule(have[k].id)
        for k in create:
            direction, ether_type, protocol, low, high, _prefix, group = k
            body = {"security_group_id": current.id, "direction": direction, "ether_type": ether_type}
            for field, value in (("protocol", protocol), ("port_range_min", low), ("port_range_max", high),
                                 ("remote_ip_prefix", want[k].get("remote_ip_prefix")), ("remote_group_id", group),
                                 ("description", want[k].get("description"))):
                if value is not None:
                    body[field] = value
            conn.network.create_security_group_rule(**body)
    return changed, result, {"before": before_all, "after": after_all}


def main():
    module = AnsibleModule(
        argument_spec=dict(CLOUD_OPTIONS, security_groups=dict(type="list", elements="dict", required=True)),
        supports_check_mode=True,
    )
    conn = connect(module)
    try:
        changed, result, diff = reconcile(conn, module.params["security_groups"], module.check_mode)
    except ValueError as e:
        module.fail_json(msg=str(e))
    except SDKException as e:
        module.fail_json(msg="cloud %r: %s" % (module.params["cloud"], e))
    module.exit_json(changed=changed, security_groups=result, diff=diff)


if __name__ == "__main__":
    main()
