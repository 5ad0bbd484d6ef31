# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Masking secrets in messages and writing JSON files atomically, for the engines and the runner.

Private to this collection: the interface may change without notice.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import scrub_tokens


def write_json_atomic(path, data):
    """Write ``data`` as JSON to ``path`` (mode 0600) through a temporary file and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


_TOKEN_PARAM = re.compile(r"(access_token=)[^&\s\"']+")


def scrub(text, secrets=()):
    """``text`` without the given secrets and without anything that looks like a JWT (livekit-server
    echoes a refused token in its 401 message)."""
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    text = _TOKEN_PARAM.sub(lambda m: m.group(1) + "********", text)
    return scrub_tokens(text, "********")
