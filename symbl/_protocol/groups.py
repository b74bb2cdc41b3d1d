"""Conversation groups on the wire (PROTOCOL.md §11.6): every request, and the check of a group.

A group names the conversations whose metadata satisfy its ``criteria`` (RSQL on
``conversation.metadata.<key>``, with the limits of a listing's ``filter``). The SDK builds
each request here; the emulator checks what arrives with :func:`check_group`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .checks import check_json, field, require_object, shown
from .errors import ProtocolError
from .listing import parse_filter
from .management import management_request
from .options import passed_through
from .request import Request, segment

GROUP_PATH = "/v1/manage/group"
ONE_GROUP_PATH = GROUP_PATH + "/{group_id}"
GROUPS_PATH = "/v1/manage/groups"
GROUP_CONVERSATIONS_PATH = "/v1/groups/{group_id}/conversations"
MAX_NAME_LENGTH = 128
MAX_DESCRIPTION_LENGTH = 512
FIELDS = frozenset({"name", "description", "criteria"})
# Letters, digits and spaces, and the three other characters the service allows in a name.
_NAME = re.compile(r'[\w "-]+')
_EXAMPLE = "{'name': 'Calls made by John', 'criteria': 'conversation.metadata.agentId==johndoe'}"


def group_path(group_id: str) -> str:
    """``/v1/manage/group/{groupId}``."""
    return ONE_GROUP_PATH.format(group_id=segment(group_id))


def group_conversations_path(group_id: str) -> str:
    """``/v1/groups/{groupId}/conversations``: where a group's conversations are listed."""
    return GROUP_CONVERSATIONS_PATH.format(group_id=segment(group_id))


# --- requests -----------------------------------------------------------------------------------


def group_body(name: Any, criteria: Any, description: Any = None) -> dict[str, Any]:
    """A group as the service takes it, from Python values (``description`` left out when None).

    Raises:
        ProtocolError: as :func:`check_group`.
    """
    body = {"name": name, "criteria": criteria}
    if description is not None:
        body["description"] = description
    return check_group(body)


def creation(group: Mapping[str, Any]) -> Request:
    """``POST /v1/manage/group`` of a group made by :func:`group_body`."""
    return management_request("POST", GROUP_PATH, json=dict(group))


def creations(groups: Any, where: str = "groups") -> Request:
    """``POST /v1/manage/groups`` with a list of groups (dicts of name, criteria, description).

    Raises:
        ProtocolError: as :func:`check_groups`.
    """
    return management_request("POST", GROUPS_PATH, json=check_groups(groups, where))


def listing() -> Request:
    """``GET /v1/manage/groups``."""
    return management_request("GET", GROUPS_PATH)


def reading(group_id: str) -> Request:
    """``GET /v1/manage/group/{groupId}``."""
    return management_request("GET", group_path(group_id))


def update(group_id: str, group: Mapping[str, Any]) -> Request:
    """``PUT /v1/manage/group/{groupId}`` with the complete group (``id`` included)."""
    return management_request("PUT", group_path(group_id), json={"id": group_id, **group})


def deletion(group_id: str) -> Request:
    """``DELETE /v1/manage/group/{groupId}``."""
    return management_request("DELETE", group_path(group_id))


# --- checks -------------------------------------------------------------------------------------


def check_group(
    body: Any, where: str = "the group", group_id: str | None = None, prefix: str = ""
) -> dict[str, Any]:
    """A group (§11.6): ``name`` (at most 128 letters, digits, spaces, ``-``, ``_``, ``"``),
    ``criteria`` (RSQL on ``conversation.metadata.<key>``, AND only, at most 2 fields) and an
    optional ``description`` (at most 512 characters); an update also carries ``id``, which
    must be ``group_id``. ``prefix`` is where the group is in a larger body (``groups[1]``),
    for the fields that errors name. Other members are kept as given (noted at DEBUG): the
    service adds fields over time.

    Raises:
        ProtocolError: naming the field at fault.
    """
    group = require_object(body, prefix or where, _EXAMPLE)
    check_json(group, prefix)
    if group_id is None and "id" in group:
        raise ProtocolError(
            f"{prefix or where} to create has no id yet; leave 'id' out", field(prefix, "id")
        )
    for key in group:
        if key not in FIELDS and key != "id":
            passed_through(key, prefix or where)
    name, at = group.get("name"), field(prefix, "name")
    if not isinstance(name, str) or not name.strip():
        raise ProtocolError(f"{at} must be a non-empty string, not {shown(name)}", at)
    if len(name) > MAX_NAME_LENGTH:
        raise ProtocolError(
            f"{at} is {len(name)} characters long; a group name has at most {MAX_NAME_LENGTH}",
            at,
        )
    if not _NAME.fullmatch(name):
        raise ProtocolError(
            f"{at} {shown(name)} may hold letters, digits, spaces, '-', '_' and '\"' only", at
        )
    description, at = group.get("description"), field(prefix, "description")
    if "description" in group and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH
    ):
        raise ProtocolError(
            f"{at} must be a string of at most {MAX_DESCRIPTION_LENGTH} characters, "
            f"not {shown(description)}",
            at,
        )
    parse_filter(group.get("criteria"), field(prefix, "criteria"), metadata_only=True)
    if group_id is not None and group.get("id", group_id) != group_id:
        raise ProtocolError(
            f"'id' {shown(group.get('id'))} differs from the group id {group_id!r}", "id"
        )
    return dict(group)


def check_groups(body: Any, where: str = "groups") -> list[dict[str, Any]]:
    """A bulk creation: a non-empty list of groups, each as :func:`check_group` takes it.

    Raises:
        ProtocolError: not a non-empty list, or naming the group and field at fault.
    """
    if not isinstance(body, Sequence) or isinstance(body, (str, bytes)) or not body:
        raise ProtocolError(f"{where} must be a non-empty list of groups like {_EXAMPLE}", where)
    return [
        check_group(group, where, prefix=field(where, index)) for index, group in enumerate(body)
    ]
