"""Modal submits (interaction type 5): a user filling in the modal the bot opened, or a raw submit.

The submit is a new interaction (own id, token, 3 s deadline) from the same user and place as the one that
opened the modal. It carries `message` only when a component on a message opened the modal (RR, Interaction
Structure: "For components or modals triggered by components, the message they were attached to"); only
then may the bot answer with 6/7, which update that message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tests.fakes.discord.constants import MODAL_SUBMIT
from tests.fakes.discord.records import FakeInteraction


class ModalDispatchMixin:
    """FakeDiscord's `submit_modal` and `send_modal_submit`."""

    async def submit_modal(
        self,
        opened: FakeInteraction,
        values: Mapping[str, str | list[str]] | None = None,
        *,
        user: dict[str, Any] | None = None,
        created_at: dt.datetime | None = None,
        **kwargs: Any,
    ) -> FakeInteraction:
        """Fill in and submit the modal the bot answered `opened` with (callback type 9).

        Inputs missing from `values` keep their prefilled value (else ""). Raises LookupError when `opened`
        got no modal or it was already submitted (Discord closes it), KeyError for a value no input takes,
        ValueError for one the client would refuse (required and empty, outside min/max length)."""
        modal = opened.modal
        if modal is None:
            raise LookupError(f"interaction {opened.id} was not answered with a modal")
        if modal.submitted:
            raise LookupError(f"modal {modal.custom_id!r} was already submitted")
        components = modal.submit_components(values or {})
        modal.submitted = True
        place: dict[str, Any] = {
            "guild_id": opened.guild_id,
            "channel_id": opened.channel_id,
            "context": opened.payload.get("context"),
            "user_install": "1" in (opened.payload.get("authorizing_integration_owners") or {}),
            "app_permissions": opened.payload.get("app_permissions", "0"),
            "locale": opened.payload.get("locale", "en-US"),
        }
        member = opened.payload.get("member")
        if member is not None:
            place.update(roles=[int(r) for r in member["roles"]], permissions=member["permissions"])
        place.update(kwargs)
        data = {"custom_id": modal.custom_id, "components": components}
        return await self._send_modal_data(
            data, user=user or opened.user, message_id=opened.message_id, created_at=created_at, **place
        )

    async def send_modal_submit(
        self,
        custom_id: str,
        values: dict[str, str],
        *,
        user: dict[str, Any] | None = None,
        message_id: int | None = None,
        **kwargs: Any,
    ) -> FakeInteraction:
        """A raw submit (type 5) of text inputs in action rows; `custom_id` must echo the bot's modal.
        Prefer `submit_modal`, which fills the modal the fake recorded."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()
        ]
        data = {"custom_id": custom_id, "components": rows}
        return await self._send_modal_data(
            data, user=user or self.default_user, message_id=message_id, **kwargs
        )

    async def _send_modal_data(
        self, data: dict[str, Any], *, user: dict[str, Any], message_id: int | None, **kwargs: Any
    ) -> FakeInteraction:
        if message_id is not None:
            msg = self.messages[message_id]
            kwargs.update(
                message=msg.to_json(),
                channel_id=msg.channel_id,
                guild_id=msg.guild_id,
                dm=msg.guild_id is None,
            )
        return await self._send_interaction(MODAL_SUBMIT, data, user=user, **kwargs)
