# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of rtcstack.livekit.deployment: builds the deployment model on the controller (docs in modules/)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import yaml
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.rtcstack.livekit.plugins.module_utils import _deployment

ROLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


def role_defaults(roles_dir=ROLES_DIR):
    """The literal defaults/main.yml of every role of the model, merged (the names are role-prefixed)."""
    merged = {}
    for role in _deployment.ROLES:
        path = os.path.join(roles_dir, role, "defaults", "main.yml")
        if os.path.exists(path):
            with open(path) as f:
                merged.update(yaml.safe_load(f) or {})
    return merged


class _ThisHost(Mapping):
    """The task's variables of the current host (play, role and task vars included), templated on access."""

    def __init__(self, task_vars, templar):
        self._vars = task_vars
        self._templar = templar

    def __getitem__(self, key):
        return self._templar.template(self._vars[key])

    def __contains__(self, key):
        return key in self._vars

    def __iter__(self):
        return iter(self._vars)

    def __len__(self):
        return len(self._vars)


class _HostVars(Mapping):
    """hostvars, with the current host read from the task's variables."""

    def __init__(self, hostvars, current, this):
        self._hostvars = hostvars
        self._current = current
        self._this = this

    def __getitem__(self, host):
        if host == self._current:
            return self._this
        return self._hostvars.get(host, {})

    def __contains__(self, host):
        return host == self._current or host in self._hostvars

    def __iter__(self):
        return iter(self._hostvars)

    def __len__(self):
        return len(self._hostvars)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False
    _VALID_ARGS = frozenset(("fail_on_problems",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        fail = self._task.args.get("fail_on_problems", True)
        if not isinstance(fail, bool):
            raise AnsibleActionFail("fail_on_problems must be true or false, got %r" % (fail,))
        host = task_vars.get("inventory_hostname")
        hostvars = _HostVars(task_vars.get("hostvars", {}), host, _ThisHost(task_vars, self._templar))
        model = _deployment.build(task_vars.get("groups", {}), hostvars, role_defaults())
        node = _deployment.node(model, host)
        if fail and node["problems"]:
            result.update(failed=True, problems=node["problems"], msg="The deployment model of the inventory has %d problem(s) "
                          "concerning %s: %s" % (len(node["problems"]), host, " | ".join(node["problems"])))
            return result
        result.update(changed=False, ansible_facts={"livekit_deployment": model, "livekit_node": node})
        return result
