# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Room and participant look-ups shared by the room and participant modules.

Private to this collection: the interface may change without notice.
"""

from __future__ import annotations

from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitError

# Room fields never returned: the TURN credentials of the room, and the server's codec list.
ROOM_HIDDEN_FIELDS = ("turn_password", "enabled_codecs")


def list_rooms(client, names):
    """The active rooms named in ``names`` (all of them for an empty list), as the server returns them."""
    return client.call("RoomService", "ListRooms", {"names": names}).get("rooms") or []


def get_participant(client, room, identity):
    """The participant ``identity`` of ``room``, or None when the room or the participant is absent
    (the server answers not_found "participant does not exist" for both)."""
    try:
        return client.call("RoomService", "GetParticipant", {"room": room, "identity": identity}, room=room)
    except LiveKitError as e:
        if e.code == "not_found":
            return None
        raise


def list_participants(client, room):
    """The participants of ``room``; an unknown room has none."""
    return client.call("RoomService", "ListParticipants", {"room": room}, room=room).get("participants") or []
