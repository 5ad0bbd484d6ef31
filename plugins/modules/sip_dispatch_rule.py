#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sip_dispatch_rule
short_description: Create, update and delete SIP dispatch rules on a LiveKit server
version_added: 0.1.0
description:
  - Declares one SIP dispatch rule (O(name)) or many (O(rules)) on a LiveKit server through its API.
    A dispatch rule says which room an inbound call joins.
  - LiveKit identifies a rule by an id (C(SDR_...)) and allows several rules with one name. This
    module identifies a rule by its name; it fails when the server has several rules with the
    declared name.
  - An existing rule is changed in place with UpdateSIPDispatchRule. Options you leave out keep the
    value the server has, also when O(type) changes (O(pin), O(room_prefix) and O(randomize) carry
    over where the new type has them).
  - The server allows one rule per combination of trunk, caller number, called number and PIN.
    LiveKit checks this when a rule is created but not always when a rule is updated; this module
    checks every create and update of the task, in order, before the first change, and fails with
    one message naming both rules.
  - Needs a LiveKit server with Redis; no SIP service is needed to manage rules.
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.connection
  - rtcstack.livekit.attributes
  - rtcstack.livekit.attributes.ACTIONGROUP
attributes:
  check_mode:
    support: full
    details:
      - A trunk named in O(trunk_names) that does not exist yet (because an earlier task in check mode
        only reported its creation) gives a warning instead of a failure.
  diff_mode:
    support: full
options:
  name:
    description:
      - Name of the rule. Required unless O(rules) is given.
    type: str
  state:
    description:
      - V(present) creates the rule or updates it; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - V(direct) puts every call into the room O(room_name).
      - V(individual) puts each caller into a new room named O(room_prefix) plus the caller's number.
      - V(callee) puts calls into a room named O(room_prefix) plus the called number.
      - Required to create a rule.
    type: str
    choices: [direct, individual, callee]
  room_name:
    description:
      - Room of a V(direct) rule. Required for that type; not allowed for the others.
    type: str
  room_prefix:
    description:
      - Prefix of the room names of an V(individual) or V(callee) rule.
    type: str
  pin:
    description:
      - PIN callers must enter to join. Empty means no PIN.
    type: str
  randomize:
    description:
      - Add a random suffix to the room name, for V(individual) and V(callee) rules.
      - LiveKit's default is V(true) for V(individual) and V(false) for V(callee).
    type: bool
  trunk_ids:
    description:
      - Ids (C(ST_...)) of the inbound trunks this rule applies to. Compared as a set.
      - Together with O(trunk_names); when both are omitted, the rule keeps its trunks. An empty list
        in both (or in the one given) means every trunk.
    type: list
    elements: str
  trunk_names:
    description:
      - Names of the inbound trunks this rule applies to, resolved to ids with one list call. An
        unknown name, or a name several inbound trunks have, fails the task.
    type: list
    elements: str
  inbound_numbers:
    description:
      - Caller numbers the rule accepts calls from. Compared as a set. Empty accepts every caller.
    type: list
    elements: str
  hide_phone_number:
    description:
      - Give callers a random identity and keep their number out of the participant attributes.
    type: bool
  metadata:
    description:
      - Free-form metadata, given to the participants the rule creates.
    type: str
  attributes:
    description:
      - Attributes given to the participants the rule creates, as a dict of name to value.
    type: dict
  rules:
    description:
      - Many rules in one task. Each item takes the options above (O(name) is required in each).
      - Mutually exclusive with O(name).
      - Items are handled in order; put a rule that gives up a combination of trunk, caller and PIN
        before the rule that takes it.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the rule.
        type: str
        required: true
      state:
        description: V(present) or V(absent).
        type: str
        choices: [present, absent]
        default: present
      type:
        description: V(direct), V(individual) or V(callee); required to create a rule.
        type: str
        choices: [direct, individual, callee]
      room_name:
        description: Room of a V(direct) rule.
        type: str
      room_prefix:
        description: Prefix of the room names of an V(individual) or V(callee) rule.
        type: str
      pin:
        description: PIN callers must enter to join.
        type: str
      randomize:
        description: Add a random suffix to the room name (V(individual) and V(callee)).
        type: bool
      trunk_ids:
        description: Ids of the inbound trunks this rule applies to.
        type: list
        elements: str
      trunk_names:
        description: Names of the inbound trunks this rule applies to.
        type: list
        elements: str
      inbound_numbers:
        description: Caller numbers the rule accepts calls from.
        type: list
        elements: str
      hide_phone_number:
        description: Give callers a random identity.
        type: bool
      metadata:
        description: Free-form metadata.
        type: str
      attributes:
        description: Attributes given to the participants the rule creates.
        type: dict
notes:
  - LiveKit's C(room_preset) field of a rule is for LiveKit Cloud only; the module keeps the server's
    value and has no option for it.
seealso:
  - module: rtcstack.livekit.sip_inbound_trunk
  - module: rtcstack.livekit.sip_info
"""

EXAMPLES = r"""
- name: Route inbound calls (connection set once for the play)
  module_defaults:
    group/rtcstack.livekit.livekit:
      url: https://livekit.example.com
      api_key: "{{ livekit_api_key }}"
      api_secret: "{{ livekit_api_secret }}"
  block:
    - name: Calls to the provider's trunk join the lobby, with a PIN
      rtcstack.livekit.sip_dispatch_rule:
        name: lobby
        type: direct
        room_name: lobby
        pin: "4321"
        trunk_names: [provider-in]

    - name: Many rules in one task
      rtcstack.livekit.sip_dispatch_rule:
        rules:
          - name: support
            type: individual
            room_prefix: support-
            trunk_names: [office-in]
            attributes:
              team: support
          - name: old-rule
            state: absent
"""

RETURN = r"""
dispatch_rule:
  description: The rule as the server returns it (single form). Empty when the rule is absent.
  returned: when O(name) is given
  type: dict
  sample:
    sip_dispatch_rule_id: SDR_jZnukSBQMswF
    name: lobby
    rule:
      dispatch_rule_direct:
        room_name: lobby
        pin: "4321"
    trunk_ids: [ST_fXeTnwfopKJo]
    inbound_numbers: []
    hide_phone_number: false
    metadata: ""
    attributes: {}
rules:
  description: The declared rules that exist after the task (bulk form).
  returned: when O(rules) is given
  type: list
  elements: dict
actions:
  description: What was done to each declared rule.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the rule.
      type: str
    action:
      description: One of V(created), V(updated), V(deleted), V(unchanged).
      type: str
    fields:
      description: The fields an update changed.
      type: list
      elements: str
      returned: when action is V(updated)
  sample:
    - name: lobby
      action: updated
      fields: [pin, trunk_ids]
"""

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitError
from ansible_collections.rtcstack.livekit.plugins.module_utils._resource import STATE_OPTION, reconciler_main
from ansible_collections.rtcstack.livekit.plugins.module_utils._sip import (
    _SipObjects,
    list_sip,
    numbers,
)

# Rule type -> the server's key of that rule, and the options the type has.
RULE_KEYS = {
    "direct": "dispatch_rule_direct",
    "individual": "dispatch_rule_individual",
    "callee": "dispatch_rule_callee",
}
RULE_OPTIONS_OF = {
    "direct": ("room_name", "pin"),
    "individual": ("room_prefix", "pin", "randomize"),
    "callee": ("room_prefix", "pin", "randomize"),
}
RULE_FIELDS = ("type", "room_name", "room_prefix", "pin", "randomize")
TOP_FIELDS = ("trunk_ids", "inbound_numbers", "hide_phone_number", "metadata", "attributes")
RULE_OPTIONS = dict(
    state=STATE_OPTION,
    type=dict(type="str", choices=list(RULE_KEYS)),
    room_name=dict(type="str"),
    room_prefix=dict(type="str"),
    pin=dict(type="str"),
    randomize=dict(type="bool"),
    trunk_ids=dict(type="list", elements="str"),
    trunk_names=dict(type="list", elements="str"),
    inbound_numbers=dict(type="list", elements="str"),
    hide_phone_number=dict(type="bool"),
    metadata=dict(type="str"),
    attributes=dict(type="dict"),
)


def rule_values(obj):
    """The rule of a server object in option terms: type, room_name or room_prefix, pin, randomize."""
    rule = (obj or {}).get("rule") or {}
    for kind, key in RULE_KEYS.items():
        inner = rule.get(key)
        if inner is None:
            continue
        values = {"type": kind, "pin": inner.get("pin") or ""}
        if kind == "direct":
            values["room_name"] = inner.get("room_name") or ""
        else:
            values["room_prefix"] = inner.get("room_prefix") or ""
        if kind == "individual":
            values["randomize"] = not inner.get("no_randomness", False)
        elif kind == "callee":
            values["randomize"] = bool(inner.get("randomize", False))
        return values
    return {}


class _DispatchRules(_SipObjects):
    kind = "dispatch_rule"
    plural = "rules"
    id_field = "sip_dispatch_rule_id"
    fields = RULE_FIELDS + TOP_FIELDS
    unordered_fields = ("trunk_ids", "inbound_numbers")
    string_dict_fields = ("attributes",)
    list_kind = "dispatch_rules"
    create_call = ("CreateSIPDispatchRule", "dispatch_rule")
    update_call = "UpdateSIPDispatchRule"
    delete_call = "DeleteSIPDispatchRule"

    trunks = None

    def read(self, obj, field):
        if field in RULE_FIELDS:
            return rule_values(obj).get(field)
        return self.normalize(field, obj.get(field))

    def desired_of(self, spec):
        desired = super(_DispatchRules, self).desired_of(spec)
        if spec.get("trunk_names") is not None and spec.get("state") != "absent":
            ids = set(desired.get("trunk_ids") or []) | set(self.trunk_ids(spec["name"], spec["trunk_names"]))
            desired["trunk_ids"] = sorted(ids)
        return desired

    def trunk_ids(self, rule_name, names):
        if self.trunks is None:
            # One list call for every trunk name of the task.
            self.trunks = list_sip(self.client, "inbound_trunks")
        ids = []
        for name in names:
            found = [t["sip_trunk_id"] for t in self.trunks if t.get("name") == name]
            if len(found) > 1:
                raise LiveKitError("dispatch rule %r: %d inbound trunks are named %r (%s); give trunk_ids instead" % (
                    rule_name, len(found), name, ", ".join(found)))
            if found:
                ids.extend(found)
            elif self.check_mode:
                warning = "dispatch rule %r: no inbound trunk is named %r yet (check mode)" % (rule_name, name)
                if warning not in self.warnings:
                    self.warnings.append(warning)
                ids.append("name:" + name)
            else:
                raise LiveKitError(
                    "dispatch rule %r: no inbound trunk is named %r; create it first "
                    "(rtcstack.livekit.sip_inbound_trunk) or fix trunk_names" % (rule_name, name))
        return ids

    def rule_of(self, name, current, desired):
        """The server's ``rule`` object: the current rule's values with the declared ones on top."""
        values = rule_values(current)
        values.update((f, desired[f]) for f in RULE_FIELDS if f in desired)
        kind = values.get("type")
        if kind is None:
            raise ValueError("dispatch rule %r: type is required to create a rule (direct, individual or callee)"
                             % name)
        wrong = sorted(f for f in RULE_FIELDS[1:] if f in desired and f not in RULE_OPTIONS_OF[kind])
        if wrong:
            raise ValueError("dispatch rule %r: type %s does not take %s (it takes %s)" % (
                name, kind, ", ".join(wrong), ", ".join(RULE_OPTIONS_OF[kind])))
        if kind == "direct" and not values.get("room_name"):
            raise ValueError("dispatch rule %r: type direct needs room_name" % name)
        inner = dict((f, values[f]) for f in ("room_name", "room_prefix", "pin")
                     if f in RULE_OPTIONS_OF[kind] and values.get(f) is not None)
        if kind == "individual" and values.get("randomize") is not None:
            inner["no_randomness"] = not values["randomize"]
        elif kind == "callee" and values.get("randomize") is not None:
            inner["randomize"] = values["randomize"]
        return {RULE_KEYS[kind]: inner}

    def declared(self, name, current, desired):
        declared = dict((f, desired[f]) for f in TOP_FIELDS if f in desired)
        declared["rule"] = self.rule_of(name, current, desired)
        return declared

    def match_keys(self, obj):
        """The (pin, trunk, caller, called number) combinations a rule takes; two rules may not share one."""
        pin = rule_values(obj).get("pin", "")
        trunks = set(obj.get("trunk_ids") or []) or {""}
        return set((pin, t, c, n) for t in trunks for c in numbers(obj.get("inbound_numbers"))
                   for n in numbers(obj.get("numbers")))

    def conflict(self, name, other, other_id, key):
        trunk, caller, called = key[1:]
        return ("dispatch rule %r would take the calls of dispatch rule %r (%s): same trunk (%s), caller (%s), "
                "called number (%s) and PIN; LiveKit allows one rule for each: change trunk_ids, trunk_names, "
                "inbound_numbers or pin" % (name, other.get("name"), other_id, trunk or "any", caller or "any", called or "any"))


def main():
    reconciler_main(_DispatchRules, RULE_OPTIONS, "rules")


if __name__ == "__main__":
    main()
