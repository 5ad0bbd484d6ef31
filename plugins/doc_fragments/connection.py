# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every module that talks to the LiveKit server API.
    # Keep in sync with CONNECTION_ARGSPEC in plugins/module_utils/_api.py.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - URL of the LiveKit server, for example V(https://livekit.example.com) or V(http://127.0.0.1:7880).
      - V(ws://) and V(wss://) are accepted and mapped to V(http://) and V(https://).
      - If not set, the environment variable E(LIVEKIT_URL) is used.
    type: str
    required: true
  api_key:
    description:
      - API key the calls are signed with (the key id in the server's key file).
      - If not set, the environment variable E(LIVEKIT_API_KEY) is used.
    type: str
    required: true
  api_secret:
    description:
      - Secret of O(api_key). It signs short-lived tokens and is never sent to the server.
      - If not set, the environment variable E(LIVEKIT_API_SECRET) is used.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the server's TLS certificate. Set to V(false) only for a lab.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the server's certificate.
    type: path
  timeout:
    description:
      - Seconds to wait for one API call.
    type: float
    default: 10.0
  retries:
    description:
      - How many times a call is retried after a connection error or an HTTP 503 answer, with
        exponential backoff and jitter. Other errors, such as 4xx answers, are never retried.
    type: int
    default: 3
notes:
  - The module calls the server's Twirp API with the Python standard library; it needs no
    LiveKit SDK on the host it runs on.
"""
