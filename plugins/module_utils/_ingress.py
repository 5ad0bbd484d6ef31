# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ingress look-ups shared by the ingress modules.

Private to this collection: the interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitError


def list_ingresses(client, room_name=None, ingress_id=None):
    """Every ingress ListIngress returns (of ``room_name``, or the one ``ingress_id``), following pages
    if the server makes any. An unknown id gives [] (the server answers not_found)."""
    body = dict((k, v) for k, v in (("room_name", room_name), ("ingress_id", ingress_id)) if v)
    items = []
    while True:
        try:
            response = client.call("Ingress", "ListIngress", body)
        except LiveKitError as e:
            if ingress_id and e.code == "not_found":
                return []
            raise
        items.extend(response.get("items") or [])
        token = (response.get("next_page_token") or {}).get("token")
        if not token:
            return items
        body["page_token"] = {"token": token}
