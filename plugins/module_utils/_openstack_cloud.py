# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The openstacksdk connection of the collection's OpenStack modules (private to this collection): the options
``cloud`` and ``region_name`` (doc fragment rtcstack.livekit.openstack) and one clear message per failure."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import openstack
    HAS_SDK, SDK_ERROR = True, None
    SDKException = openstack.exceptions.SDKException
except ImportError:
    HAS_SDK, SDK_ERROR = False, traceback.format_exc()
    SDKException = Exception

CLOUD_OPTIONS = dict(cloud=dict(type="str", required=True), region_name=dict(type="str"))


def connect(module):
    """An authorized connection to the module's cloud, or fail_json with one message (never the password)."""
    if not HAS_SDK:
        module.fail_json(msg=missing_required_lib("openstacksdk"), exception=SDK_ERROR)
    cloud = module.params["cloud"]
    try:
        conn = openstack.connect(cloud=cloud, region_name=module.params["region_name"])
        conn.authorize()
    except openstack.exceptions.ConfigException as e:
        module.fail_json(msg="clouds.yaml: %s (the cloud entry %r; files searched as openstacksdk does, "
                             "OS_CLIENT_CONFIG_FILE first)" % (e, cloud))
    except Exception as e:  # noqa: BLE001 - keystoneauth raises many kinds; none carries the password
        module.fail_json(msg="cannot log in to cloud %r: %s: %s" % (cloud, type(e).__name__, e))
    return conn
