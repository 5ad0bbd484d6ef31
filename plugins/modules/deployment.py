# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The work is done by the action plugin plugins/action/deployment.py, on the controller; this file is its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: deployment
short_description: The deployment model of the inventory (nodes, ports, Redis, TURN, keys) as facts
version_added: 0.1.0
author:
  - rtcstack.livekit contributors (@rtcstack)
description:
  - Reads the inventory groups and, for every host of the C(livekit_*) groups, the variables that decide its ports
    and addresses (the host's own over the defaults of the collection's roles, read from each role's
    C(defaults/main.yml) even when the role does not run in this play), and returns one model of the deployment.
  - Every consumer reads it - the firewall, coturn's allowed peers and relay range check, the workers' and kernel
    tuning's port checks, C(playbooks/preflight.yml) - so that they cannot disagree. See docs/roles.md.
  - Runs on the controller only; it changes nothing and never contacts a host. Secrets are never in the model,
    only the names of the variables that hold them.
  - Fails with one message listing every problem that concerns this host (overlapping ports of different owners,
    a C(from) naming an unknown group, a host of a source group without an address, an invalid port).
options:
  fail_on_problems:
    description:
      - Fail when the model has problems that concern this host (or the whole inventory).
      - With V(false), the problems are only returned (C(livekit_node.problems)).
    type: bool
    default: true
extends_documentation_fragment:
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.CONTROLLER
notes:
  - Role defaults that are Jinja expressions are not templated; the few that the model needs
    (C(livekit_server_http_allowed_from), C(redis_bind_address), C(livekit_server_api_keys)) are resolved
    explicitly from the groups and facts, with the same result as the role's expression.
  - The variables of the current host include the play's, the role's and the task's; other hosts' are their
    C(hostvars) (inventory, facts, extra vars).
"""

EXAMPLES = r"""
- name: Build the model once per host
  rtcstack.livekit.deployment:

- name: Ports this host opens
  ansible.builtin.debug:
    msg: "{{ livekit_node.ports | selectattr('expose') | map(attribute='name') | list }}"

- name: Only report problems
  rtcstack.livekit.deployment:
    fail_on_problems: false
"""

RETURN = r"""
ansible_facts:
  description: The model.
  returned: always
  type: complex
  contains:
    livekit_deployment:
      description:
        - The whole model, the same on every host. Keys C(nodes) (host -> groups, roles, addresses), C(ports)
          (host -> port entries), C(sources) (group name used in C(from) -> group, hosts, addresses, missing),
          C(redis) (mode, endpoints, sentinel_endpoints, master_name, cluster_endpoints, tls, username,
          password_var), C(turn) (secret_var, servers), C(keys) (variable, ids), C(sfu) (nodes), C(monitoring)
          (hosts, jobs = Prometheus job -> file_sd targets) and C(problems) (host, message).
      type: dict
      sample:
        ports:
          sfu-1:
            - {name: livekit-http, proto: tcp, port: 7880, start: 7880, end: 7880, from: [proxy],
               owner: livekit_server, expose: true}
        keys: {variable: livekit_api_keys, ids: [APIxxxxxxxx]}
    livekit_node:
      description:
        - The part of the model about this host - host, groups, roles, addresses, ports, sources (name ->
          addresses), problems (messages).
      type: dict
"""
