# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the SIP modules share: list calls, number matching, and the reconciler of SIP objects
(inbound and outbound trunks, dispatch rules).

Private to this collection: the interface may change without notice.
"""

from __future__ import annotations

import re

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitError
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import STATE_OPTION, _Reconciler

LIST_CALLS = {
    "inbound_trunks": "ListSIPInboundTrunk",
    "outbound_trunks": "ListSIPOutboundTrunk",
    "dispatch_rules": "ListSIPDispatchRule",
}
MEDIA_ENCRYPTION = {
    "disable": "SIP_MEDIA_ENCRYPT_DISABLE",
    "allow": "SIP_MEDIA_ENCRYPT_ALLOW",
    "require": "SIP_MEDIA_ENCRYPT_REQUIRE",
}

# The options inbound and outbound trunks share.
TRUNK_OPTIONS = dict(
    state=STATE_OPTION,
    numbers=dict(type="list", elements="str"),
    auth_username=dict(type="str"),
    auth_password=dict(type="str", no_log=True),
    metadata=dict(type="str"),
    headers=dict(type="dict"),
    media_encryption=dict(type="str", choices=list(MEDIA_ENCRYPTION)),
)


def list_sip(client, kind):
    """Every object of ``kind`` (a key of LIST_CALLS): the API has no filter by name."""
    return client.call("SIP", LIST_CALLS[kind], {}).get("items") or []


def normalize_number(number):
    """A number as the server compares it: "+1 (555) 01-00" and "15550100" are "+15550100"."""
    if not number or not re.match(r"^\+?[0-9\- ()]+\Z", number):
        return number or ""
    number = re.sub(r"[ ()-]", "", number)
    return number if number.startswith("+") else "+" + number


def numbers(values):
    """The normalized set of ``values``; an empty list matches any number ("")."""
    return set(normalize_number(n) for n in values or []) or {""}


class _SipObjects(_Reconciler):
    """SIP objects: found in one list of all, sent whole (the server's fields with the declared ones
    on top), and checked for conflicts with each other before the first change."""

    list_kind = None           # key of LIST_CALLS
    create_call = None         # (method, key of the object in the body)
    update_call = None
    delete_call = None
    all = ()

    def fetch(self, names):
        self.all = list_sip(self.client, self.list_kind)
        return [o for o in self.all if o.get("name") in names]

    def declared(self, name, current, desired):
        """The declared values in the API's terms."""
        raise NotImplementedError

    def body(self, name, current, desired):
        """The whole object to send: the server's fields with the declared ones on top."""
        server_set = (self.id_field, "created_at", "updated_at")
        obj = dict((k, v) for k, v in (current or {}).items() if v is not None and k not in server_set)
        obj.update(self.declared(name, current, desired), name=name)
        return obj

    def match_keys(self, obj):
        """The calls ``obj`` takes, as a set of keys no two objects may share; None: no such rule."""
        return None

    def conflict(self, name, other, other_id, key):
        """The message for ``name`` sharing ``key`` with ``other``."""
        raise NotImplementedError

    def check(self, plan):
        # LiveKit refuses some conflicts on create only (v1.13.5): check creates and updates here, in
        # task order, so that nothing is changed when one of them would conflict.
        if self.match_keys({}) is None:
            return
        objs = dict((o[self.id_field], o) for o in self.all)
        for spec, current in plan:
            key = current[self.id_field] if current else "new:" + spec["name"]
            if spec.get("state") == "absent":
                objs.pop(key, None)
                continue
            obj = objs[key] = self.body(spec["name"], current, self.desired_of(spec))
            if current is not None and self.match_keys(obj) == self.match_keys(current):
                continue
            for other_key, other in objs.items():
                shared = sorted(self.match_keys(obj) & self.match_keys(other))
                if other_key != key and shared:
                    other_id = other.get(self.id_field) or "declared in this task"
                    raise LiveKitError(self.conflict(spec["name"], other, other_id, shared[0]))

    def simulate(self, name, current, desired):
        obj = self.body(name, current, desired)
        obj[self.id_field] = current[self.id_field] if current else ""
        return obj

    def create(self, name, desired):
        method, key = self.create_call
        return self.client.call("SIP", method, {key: self.body(name, None, desired)})

    def update(self, current, desired, changes):
        body = {self.id_field: current[self.id_field], "replace": self.body(current["name"], current, desired)}
        return self.client.call("SIP", self.update_call, body)

    def delete(self, current):
        try:
            self.client.call("SIP", self.delete_call, {self.id_field: current[self.id_field]})
        except LiveKitError as e:
            # Deleted by someone else since the list call: it is gone, as declared.
            if e.code != "not_found":
                raise


class _Trunks(_SipObjects):
    """Inbound and outbound trunks: enum options, the media encryption in two places."""

    kind = "trunk"
    plural = "trunks"
    id_field = "sip_trunk_id"
    string_dict_fields = ("headers",)
    secret_fields = ("auth_password",)
    delete_call = "DeleteSIPTrunk"
    enums = {"media_encryption": MEDIA_ENCRYPTION}

    def read(self, obj, field):
        value = obj.get(field)
        if field == "media_encryption":
            # media.encryption, when set, wins over the older media_encryption field.
            value = (obj.get("media") or {}).get("encryption") or value
        if field in self.enums:
            value = dict((v, k) for k, v in self.enums[field].items()).get(value, value)
        return self.normalize(field, value)

    def declared(self, name, current, desired):
        return dict((f, self.enums[f][v] if f in self.enums else v) for f, v in desired.items())

    def body(self, name, current, desired):
        trunk = super(_Trunks, self).body(name, current, desired)
        if "media_encryption" in desired and (trunk.get("media") or {}).get("encryption"):
            trunk["media"] = dict(trunk["media"], encryption=trunk["media_encryption"])
        return trunk
