#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: api_key
short_description: Keep the API keys of a LiveKit key file on the managed host
version_added: 0.1.0
description:
  - "Manages the key file that livekit-server reads with its C(key_file) setting: a YAML map of
    API key ids to secrets (C(APIxxxxxxxxxxxx: secret)), one key per line."
  - Secrets are generated on the managed host with Python's C(secrets) module and stay there. They
    appear in the result only with O(return_secret=true).
  - "Without O(key): an existing file with keys is left as it is (its key ids are returned); a missing
    or empty file gets one new key (C(API) + 12 letters and digits, a secret of O(secret_length)
    characters)."
  - With O(key), that key is ensured; its secret is kept unless O(secret) is given and differs.
  - O(rotate=true) adds a new key beside the existing ones, for a rotation without downtime (see the
    examples). It changes the file on every run.
  - The file is replaced atomically, through a temporary file in the same directory that has its final
    mode (O(mode)) and the owner of the file it replaces before a secret is written to it. Lines the
    module does not change (other keys, comments) are kept.
  - "The file is read without PyYAML. It understands one-level maps (C(KEY: secret) lines with plain,
    single- or double-quoted scalars, comments, blank lines, C(---)); other YAML is refused with the
    line number."
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode a key to be added is generated and returned, but not kept.
  diff_mode:
    support: full
    details:
      - The diff shows key ids, file mode and ownership, never secrets.
options:
  path:
    description:
      - The key file. Its directory must exist.
    type: path
    required: true
  key:
    description:
      - "An API key id: 3 to 64 letters, digits, V(_), V(.) or V(-), starting with a letter or digit.
        livekit-server itself takes any string; this is the collection's rule, the same in every module
        and role."
      - Required with O(state=absent).
    type: str
  state:
    description:
      - V(present) ensures the key (or, without O(key), that the file has a key).
      - V(absent) removes O(key) from the file. The file itself is kept.
    type: str
    choices: [present, absent]
    default: present
  rotate:
    description:
      - Add a new generated key beside the existing ones and return its id as RV(key).
      - Not idempotent by design. Mutually exclusive with O(key) and O(secret).
    type: bool
    default: false
  secret:
    description:
      - An explicit secret for O(key) (required with this option), at least 32 characters, on one
        line. An existing key whose secret differs gets this one.
      - Leave it out to generate secrets on the managed host.
    type: str
  secret_length:
    description:
      - Length of generated secrets (letters and digits). At least V(32).
    type: int
    default: 43
  owner:
    description:
      - Owner of the file, for example the user livekit-server runs as.
    type: str
  group:
    description:
      - Group of the file.
    type: str
  mode:
    description:
      - Permissions of the file, as for M(ansible.builtin.file).
      - 'A mode that gives "other" users any permission (for example V(0644)) is refused, because
        livekit-server refuses to start with such a key file
        ("key file others permissions must be set to 0"). Use V(0600), or V(0640) with O(group).'
    type: raw
    default: "0600"
  return_secret:
    description:
      - Return the secret of RV(key) as RV(secret). The task must then use C(no_log=true).
    type: bool
    default: false
notes:
  - Restart livekit-server after a change. It reads the key file at startup.
  - Removing the last key leaves an empty file, which livekit-server cannot start with; the module
    warns.
seealso:
  - module: rtcstack.livekit.access_token
  - plugin: rtcstack.livekit.access_token
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: The key file of the server, with one generated key the first time
  rtcstack.livekit.api_key:
    path: /etc/livekit/keys.yaml
    owner: root
    group: livekit
    mode: "0640"
  register: livekit_keys

- name: Read the secret to hand it to a client (never printed)
  rtcstack.livekit.api_key:
    path: /etc/livekit/keys.yaml
    key: "{{ livekit_keys.key }}"
    return_secret: true
  no_log: true
  register: livekit_key

# Rotation without downtime: add a key, restart the server, move the clients, remove the old key.
- name: Add a new key beside the old one
  rtcstack.livekit.api_key:
    path: /etc/livekit/keys.yaml
    rotate: true
    return_secret: true
  no_log: true
  register: new_key
  when: rotate_livekit_key | default(false)

- name: Remove the old key once no client uses it
  rtcstack.livekit.api_key:
    path: /etc/livekit/keys.yaml
    key: APIoldoldoldold1
    state: absent
"""

RETURN = r"""
key:
  description:
    - The key the task is about. The new key with O(rotate=true) or when one was generated, O(key)
      when given, else the first key of the file.
  returned: when the file has a key, or O(key) is given
  type: str
  sample: APIw8Vq2hJm4Kx1
keys:
  description:
    - The key ids in the file after the task, in file order.
    - In a template, read it as C(result['keys']); C(result.keys) is the method of the dict.
  returned: always
  type: list
  elements: str
  sample: [APIw8Vq2hJm4Kx1, APIr5Tb7nLs0Qe3]
path:
  description: The key file.
  returned: always
  type: str
secret:
  description:
    - The secret of RV(key). Use C(no_log) on the task.
    - When O(secret) is given, Ansible masks that value in every result, so RV(secret) shows a mask.
  returned: when O(return_secret=true) and RV(key) is in the file
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import (
    MIN_SECRET_LENGTH,
    KeyFile,
    check_key_id,
    check_secret,
    generate_key_id,
    generate_secret,
    read_key_file,
    write_atomic,
)


class _Stat:
    st_mode = 0o100600  # a symbolic mode of a new key file applies to 0600


def octal_mode(module, path, mode):
    """The permission bits ``mode`` gives ``path``, as set_mode_if_different computes them."""
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        pass
    st = os.stat(path) if os.path.exists(path) else _Stat()
    try:
        return module._symbolic_mode_to_octal(st, str(mode))
    except ValueError as e:
        module.fail_json(msg="mode %s: %s" % (mode, to_native(e)))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            key=dict(type="str", no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            rotate=dict(type="bool", default=False),
            secret=dict(type="str", no_log=True),
            secret_length=dict(type="int", default=43, no_log=False),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="raw", default="0600"),
            return_secret=dict(type="bool", default=False, no_log=False),
        ),
        mutually_exclusive=[("rotate", "key"), ("rotate", "secret")],
        required_if=[("state", "absent", ("key",))],
        required_by={"secret": ("key",)},
        supports_check_mode=True,
    )
    p = module.params
    path = os.path.realpath(p["path"])  # a symlinked key file is edited where it lives
    if p["state"] == "absent" and p["rotate"]:
        module.fail_json(msg="rotate adds a key: it cannot be used with state=absent")
    if p["secret_length"] < MIN_SECRET_LENGTH:
        module.fail_json(msg="secret_length must be at least %d, got %d" % (MIN_SECRET_LENGTH, p["secret_length"]))
    try:
        if p["key"] is not None:
            check_key_id(p["key"])
        if p["secret"] is not None:
            check_secret(p["secret"])
    except ValueError as e:
        module.fail_json(msg=str(e))
    mode = octal_mode(module, path, p["mode"])
    if mode & 0o007:
        shown = "0%03o" % mode if isinstance(p["mode"], int) else p["mode"]
        module.fail_json(msg="mode %s gives other users access to the key file: livekit-server refuses to "
                             "start with it (\"key file others permissions must be set to 0\"); use 0600, "
                             "or 0640 with group" % shown)
    if not os.path.isdir(os.path.dirname(path)):
        module.fail_json(msg="the directory of %s does not exist: create it first" % path)
    if os.path.exists(path) and not os.path.isfile(path):
        module.fail_json(msg="%s exists and is not a regular file" % path)

    exists = os.path.exists(path)
    try:
        keys = read_key_file(path) if exists else KeyFile()
    except (OSError, UnicodeDecodeError) as e:
        module.fail_json(msg="cannot read %s: %s" % (path, to_native(e)))
    except ValueError as e:
        module.fail_json(msg="%s is not a key file this module can edit: %s" % (path, e))

    before = dict(path=p["path"], state="file" if exists else "absent", keys=keys.keys)
    key, new_secret_for = p["key"], []
    if p["state"] == "absent":
        if key in keys:
            keys.remove(key)
            if not keys.keys:
                module.warn("%s has no key left: livekit-server cannot start with it" % path)
    elif p["rotate"] or (key is None and not keys.keys):
        key = generate_key_id()
        while key in keys:
            key = generate_key_id()
        keys.set(key, generate_secret(p["secret_length"]))
    elif key is None:
        key = keys.keys[0]
    elif key not in keys:
        keys.set(key, p["secret"] or generate_secret(p["secret_length"]))
    elif p["secret"] is not None and keys.secret(key) != p["secret"]:
        keys.set(key, p["secret"])
        new_secret_for = [key]

    after = dict(path=p["path"], state="absent" if not exists and p["state"] == "absent" else "file", keys=keys.keys)
    if new_secret_for:
        after["secret_changed"] = new_secret_for
    diff = dict(before=before, after=after)
    changed = before != after
    if changed and not module.check_mode:
        old_mode = os.stat(path).st_mode & 0o7777 if exists else None
        try:
            write_atomic(path, keys.text(), mode=mode)
        except OSError as e:
            module.fail_json(msg="cannot write %s: %s" % (path, to_native(e)))
        if old_mode is not None and old_mode != mode:
            # The new file has its final mode from the start: show the change as the mode option would.
            diff["before"]["mode"], diff["after"]["mode"] = "0{:03o}".format(old_mode), "0{:03o}".format(mode)
    if os.path.exists(path):
        file_args = module.load_file_common_arguments(dict(mode=p["mode"], owner=p["owner"], group=p["group"]),
                                                      path=path)
        changed = module.set_fs_attributes_if_different(file_args, changed, diff)

    result = dict(changed=changed, path=p["path"], keys=keys.keys)
    if key is not None:
        result["key"] = key
    if p["return_secret"] and key in keys:
        result["secret"] = keys.secret(key)
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
