#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_probe
short_description: Read in one call what a role would otherwise check one module call at a time
version_added: 0.1.0
description:
  - Reads the state of files, Debian packages and systemd units of a host and changes nothing.
  - The collection's roles call it once per run and skip on the controller every step the probe shows done,
    so a rerun that changes nothing costs one round trip per host instead of one per step.
  - Returns checksums, never contents, of O(paths), so files that hold secrets can be probed; only the files named
    in O(texts) are read out.
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.INFO_MODULE
options:
  paths:
    description:
      - Files and directories to stat. A regular file also gets its SHA-1.
    type: list
    elements: path
    default: []
  marker:
    description:
      - A string; each regular file of O(paths) also gets C(marker), whether its content contains it (for
        example the header a role writes into the files it owns).
    type: str
  texts:
    description:
      - Small files to read out, stripped of surrounding white space (kernel settings under C(/proc/sys) and
        C(/sys), for example). Never name a file that holds a secret here. At most 64 KiB of each.
    type: list
    elements: path
    default: []
  packages:
    description:
      - Debian packages whose installed state to read (C(dpkg-query)).
    type: list
    elements: str
    default: []
  services:
    description:
      - systemd units whose enabled and active state to read (C(systemctl is-enabled), C(systemctl is-active)).
    type: list
    elements: str
    default: []
seealso:
  - module: ansible.builtin.stat
  - module: ansible.builtin.package_facts
  - module: ansible.builtin.service_facts
"""

EXAMPLES = r"""
- name: What the firewall role would otherwise check step by step
  rtcstack.livekit.host_probe:
    paths: [/etc/nftables.d, /etc/nftables.conf]
    packages: [nftables]
    services: [nftables.service]
  register: before

- name: Write the file only where it differs
  ansible.builtin.copy:
    dest: /etc/nftables.conf
    content: "{{ wanted }}"
    mode: "0755"
  when: before.paths['/etc/nftables.conf'].sha1 | default('') != wanted | hash('sha1')
"""

RETURN = r"""
paths:
  description:
    - For each path of O(paths), C(exists); when it exists also C(dir), C(mode) (four octal digits), C(owner),
      C(group), and for a regular file C(sha1) (and C(marker) when O(marker) is given). Symbolic links are
      followed; C(link) is the target of a link.
  returned: always
  type: dict
  sample:
    /etc/nftables.conf:
      {exists: true, dir: false, mode: "0755", owner: root, group: root, sha1: 3f786850e387550fdab836ed7e6dc881de23001b}
    /etc/nftables.d: {exists: true, dir: true, mode: "0755", owner: root, group: root}
    /etc/missing: {exists: false}
texts:
  description: For each path of O(texts), its stripped content, or V(null) when it cannot be read.
  returned: always
  type: dict
  sample: {/sys/kernel/mm/transparent_hugepage/enabled: "always madvise [never]"}
packages:
  description: For each package of O(packages), whether it is installed.
  returned: always
  type: dict
  sample: {nftables: true}
services:
  description: For each unit of O(services), the words C(systemctl is-enabled) and C(systemctl is-active) print.
  returned: always
  type: dict
  sample:
    nftables.service: {enabled: enabled, active: active}
"""

import grp
import hashlib
import os
import pwd

from ansible.module_utils.basic import AnsibleModule


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def stat_path(path, marker=None):
    try:
        st = os.stat(path)
    except OSError:
        return {"exists": False}
    found = {"exists": True, "dir": os.path.isdir(path), "mode": "%04o" % (st.st_mode & 0o7777),
             "owner": user_name(st.st_uid), "group": group_name(st.st_gid)}
    if os.path.islink(path):
        found["link"] = os.readlink(path)
    if not found["dir"]:
        digest = hashlib.sha1()  # noqa: S324 (a change check, as the copy module makes)
        found_marker = False
        tail = b""
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(65536), b""):
                digest.update(block)
                if marker and not found_marker:
                    found_marker = marker in tail + block
                    tail = block[-len(marker):]
        found["sha1"] = digest.hexdigest()
        if marker:
            found["marker"] = found_marker
    return found


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read(65536).decode("utf-8", "replace").strip()
    except OSError:
        return None


def installed_packages(module, names):
    if not names:
        return {}
    dpkg = module.get_bin_path("dpkg-query")
    if dpkg is None:
        return dict((name, False) for name in names)
    found = dict((name, False) for name in names)
    _rc, out, _err = module.run_command([dpkg, "-W", "-f=${Package} ${Status}\\n"] + list(names))
    for line in out.splitlines():
        name, _sep, status = line.partition(" ")
        if name in found and status.endswith("install ok installed"):
            found[name] = True
    return found


def unit_states(module, names):
    if not names:
        return {}
    systemctl = module.get_bin_path("systemctl")
    states = {}
    for name in names:
        state = {}
        for word in ("enabled", "active"):
            if systemctl is None:
                state[word] = ""
                continue
            _rc, out, _err = module.run_command([systemctl, "is-" + word, name])
            state[word] = out.strip()
        states[name] = state
    return states


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", default=[]),
            marker=dict(type="str"),
            texts=dict(type="list", elements="path", default=[]),
            packages=dict(type="list", elements="str", default=[]),
            services=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        marker = p["marker"].encode("utf-8") if p["marker"] else None
        paths = dict((path, stat_path(path, marker)) for path in p["paths"])
    except OSError as e:
        module.fail_json(msg="host_probe: cannot read %s: %s" % (e.filename, e.strerror))
    texts = dict((path, read_text(path)) for path in p["texts"])
    module.exit_json(changed=False, paths=paths, texts=texts, packages=installed_packages(module, p["packages"]),
                     services=unit_states(module, p["services"]))


if __name__ == "__main__":
    main()
