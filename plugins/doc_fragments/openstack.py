# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The cloud of the OpenStack modules (module_utils/_openstack_cloud.py CLOUD_OPTIONS).
    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - The entry of C(clouds.yaml) (searched as openstacksdk does, E(OS_CLIENT_CONFIG_FILE) first).
    type: str
    required: true
  region_name:
    description:
      - The region (default the entry's).
    type: str
requirements:
  - openstacksdk
"""
