"""The modal payload rules without a bot: what Discord refuses, component ids, submit shapes; image sizes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.fakes.discord.images import image_size
from tests.fakes.discord.modals import ModalError, parse_modal


def text_input(custom_id: str = "a", **extra) -> dict:
    return {"type": 4, "custom_id": custom_id, "style": 1, **extra}


def row(*inputs: dict) -> dict:
    return {"type": 1, "components": list(inputs)}


def modal(*components: dict, **extra) -> dict:
    return {"custom_id": "m", "title": "Title", "components": list(components), **extra}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (modal(row(text_input(label="A")), title="x" * 46), "title"),
        (modal(row(text_input(label="A")), custom_id=""), "custom_id"),
        (modal(), "1 to 5"),
        (modal(*[row(text_input(str(i), label="A")) for i in range(6)]), "1 to 5"),
        (modal(row(text_input("a", label="A"), text_input("b", label="B"))), "exactly one"),
        (modal(row(text_input())), "label"),  # an input in a row needs its own label
        (modal({"type": 18, "label": "A", "component": text_input(label="A")}), "no label of its own"),
        (modal(row(text_input(label="A", style=3))), "style"),
        (modal(row(text_input(label="A", max_length=4001))), "max_length"),
        (modal(row(text_input(label="A", min_length=5, max_length=4))), "exceeds"),
        (modal(row(text_input(label="A", placeholder="p" * 101))), "placeholder"),
        (modal(row(text_input(label="A")), row(text_input(label="B"))), "unique"),
        (modal({"type": 2, "custom_id": "b", "style": 1, "label": "Go"}), "component type 2"),
    ],
)
def test_discord_refuses(data: dict, reason: str) -> None:
    with pytest.raises(ModalError, match=reason):
        parse_modal(data)


def test_ids_are_numbered_in_order_around_taken_ones() -> None:
    label = {"type": 18, "label": "B", "component": text_input("b", label=None)}
    parsed = parse_modal(modal({"type": 10, "content": "hi"}, row(text_input(label="A", id=2)), label))
    ids = [parsed.components[0]["id"], parsed.components[1]["id"], parsed.inputs[0].id]
    assert ids == [1, 3, 2] and [parsed.components[2]["id"], parsed.inputs[1].id] == [4, 5]
    submitted = parsed.submit_components({"a": "y", "b": "x"})
    assert submitted[0] == {"type": 10, "id": 1}
    assert submitted[1] == {
        "type": 1,
        "id": 3,
        "components": [{"type": 4, "id": 2, "custom_id": "a", "value": "y"}],
    }
    assert submitted[2] == {
        "type": 18,
        "id": 4,
        "component": {"type": 4, "id": 5, "custom_id": "b", "value": "x"},
    }


def test_a_select_in_a_label_submits_its_values() -> None:
    select = {"type": 3, "custom_id": "model", "options": [{"label": "Fast", "value": "fast"}]}
    parsed = parse_modal(modal({"type": 18, "label": "Model", "component": select}))
    assert parsed.submit_components({"model": ["fast"]})[0]["component"]["values"] == ["fast"]
    with pytest.raises(ValueError):
        parsed.submit_components({})  # required: one value at least


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "JPEG"])
def test_image_size(fmt: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (7, 5)).save(out, fmt)
    assert image_size(out.getvalue()) == (7, 5)


def test_no_image_size_for_other_bytes() -> None:
    assert image_size(b"\x00\x00\x00\x18ftypmp42") is None and image_size(b"\x89PNG\r\n\x1a\n") is None
