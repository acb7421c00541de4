"""REST handlers for interactions (no auth; the token is the credential): the callback with its 3 s deadline
and single ack, and the webhook routes for the original response and follow-ups within the token's life."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord.constants import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    MSG_CHAT_INPUT_COMMAND,
    MSG_CONTEXT_MENU_COMMAND,
    MSG_DEFAULT,
    UPDATE_MESSAGE,
)
from tests.fakes.discord.modals import ModalError, parse_modal
from tests.fakes.discord.records import CallbackRecord, FakeInteraction, FakeMessage, RecordedRequest, Write
from tests.fakes.discord.rest import Reject, check_sizes


class InteractionHandlers:
    """FakeDiscord's handlers for /interactions/…/callback and /webhooks/{app}/{token}/…."""

    def _callback_record(self, handle: FakeInteraction, rec: RecordedRequest, status: int, code: int | None):
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        latency = rec.at - handle.dispatched_at if handle.dispatched_at is not None else None
        return CallbackRecord(
            payload.get("type"), payload.get("data"), rec.files, rec.at, latency, status, code
        )

    async def _callback(self, rec: RecordedRequest, iid: str, token: str) -> tuple[int, Any]:
        handle = self.interactions.get(int(iid))
        if handle is None:
            raise Reject.of("unknown_interaction")
        if handle.token != token:
            raise Reject.of("invalid_webhook_token")

        def reject(error: str) -> Reject:
            rejection = Reject.of(error)
            handle.attempts.append(self._callback_record(handle, rec, rejection.status, rejection.code))
            return rejection

        record = self._callback_record(handle, rec, 200, None)
        if handle.callback is not None:
            raise reject("already_acknowledged")
        if record.latency is None or record.latency > self.ack_deadline:
            raise reject("unknown_interaction")
        payload = rec.payload if isinstance(rec.payload, dict) else None
        if payload is None or "type" not in payload:
            raise reject("invalid_form_body")
        ctype, data = payload["type"], payload.get("data") or {}
        allowed = {
            APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
            MESSAGE_COMPONENT: {
                CHANNEL_MESSAGE,
                DEFERRED_CHANNEL_MESSAGE,
                DEFERRED_UPDATE,
                UPDATE_MESSAGE,
                MODAL,
            },
            AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
            MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE}
            | ({DEFERRED_UPDATE, UPDATE_MESSAGE} if handle.message_id else set()),
        }.get(handle.type, set())
        if ctype not in allowed:
            raise reject("invalid_response_type")
        check_sizes(rec.files, handle.attachment_size_limit, reject)
        if ctype == MODAL:
            try:
                handle.modal = parse_modal(payload.get("data"))
            except ModalError as exc:
                rejection = reject("invalid_form_body")
                rejection.message = f"{rejection.message} ({exc})"
                raise rejection from None

        resource: dict[str, Any] = {"type": ctype}
        info: dict[str, Any] = {"id": str(handle.id), "type": handle.type}
        if ctype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            flags = int(data.get("flags") or 0) & FLAG_EPHEMERAL
            msg = self._new_message(
                channel_id=handle.channel_id,
                guild_id=handle.guild_id,
                author=self.bot_user,
                mtype=_message_type(handle),
                kind="original",
                webhook_id=self.application_id,
                interaction_id=handle.id,
                flags=flags | (FLAG_LOADING if ctype == DEFERRED_CHANNEL_MESSAGE else 0),
            )
            write = Write(rec.at, data, rec.files)
            if ctype == CHANNEL_MESSAGE:
                self._apply(msg, data, rec.files, creating=True)
            msg.created = write
            handle.original_id = msg.id
            info.update(
                response_message_id=str(msg.id),
                response_message_loading=ctype == DEFERRED_CHANNEL_MESSAGE,
                response_message_ephemeral=msg.ephemeral,
            )
            if ctype == CHANNEL_MESSAGE:
                resource["message"] = msg.to_json()
        elif ctype in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            msg = self.messages.get(handle.message_id or 0)
            if msg is None or msg.deleted:
                raise reject("unknown_message")
            handle.original_id = msg.id
            if ctype == UPDATE_MESSAGE:
                self._apply(msg, data, rec.files)
                msg.edits.append(Write(rec.at, data, rec.files))
                resource["message"] = msg.to_json()
            info.update(
                response_message_id=str(msg.id),
                response_message_loading=False,
                response_message_ephemeral=msg.ephemeral,
            )
        handle.attempts.append(record)
        return 200, {"interaction": info, "resource": resource}

    def _handle_for_webhook(self, app: str, token: str) -> FakeInteraction:
        if int(app) != self.application_id:
            raise Reject.of("unknown_webhook")
        handle = self._by_token.get(token)
        if handle is None:
            raise Reject.of("invalid_webhook_token")
        if self.clock.now() >= handle.expires_at:
            raise Reject.of("invalid_webhook_token")
        if handle.callback is None:
            # never acknowledged: within the deadline nothing exists yet, after it the token is dead
            late = (
                handle.dispatched_at is None
                or self.clock.monotonic() - handle.dispatched_at > self.ack_deadline
            )
            raise Reject.of("unknown_webhook") if late else Reject.of("unknown_message")
        return handle

    def _webhook_message(self, handle: FakeInteraction, mid: str) -> FakeMessage:
        msg_id = handle.original_id if mid == "@original" else int(mid)
        if msg_id is None or (msg_id != handle.original_id and msg_id not in handle.followup_ids):
            raise Reject.of("unknown_message")
        msg = self.messages.get(msg_id)
        if msg is None or msg.deleted:
            raise Reject.of("unknown_message")
        return msg

    async def _wh_get(self, rec: RecordedRequest, app: str, token: str, mid: str) -> tuple[int, Any]:
        handle = self._handle_for_webhook(app, token)
        return 200, self._webhook_message(handle, mid).to_json()

    async def _wh_patch(self, rec: RecordedRequest, app: str, token: str, mid: str) -> tuple[int, Any]:
        handle = self._handle_for_webhook(app, token)
        msg = self._webhook_message(handle, mid)
        check_sizes(rec.files, handle.attachment_size_limit)
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        self._apply(msg, payload, rec.files)
        msg.edits.append(Write(rec.at, payload, rec.files))
        return 200, msg.to_json()

    async def _wh_delete(self, rec: RecordedRequest, app: str, token: str, mid: str) -> tuple[int, Any]:
        handle = self._handle_for_webhook(app, token)
        msg = self._webhook_message(handle, mid)
        msg.deleted = True
        return 204, None

    async def _wh_post(self, rec: RecordedRequest, app: str, token: str) -> tuple[int, Any]:
        handle = self._handle_for_webhook(app, token)
        check_sizes(rec.files, handle.attachment_size_limit)
        payload = rec.payload if isinstance(rec.payload, dict) else {}
        original = handle.original
        if original is not None and original.loading and not original.deleted:
            # RR, Create Followup Message: the first followup after a deferred response edits the loading message
            self._apply(original, payload, rec.files)
            original.edits.append(Write(rec.at, payload, rec.files))
            return 200, original.to_json()
        msg = self._new_message(
            channel_id=handle.channel_id,
            guild_id=handle.guild_id,
            author=self.bot_user,
            mtype=MSG_DEFAULT,
            kind="followup",
            webhook_id=self.application_id,
            interaction_id=handle.id,
            flags=int(payload.get("flags") or 0) & FLAG_EPHEMERAL,
        )
        self._apply(msg, payload, rec.files, creating=True)
        msg.created = Write(rec.at, payload, rec.files)
        handle.followup_ids.append(msg.id)
        return 200, msg.to_json()


def _message_type(handle: FakeInteraction) -> int:
    """The type of a message answering an interaction: 20 for a slash command, 23 for a context menu."""
    if handle.type != APPLICATION_COMMAND:
        return MSG_DEFAULT
    return MSG_CHAT_INPUT_COMMAND if handle.command_type == 1 else MSG_CONTEXT_MENU_COMMAND
