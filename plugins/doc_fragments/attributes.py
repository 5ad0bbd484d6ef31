# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The attributes every module of this collection declares.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying the target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
"""

    # For modules that change state.
    ACTIONGROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/rtcstack.livekit.livekit) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - rtcstack.livekit.livekit
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
"""

    # For action plugins that compute on the controller only (deployment, openstack_plan).
    CONTROLLER = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - Runs in check mode as in a normal run (it changes nothing).
  diff_mode:
    support: none
    details:
      - Nothing to show.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: all
    details:
      - Runs on the controller only.
"""
