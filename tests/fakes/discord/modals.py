"""Modals: the `data` of a type-9 callback checked as Discord checks it and recorded as a `FakeModal`, and the
`data.components` of the type-5 submit a user's answer produces.

Discord's rules (interactions/receiving-and-responding, Modal; components/reference, Text Input and Label):
`custom_id` 1-100 characters, `title` 1-45, 1-5 top-level components. A top-level component is an action
row holding one text input (the older form; the input then needs a `label`), a Label (type 18) wrapping one
input in `component` (the input then has no `label` of its own), or a Text Display (type 10). A text input
has `style` 1 (short) or 2 (paragraph), `min_length` 0-4000, `max_length` 1-4000, a prefilled `value` of at
most 4000 and a `placeholder` of at most 100 characters; `required` defaults to true. Custom ids are unique
within a modal. Components without an `id` get one, numbered in order, skipping ids already taken.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

ACTION_ROW, TEXT_INPUT, TEXT_DISPLAY, LABEL, FILE_UPLOAD = 1, 4, 10, 18, 19
SELECTS = {3, 5, 6, 7, 8}  # string, user, role, mentionable, channel
SHORT, PARAGRAPH = 1, 2


class ModalError(ValueError):
    """A modal payload Discord would refuse (400/50035)."""


@dataclass
class FakeTextInput:
    """One text input of a modal as the bot sent it; `label` is the Label's text when wrapped in one."""

    custom_id: str
    label: str | None
    style: int = SHORT
    value: str | None = None  # prefilled
    placeholder: str | None = None
    required: bool = True
    min_length: int | None = None
    max_length: int | None = None
    description: str | None = None  # the Label's description
    id: int = 0
    in_label: bool = False

    def check(self, value: str) -> None:
        """Raise ValueError for a value the Discord client would not let a user submit."""
        if not value:
            if self.required:
                raise ValueError(f"text input {self.custom_id!r} is required")
            return
        if self.min_length is not None and len(value) < self.min_length:
            raise ValueError(f"text input {self.custom_id!r} needs at least {self.min_length} characters")
        if self.max_length is not None and len(value) > self.max_length:
            raise ValueError(f"text input {self.custom_id!r} takes at most {self.max_length} characters")


@dataclass
class FakeModal:
    """A modal the bot opened (callback type 9): what the user sees, and what a submit sends back."""

    custom_id: str
    title: str
    components: list[dict[str, Any]]  # as the bot sent them, with ids filled in
    inputs: list[FakeTextInput] = field(default_factory=list)
    submitted: bool = False

    def input(self, custom_id: str) -> FakeTextInput:
        """The text input with this custom_id (KeyError if none)."""
        for item in self.inputs:
            if item.custom_id == custom_id:
                return item
        raise KeyError(f"modal {self.custom_id!r} has no text input {custom_id!r} (has {self.input_ids()})")

    def input_ids(self) -> list[str]:
        return [i.custom_id for i in self.inputs]

    @property
    def prefilled(self) -> dict[str, str | None]:
        """custom_id → the prefilled value of each text input."""
        return {i.custom_id: i.value for i in self.inputs}

    def submit_components(self, values: Mapping[str, str | list[str]]) -> list[dict[str, Any]]:
        """`data.components` of the submit: each input's given value, else its prefilled value, else "".
        Raises KeyError for a value no input takes and ValueError for one the client would refuse."""
        known = set(self.input_ids()) | {c["custom_id"] for c in self._selects()}
        unknown = set(values) - known
        if unknown:
            raise KeyError(f"modal {self.custom_id!r} has no input {sorted(unknown)} (has {sorted(known)})")
        return [self._submitted(c, values) for c in self.components]

    def _selects(self) -> Iterator[dict[str, Any]]:
        for comp in self.components:
            if comp["type"] == LABEL and comp["component"]["type"] != TEXT_INPUT:
                yield comp["component"]

    def _submitted(self, comp: dict[str, Any], values: Mapping[str, str | list[str]]) -> dict[str, Any]:
        ctype = comp["type"]
        if ctype == ACTION_ROW:
            return {
                "type": ACTION_ROW,
                "id": comp["id"],
                "components": [self._submitted(comp["components"][0], values)],
            }
        if ctype == LABEL:
            return {"type": LABEL, "id": comp["id"], "component": self._submitted(comp["component"], values)}
        if ctype == TEXT_INPUT:
            item = self.input(comp["custom_id"])
            value = values.get(item.custom_id, item.value or "")
            if not isinstance(value, str):
                raise ValueError(f"text input {item.custom_id!r} takes a string, not {value!r}")
            item.check(value)
            return {"type": TEXT_INPUT, "id": comp["id"], "custom_id": item.custom_id, "value": value}
        if ctype in SELECTS or ctype == FILE_UPLOAD:
            chosen = values.get(comp["custom_id"], [])
            if ctype == FILE_UPLOAD and chosen:
                raise NotImplementedError("the fake does not upload files through a modal")
            if isinstance(chosen, str) or not isinstance(chosen, list):
                raise ValueError(f"select {comp['custom_id']!r} takes a list of values, not {chosen!r}")
            low = comp.get("min_values", 1 if comp.get("required", True) else 0)
            if not low <= len(chosen) <= comp.get("max_values", 1):
                raise ValueError(
                    f"select {comp['custom_id']!r} takes {low}..{comp.get('max_values', 1)} values"
                )
            return {"type": ctype, "id": comp["id"], "custom_id": comp["custom_id"], "values": list(chosen)}
        return {"type": ctype, "id": comp["id"]}  # text display: echoed with its id only


def parse_modal(data: Any) -> FakeModal:
    """Check a type-9 callback's `data` as Discord does and record it; raise ModalError when it would refuse."""
    if not isinstance(data, dict):
        raise ModalError("a modal needs data")
    custom_id, title, components = data.get("custom_id"), data.get("title"), data.get("components")
    _text(custom_id, "custom_id", 1, 100)
    _text(title, "title", 1, 45)
    if not isinstance(components, list) or not 1 <= len(components) <= 5:
        raise ModalError("a modal has 1 to 5 components")
    components = [_copy(c) for c in components]
    _number(components)
    modal = FakeModal(custom_id, title, components)
    for comp in components:
        if comp.get("type") == ACTION_ROW:
            row = comp.get("components")
            if not isinstance(row, list) or len(row) != 1 or row[0].get("type") != TEXT_INPUT:
                raise ModalError("an action row in a modal holds exactly one text input")
            modal.inputs.append(_text_input(row[0], row[0].get("label"), None, in_label=False))
        elif comp.get("type") == LABEL:
            _text(comp.get("label"), "label", 1, 45)
            _text(comp.get("description"), "label description", 0, 100, optional=True)
            inner = comp.get("component")
            if not isinstance(inner, dict):
                raise ModalError("a label wraps one component")
            if inner.get("type") == TEXT_INPUT:
                if inner.get("label") is not None:
                    raise ModalError("a text input inside a label has no label of its own")
                modal.inputs.append(_text_input(inner, comp["label"], comp.get("description"), in_label=True))
            elif inner.get("type") in SELECTS or inner.get("type") == FILE_UPLOAD:
                _text(inner.get("custom_id"), "custom_id", 1, 100)
            else:
                raise ModalError(f"a label cannot hold component type {inner.get('type')}")
        elif comp.get("type") != TEXT_DISPLAY:
            raise ModalError(f"component type {comp.get('type')} cannot be at the top of a modal")
    ids = modal.input_ids() + [c["custom_id"] for c in modal._selects()]
    if len(ids) != len(set(ids)):
        raise ModalError("custom_ids in a modal must be unique")
    return modal


def _text_input(
    comp: dict[str, Any], label: str | None, description: str | None, *, in_label: bool
) -> FakeTextInput:
    if not in_label:
        _text(label, "text input label", 1, 45)
    _text(comp.get("custom_id"), "custom_id", 1, 100)
    style = comp.get("style")
    if style not in (SHORT, PARAGRAPH):
        raise ModalError(f"text input style must be 1 or 2, not {style!r}")
    min_length, max_length = comp.get("min_length"), comp.get("max_length")
    if min_length is not None and not (isinstance(min_length, int) and 0 <= min_length <= 4000):
        raise ModalError("text input min_length is 0-4000")
    if max_length is not None and not (isinstance(max_length, int) and 1 <= max_length <= 4000):
        raise ModalError("text input max_length is 1-4000")
    if min_length is not None and max_length is not None and min_length > max_length:
        raise ModalError("text input min_length exceeds max_length")
    _text(comp.get("value"), "text input value", 0, 4000, optional=True)
    _text(comp.get("placeholder"), "text input placeholder", 0, 100, optional=True)
    return FakeTextInput(
        custom_id=comp["custom_id"],
        label=label,
        style=style,
        value=comp.get("value"),
        placeholder=comp.get("placeholder"),
        required=comp.get("required", True) is not False,
        min_length=min_length,
        max_length=max_length,
        description=description,
        id=comp["id"],
        in_label=in_label,
    )


def _text(value: Any, what: str, low: int, high: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise ModalError(f"{what} must be {low}-{high} characters, not {value!r}")


def _copy(comp: Any) -> dict[str, Any]:
    if not isinstance(comp, dict):
        raise ModalError(f"a component is an object, not {comp!r}")
    out = dict(comp)
    if isinstance(out.get("components"), list):
        out["components"] = [_copy(c) for c in out["components"]]
    if isinstance(out.get("component"), dict):
        out["component"] = _copy(out["component"])
    return out


def _walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for comp in components:
        yield comp
        yield from _walk(comp.get("components") or [])
        if isinstance(comp.get("component"), dict):
            yield from _walk([comp["component"]])


def _number(components: list[dict[str, Any]]) -> None:
    """Give every component without an `id` the next free number, in payload order (as Discord does)."""
    taken = {c["id"] for c in _walk(components) if isinstance(c.get("id"), int)}
    next_id = 1
    for comp in _walk(components):
        if not isinstance(comp.get("id"), int):
            while next_id in taken:
                next_id += 1
            comp["id"] = next_id
            taken.add(next_id)
