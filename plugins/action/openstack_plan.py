# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of rtcstack.livekit.openstack_plan: the OpenStack plan of the inventory (docs in modules/)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.rtcstack.livekit.plugins.action.deployment import _HostVars, _ThisHost, role_defaults
from ansible_collections.rtcstack.livekit.plugins.module_utils import _deployment, _openstack

HOST_SETTINGS = ("flavor", "image", "volume_size", "floating_ip")
ARGS = {"name": str, "private_cidrs": list, "ipv6": bool, "icmp": bool, "server_group_policies": dict, "keypair": str,
        "defaults": dict, "fail_on_problems": bool, "groups": list, "extra_tags": list}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        for key, kind in ARGS.items():
            if args.get(key) is not None and not isinstance(args[key], kind):
                raise AnsibleActionFail("%s must be a %s, got %r" % (key, kind.__name__, args[key]))
        if not args.get("name"):
            raise AnsibleActionFail("name (the deployment's name) is required")
        host = task_vars.get("inventory_hostname")
        hostvars = _HostVars(task_vars.get("hostvars", {}), host, _ThisHost(task_vars, self._templar))
        model = _deployment.build(task_vars.get("groups", {}), hostvars, role_defaults())
        defaults = args.get("defaults") or {}
        settings = {}
        for name in model["nodes"]:
            own = hostvars.get(name, {})
            settings[name] = {}
            for key in HOST_SETTINGS:
                var = "openstack_infra_" + key
                value = own.get(var)
                settings[name][key] = defaults.get(key) if value is None else value
        options = {"deployment": args["name"], "private_cidrs": args.get("private_cidrs") or [], "ipv6": args.get("ipv6", False),
                   "icmp": args.get("icmp", True), "server_group_policies": args.get("server_group_policies") or {},
                   "keypair": args.get("keypair"), "groups": args.get("groups") or [], "extra_tags": args.get("extra_tags") or []}
        try:
            plan = _openstack.plan(model, settings, options)
        except ValueError as e:
            raise AnsibleActionFail("the OpenStack plan of the inventory: %s" % e) from None
        result.update(changed=False, plan=plan, model_ports=dict(model["ports"]))
        if plan["problems"] and args.get("fail_on_problems", True):
            result.update(failed=True, msg="The OpenStack plan of the inventory has %d problem(s): %s"
                          % (len(plan["problems"]), " | ".join(plan["problems"])))
        return result
