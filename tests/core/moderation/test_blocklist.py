"""The prompt blocklist: an evasion corpus, regexes refused on write, the time bound, and the list file."""

from __future__ import annotations

import re
import time

import pytest

from core.moderation import Blocklist, BlocklistError, Entry, load_file, parse_entry
from core.moderation.blocklist import MAX_REGEX_CHARS

LIST = Blocklist.of(
    [
        "nude",
        "blood bath",
        "c#",
        "re:gore\\w*",
        "re:\\bn\\W*u\\W*d\\W*e\\b",
        "re:^(?=.*\\bkill)(?=.*\\bchild)",
    ]
)


@pytest.mark.parametrize(
    ("prompt", "entry"),
    [
        # case, width, invisible characters, accents: the plain word catches them all
        ("a NuDe statue", "nude"),
        ("NUDE", "nude"),
        ("a ＮＵＤＥ statue", "nude"),
        ("a n\u200bude statue", "nude"),
        ("a nu\u00adde statue", "nude"),
        ("a n\u2060u\ufeffde statue", "nude"),
        ("a nüde statue", "nude"),
        ("a n\u0301ude statue", "nude"),
        # look-alike letters
        ("a nսde statue", "nude"),  # Armenian
        ("a пude statue", "nude"),  # Cyrillic
        ("a nυdε statue", "nude"),  # Greek
        ("a ɴᴜᴅᴇ statue", "nude"),  # small capitals
        # whole words only, punctuation is an edge
        ("nude.", "nude"),
        ("(nude)", "nude"),
        ("semi-nude figure", "nude"),
        ("a denude landscape", None),
        ("two nudes", None),
        ("nude_pics", None),  # `_` is a word character
        ("nude\u200bpics", None),  # a zero-width character joins the words, it never separates them
        # phrases: any run of whitespace between their words
        ("a blood   bath", "blood bath"),
        ("a blood\u00a0bath", "blood bath"),
        ("a bloodbath", None),
        # an entry with symbols at its edge
        ("learn C# today", "c#"),
        ("learn c#", "c#"),
        # spacing: not caught by the word, caught by the regex written for it
        ("a n u d e statue", "re:\\bn\\W*u\\W*d\\W*e\\b"),
        ("a n.u.d.e statue", "re:\\bn\\W*u\\W*d\\W*e\\b"),
        ("a N-Ս-D-Е statue", "re:\\bn\\W*u\\W*d\\W*e\\b"),  # regexes see the normalised prompt too
        # leetspeak is not folded, so nothing catches it
        ("a n00de statue", None),
        ("a nud3 statue", None),
        # regexes: case-insensitive, inside words
        ("GOREFEST", "re:gore\\w*"),
        ("so g\u200bory", None),
        ("kill the child", "re:^(?=.*\\bkill)(?=.*\\bchild)"),
        ("the child kills", "re:^(?=.*\\bkill)(?=.*\\bchild)"),
        ("a skilled child", None),  # `kill` must start a word
        ("a child\nwho will kill", "re:^(?=.*\\bkill)(?=.*\\bchild)"),  # `.` crosses lines
        ("a cat on a mat", None),
    ],
)
def test_evasion_corpus(prompt, entry):
    found = LIST.match(prompt)
    assert (found.entry.display if found else None) == entry


def test_match_names_the_entry_and_what_it_matched():
    verdict = LIST.check("A ＮＵＤＥ statue")
    assert verdict.blocked
    assert verdict.match.entry == Entry("word", "nude")
    assert (verdict.match.kind, verdict.match.pattern, verdict.match.matched) == ("word", "nude", "nude")
    assert verdict.timed_out == () and verdict.skipped == ()


def test_words_are_normalised_too():
    """An admin who types `ＮÜDЕ` (full-width, accent, Cyrillic Е) gets the entry `nude` in effect."""
    found = Blocklist.of(["ＮÜDЕ"]).match("nude")
    assert found is not None and found.pattern == "ＮÜDЕ"


def test_words_first_then_regexes_in_order():
    blocklist = Blocklist.of(["re:cat", "re:c.t", "dog"])
    assert blocklist.match("cat and dog").pattern == "dog"
    assert blocklist.match("cut").pattern == "c.t"
    assert blocklist.match("cat").pattern == "cat"


def test_prefix_words_all_match():
    """The trie matches the longest word that ends at a word edge, and the shorter one alone."""
    blocklist = Blocklist.of(["nud", "nude", "nudes", "nude art"])
    assert blocklist.match("nudes").pattern == "nudes"
    assert blocklist.match("nude").pattern == "nude"
    assert blocklist.match("nud").pattern == "nud"
    assert blocklist.match("nude  art").pattern == "nude art"
    assert blocklist.match("nuder") is None


def test_duplicates_collapse_and_an_empty_list_matches_nothing():
    assert len(Blocklist.of(["nude", "nude", "re:x+"])) == 2
    assert Blocklist.of([]).check("anything").match is None


@pytest.mark.parametrize(
    ("text", "kind", "pattern"),
    [
        ("nude", "word", "nude"),
        ("  Blood Bath  ", "word", "Blood Bath"),
        ("re:gore\\w*", "regex", "gore\\w*"),
        ("RE: gore ", "regex", "gore"),
    ],
)
def test_parse_entry(text, kind, pattern):
    entry = parse_entry(text)
    assert (entry.kind, entry.pattern) == (kind, pattern)
    assert parse_entry(entry.display) == entry


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u200b\u200b", "empty once invisible"),
        ("x" * 101, "too long"),
        ("re:", "empty"),
        ("re:" + "a" * (MAX_REGEX_CHARS + 1), "too long"),
        ("re:(gore", "not a valid regular expression"),
        ("re:*gore", "not a valid regular expression"),
        ("re:n[ü]de", "`ü` never appears"),
        ("re:ѕex", "`ѕ` never appears"),  # Cyrillic dze
        ("re:stra\u00dfe", "write `ss`"),
        ("re:n\u200bude", "U+200B"),
        ("re:a*", "without any text"),
        ("re:\\b", "without any text"),
        ("re:(?x) g o r e", "verbose"),
        ("re:(?R)", "recursion"),
        ("re:(?=.*kill)(?=.*child)", "anchor it: `^(?=.*kill)`"),
        ("re:(?i)(?!.*art).*naked", "anchor it"),
        ("re:gore{e<=1}", "repeat count"),
    ],
)
def test_bad_entries_are_refused_with_a_reason(text, message):
    with pytest.raises(BlocklistError, match=re.escape(message)):
        parse_entry(text)


@pytest.mark.parametrize(
    ("pattern", "shown"),
    [
        ("(a+)+", "nested quantifier `(a+)+`"),
        ("(a*)*b", "nested quantifier `(a*)*`"),
        ("(.*)*", "nested quantifier `(.*)*`"),
        ("(?:\\w+\\s?)+$", "nested quantifier `(?:\\w+\\s?)+`"),
        ("(?P<x>a+){2,}", "nested quantifier `(?P<x>a+){2,}`"),
        ("((ab)+c)*", "nested quantifier `((ab)+c)*`"),
        ("(a|a)*", "alternatives `a|a` in `(a|a)*`"),
        ("(a|ab)+c", "alternatives `a|ab`"),
        ("(\\w|\\d)+", "alternatives"),
        ("(x|)+y", "alternatives"),
        ("x(?:)*y", "can match nothing"),
    ],
)
def test_catastrophic_regexes_are_refused_on_write(pattern, shown):
    with pytest.raises(BlocklistError, match=r"exponential time|can match nothing") as refused:
        parse_entry("re:" + pattern)
    assert shown in str(refused.value)


@pytest.mark.parametrize(
    "pattern",
    [
        "(cat|dog)+",  # alternatives that start differently
        "(a{2})+",  # a fixed count inside a repeat
        "(?:gore)?\\w+",  # an optional group (max 1) is not a repeat
        "[(a+)+]",  # brackets inside a class are characters
        "\\(a+\\)+",  # escaped brackets are characters
        "(?<!un)dress",
        "^(?=.*\\bkill)(?=.*\\bchild)",
        "(?i)^(?!.*\\bart\\b).*\\bnaked\\b",
        "\\p{Han}+",
        "a.*b.*c.*d",  # polynomial, not exponential: left to the time bound
    ],
)
def test_reasonable_regexes_are_accepted(pattern):
    assert parse_entry("re:" + pattern).kind == "regex"


def test_a_hand_built_entry_is_checked_too():
    with pytest.raises(BlocklistError, match="nested quantifier"):
        Blocklist([Entry("regex", "(a+)+")])


SLOW = "re:a.*b.*c.*d"  # passes the static check; cubic on a prompt of a's and b's without c
SLOW_PROMPT = "ab" * 1000


def test_a_slow_regex_is_cut_off_and_reported():
    blocklist = Blocklist.of([SLOW, "re:zebra"], regex_timeout=0.01)
    start = time.perf_counter()
    verdict = blocklist.check(SLOW_PROMPT + " zebra")
    assert time.perf_counter() - start < 1.0  # unbounded, this takes minutes
    assert verdict.match.pattern == "zebra"  # the entries after it still run
    assert verdict.timed_out == (parse_entry(SLOW),)


def test_the_total_bound_skips_what_is_left():
    ticks = iter(range(100))  # a clock where every reading is one second later: the budget is spent at once
    blocklist = Blocklist.of(
        [SLOW, "re:zebra", "re:yak"], regex_timeout=0.01, total_timeout=1.5, clock=lambda: next(ticks)
    )
    verdict = blocklist.check(SLOW_PROMPT + " zebra yak")
    assert verdict.match is None
    assert verdict.timed_out == (parse_entry(SLOW),)
    assert [e.pattern for e in verdict.skipped] == ["zebra", "yak"]


def test_a_thousand_words_against_a_long_prompt_is_fast():
    words = [f"w{n:03d}x{'abcdefghij'[n % 10]}" for n in range(1000)]
    blocklist = Blocklist.of(words)
    prompt = ("a painter walks along the quiet harbour at dawn " * 50)[:2000]
    blocklist.check(prompt)
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        assert blocklist.check(prompt).match is None
    assert (time.perf_counter() - start) / runs < 0.005  # measured ~0.1 ms; generous for a loaded machine
    assert blocklist.match(prompt + " w999xj").pattern == "w999xj"


def test_load_file_skips_comments_and_blank_lines(tmp_path):
    path = tmp_path / "blocklist.txt"
    path.write_text(
        "\ufeff# global list\n\nnude\n   # indented comment\n  Blood Bath \nre:gore\\w*\nc#\n",
        encoding="utf-8",
    )
    assert load_file(path) == ["nude", "Blood Bath", "re:gore\\w*", "c#"]


def test_load_file_names_every_bad_line(tmp_path):
    path = tmp_path / "blocklist.txt"
    path.write_text("nude\nre:(a+)+\n# fine\nre:(oops\n", encoding="utf-8")
    with pytest.raises(BlocklistError) as refused:
        load_file(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ")
    assert "line 2: re: nested quantifier `(a+)+`" in message
    assert "line 4: re: not a valid regular expression" in message
    assert "line 1" not in message and "line 3" not in message
