"""Building application-command interaction data (options + resolved) for tests.

Tests name options by Python values; the Discord option type comes from the
schema the bot synced (when it did) or is inferred from the value:

=====================================  ==========================
value                                  option type
=====================================  ==========================
``bool``                               5 BOOLEAN
``int``                                4 INTEGER (10 if schema says NUMBER)
``float``                              10 NUMBER
``str``                                3 STRING
:class:`~.state.Channel`               7 CHANNEL (+ resolved.channels)
:class:`~.state.Member` / ``User``     6 USER (+ resolved.users/members)
:class:`~.state.Role`                  8 ROLE (+ resolved.roles)
``(filename, bytes[, content_type])``  11 ATTACHMENT (+ resolved.attachments)
attachment dict (has ``"url"``)        11 ATTACHMENT, used as is
=====================================  ==========================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .state import JSON, Channel, Guild, Member, Role, User

if TYPE_CHECKING:
    from .fake import FakeDiscord

STRING = 3
INTEGER = 4
BOOLEAN = 5
USER = 6
CHANNEL = 7
ROLE = 8
MENTIONABLE = 9
NUMBER = 10
ATTACHMENT = 11
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2


def infer_type(value: Any) -> int:
    """Option type for a Python value when no schema is known."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, Channel):
        return CHANNEL
    if isinstance(value, Member | User):
        return USER
    if isinstance(value, Role):
        return ROLE
    if isinstance(value, tuple) or (isinstance(value, dict) and "url" in value):
        return ATTACHMENT
    raise TypeError(f"cannot infer an option type for {value!r}; pass raw options instead")


class OptionBuilder:
    """Accumulates ``resolved`` data while converting option values."""

    def __init__(self, fake: FakeDiscord, guild: Guild, channel: Channel, user_id: int) -> None:
        self.fake = fake
        self.guild = guild
        self.channel = channel
        self.user_id = user_id
        self.resolved: JSON = {}

    def _bucket(self, name: str) -> JSON:
        bucket: JSON = self.resolved.setdefault(name, {})
        return bucket

    def _resolve_user(self, value: Any) -> str:
        if isinstance(value, Member):
            user = value.user
        elif isinstance(value, User):
            user = value
        else:
            uid = int(value if isinstance(value, int | str) else value.id)
            found = self.fake.users.get(uid)
            if found is None:
                raise KeyError(f"unknown user {uid}")
            user = found
        self._bucket("users")[str(user.id)] = user.to_payload()
        member = self.guild.members.get(user.id)
        if member is not None:
            perms = self.guild.permissions_for(user.id, self.channel.id)
            self._bucket("members")[str(user.id)] = member.to_payload(
                with_user=False, permissions=perms
            )
        return str(user.id)

    def _resolve_channel(self, value: Any) -> str:
        cid = value.id if isinstance(value, Channel) else int(value)
        channel = self.guild.channels[cid]
        payload = channel.to_payload()
        payload["permissions"] = str(self.guild.permissions_for(self.user_id, cid))
        self._bucket("channels")[str(cid)] = payload
        return str(cid)

    def _resolve_role(self, value: Any) -> str:
        rid = value.id if isinstance(value, Role) else int(value)
        self._bucket("roles")[str(rid)] = self.guild.roles[rid].to_payload()
        return str(rid)

    def _resolve_attachment(self, value: Any) -> str:
        if isinstance(value, dict):
            attachment = value
        else:
            filename, data, *rest = value
            content_type = rest[0] if rest else None
            attachment = self.fake.messaging.store_attachment(
                self.channel.id, filename, data, content_type, ephemeral=True
            )
        self._bucket("attachments")[str(attachment["id"])] = attachment
        return str(attachment["id"])

    def convert(self, value: Any, opt_type: int) -> Any:
        """The option ``value`` field for ``value`` as type ``opt_type``."""
        if opt_type == STRING:
            return str(value)
        if opt_type == INTEGER:
            return int(value)
        if opt_type == NUMBER:
            return float(value)
        if opt_type == BOOLEAN:
            return bool(value)
        if opt_type == USER:
            return self._resolve_user(value)
        if opt_type == CHANNEL:
            return self._resolve_channel(value)
        if opt_type == ROLE:
            return self._resolve_role(value)
        if opt_type == MENTIONABLE:
            return (
                self._resolve_role(value) if isinstance(value, Role) else self._resolve_user(value)
            )
        if opt_type == ATTACHMENT:
            return self._resolve_attachment(value)
        raise ValueError(f"unsupported option type {opt_type}")

    def build(self, values: dict[str, Any], schema: list[JSON] | None) -> list[JSON]:
        """Option list for the leaf command from ``{name: value}``."""
        specs = {o["name"]: o for o in schema or []}
        out: list[JSON] = []
        for name, value in values.items():
            spec = specs.get(name)
            opt_type = int(spec["type"]) if spec else infer_type(value)
            out.append({"name": name, "type": opt_type, "value": self.convert(value, opt_type)})
        return out


def resolve_path(parts: list[str], schema: JSON | None) -> tuple[list[int], list[JSON] | None]:
    """Option types of the subcommand path ``parts[1:]`` and the leaf's schema options.

    Without a schema, ``a b c`` is taken as group ``b`` / subcommand ``c`` and
    ``a b`` as subcommand ``b``.
    """
    node = schema
    path_types: list[int] = []
    for depth, sub in enumerate(parts[1:], start=1):
        found = None
        if node is not None:
            found = next((o for o in node.get("options") or [] if o["name"] == sub), None)
        if found is not None:
            path_types.append(int(found["type"]))
        else:
            is_group = len(parts) == 3 and depth == 1
            path_types.append(SUB_COMMAND_GROUP if is_group else SUB_COMMAND)
        node = found
    leaf = node.get("options") if node is not None else None
    return path_types, leaf


def wrap_subcommands(
    parts: list[str], path_types: list[int], leaf_options: list[JSON]
) -> list[JSON]:
    """Nest ``leaf_options`` under the subcommand group/subcommand options of ``parts[1:]``."""
    options = leaf_options
    for sub, sub_type in reversed(list(zip(parts[1:], path_types, strict=True))):
        options = [{"name": sub, "type": sub_type, "options": options}]
    return options
