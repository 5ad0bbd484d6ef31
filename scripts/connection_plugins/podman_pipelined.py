# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The containers.podman.podman connection with pipelining, for the project's test hosts only.

The upstream plugin runs every module in three ``podman exec`` calls (make a temporary directory, copy,
run and remove) because it never passes ``-i``, so stdin cannot carry the module. With ``-i`` the
module goes through stdin in one ``podman exec``. Loaded by path (ANSIBLE_CONNECTION_PLUGINS) from the
Molecule base config and the lab; not part of the collection.
"""

from __future__ import annotations

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ConnectionBase, ensure_connect

from ansible_collections.containers.podman.plugins.connection.podman import DOCUMENTATION as PODMAN_DOCUMENTATION
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection

DOCUMENTATION = PODMAN_DOCUMENTATION.replace("name: podman", "name: podman_pipelined", 1).replace(
    "    options:\n", "    extends_documentation_fragment:\n      - connection_pipelining\n    options:\n", 1)


class Connection(PodmanConnection):
    """podman exec -i: modules through stdin (pipelining)."""

    transport = "podman_pipelined"
    has_pipelining = True

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec", "-i"] if in_data is not None else ["exec"]
        if self.user:
            args.extend(("--user", self.user))
        return self._podman(args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)
