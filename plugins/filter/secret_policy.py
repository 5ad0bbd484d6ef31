# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's key and secret policy for role preflights: the rules live in module_utils/_secrets.py.

Each filter returns messages, one per problem, that name keys and variables but never contain a
secret. The documentation of each filter is in the ``<filter>.yml`` file next to this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.rtcstack.livekit.plugins.module_utils import _secrets


def _plain(value):
    """A vaulted value of older ansible-core (not a str) as its text; anything else as it is."""
    if not isinstance(value, str) and getattr(value, "_ciphertext", None) is not None:
        return str(value)
    return value


def key_problems(keys, name="the API keys"):
    """Problems of a map of API key id -> secret (at least one key, key id pattern, secret length)."""
    if isinstance(keys, dict):
        keys = dict((str(key) if isinstance(key, str) else key, _plain(secret)) for key, secret in keys.items())
    return _secrets.key_problems(keys, name)


def secret_problems(secret, name="the secret", charset="line"):
    """Problems of one secret (length, and the characters ``charset`` allows)."""
    try:
        return _secrets.secret_problems(_plain(secret), name, charset)
    except ValueError as e:
        raise AnsibleFilterError(str(e)) from None


class FilterModule(object):
    """The key and secret policy filters of rtcstack.livekit."""

    def filters(self):
        return {
            "key_problems": key_problems,
            "secret_problems": secret_problems,
        }
