# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over port entries of the port model; the one implementation is plugins/module_utils/_deployment.py.

A port entry (see docs/role-firewall.md) is a dict::

    {name: livekit-rtc-udp, proto: udp, port: "50000-60000", from: any, owner: livekit_server}

The documentation of each filter is in the ``<filter>.yml`` file next to this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.rtcstack.livekit.plugins.module_utils import _deployment as model


def _wrap(func):
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except model.PortError as e:
            raise AnsibleFilterError(str(e)) from None
    call.__name__ = func.__name__
    call.__doc__ = func.__doc__
    return call


port_problems = model.port_problems
port_ranges_overlap = _wrap(model.port_ranges_overlap)
nft_rules = _wrap(model.nft_rules)


class FilterModule(object):
    """The port model filters of rtcstack.livekit."""

    def filters(self):
        return {
            "port_problems": port_problems,
            "port_ranges_overlap": port_ranges_overlap,
            "nft_rules": nft_rules,
        }
