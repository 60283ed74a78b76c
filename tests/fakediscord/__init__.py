"""A local fake of Discord (REST v10 + gateway + CDN) to drive the real discord.py client.

Public API::

    from tests.fakediscord import FakeDiscord, running_bot, patch_discord, Overwrite
    from tests.fakediscord import permissions as perms
"""

from . import permissions
from .fake import FakeDiscord
from .fixtures import fake_discord, logged_errors, make_bot, patch_discord, running_bot
from .interactions import FakeDiscordError, InteractionRecord
from .messages import UploadedFile
from .permissions import Overwrite
from .records import CommandSync, Fault, RecordedRequest
from .state import Channel, Guild, Member, Role, User

__all__ = [
    "Channel",
    "CommandSync",
    "FakeDiscord",
    "FakeDiscordError",
    "Fault",
    "Guild",
    "InteractionRecord",
    "Member",
    "Overwrite",
    "RecordedRequest",
    "Role",
    "UploadedFile",
    "User",
    "fake_discord",
    "logged_errors",
    "make_bot",
    "patch_discord",
    "permissions",
    "running_bot",
]
