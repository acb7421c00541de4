"""normalize(): every evasion in the table reads as its plain form; what it must not change, it doesn't."""

from __future__ import annotations

import unicodedata

import pytest

from core.moderation.normalize import HOMOGLYPHS, fold, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NuDe", "nude"),
        ("NUDE", "nude"),
        ("ＮＵＤＥ", "nude"),  # full-width
        ("𝐧𝐮𝐝𝐞", "nude"),  # mathematical bold
        ("ⓝⓤⓓⓔ", "nude"),  # circled
        ("n\u200bude", "nude"),  # zero-width space
        ("n\u200cu\u200dd\u2060e\ufeff", "nude"),  # ZWNJ, ZWJ, word joiner, BOM
        ("nu\u00adde", "nude"),  # soft hyphen
        ("n\u2062ude", "nude"),  # invisible times
        ("\u202enude\u202c", "nude"),  # bidi override
        ("n\u3164ude", "nude"),  # Hangul filler: a letter by category, a blank on screen
        ("nüde", "nude"),  # precomposed accent
        ("n\u0301ude", "nude"),  # combining accent
        ("n\u0336u\u0336d\u0336e\u0336", "nude"),  # strikethrough "font"
        ("nu\ufe0fde", "nude"),  # variation selector
        ("nսde", "nude"),  # Armenian u
        ("nυde", "nude"),  # Greek upsilon
        ("пude", "nude"),  # Cyrillic pe
        ("ɴᴜᴅᴇ", "nude"),  # small capitals
        ("ЅЕХ", "sex"),  # Cyrillic capitals: case-folded, then mapped
        ("сорѕе", "copse"),  # all-Cyrillic look-alike word
        ("ΝΟΡΕ", "vope"),  # Greek capitals fold to ν ο ρ ε, each mapped by its lowercase shape
        ("Straße", "strasse"),
        ("İstanbul", "istanbul"),
        ("ﬁlm", "film"),
    ],
)
def test_evasions_read_as_their_plain_form(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    ["n00de", "nud3", "n@ked", "n u d e", "n.u.d.e", "n-u-d-e"],
)
def test_leetspeak_and_spacing_are_left_alone(text):
    assert normalize(text) == text


def test_non_latin_text_stays_readable():
    assert normalize("猫が走る") == "猫が走る"
    assert normalize("한국어") == "한국어"  # NFKD splits Hangul; NFC puts it back


def test_whitespace_is_kept_as_a_separator():
    assert normalize("blood\u00a0bath") == "blood bath"  # NBSP → space (NFKC)
    assert normalize("nude\u200bpics") == "nudepics"  # a zero-width character joins, it never separates


def test_ascii_fast_path_agrees_with_the_full_path():
    text = "A Cat, Sitting ON a Mat! 123 #tag_x"
    assert normalize(text) == fold(text)


@pytest.mark.parametrize("text", ["ＮüԁЕ\u200b", "Ⅻ ﬃ ẞ Ǆ ᾳ", "nսde пude ɴᴜᴅᴇ", "Ω℃㎏"])
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


def test_every_homoglyph_key_can_reach_the_map():
    """A key that steps 1-4 would change could never be seen, so the entry would be dead."""
    dead = [key for key in HOMOGLYPHS if fold(key) != key]
    assert dead == []
    assert all(value.isascii() and value.isalpha() and len(value) == 1 for value in HOMOGLYPHS.values())


def test_homoglyph_keys_are_look_alikes_not_latin():
    assert all(not key.isascii() and unicodedata.category(key).startswith("L") for key in HOMOGLYPHS)
