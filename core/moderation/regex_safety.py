"""A conservative static check for catastrophic backtracking in a blocklist regex (`check_pattern`).

Refused: a repeat (max > 1) of something containing a variable quantifier (`(a+)+`, `(.*)*`,
`(\\w+\\s?){2,}`, `(?:ab?)+`); a repeat of alternatives that can start with the same character or match
nothing (`(a|a)*`, `(a|ab)+`, `(\\w|\\d)+`, `(a|)*`); a repeat of something that can match nothing
(`(?:)*`, `(\\b)+`); a pattern that can match without consuming text (`a*`, `\\b`: it would refuse every
prompt); and syntax the check doesn't read (verbose `(?x)`, recursion, references by name, conditionals,
fuzzy `{e<=1}`, a `{` that isn't a repeat count); and a lookahead with a repeat as the very first item
(`(?=.*kill)(?=.*child)`: a search retries it at every position, quadratic, measured 90 ms on a
2000-character prompt; `^(?=.*kill)(?=.*child)` is fine). Character classes and escapes such as `\\w`
count as "could start with anything", so `(\\w|x)+` is refused even where it would be harmless. Other
polynomial slowness (`a.*b.*c.*d`, `\\w*\\w*\\w*x`) is NOT refused: the match-time bound covers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import regex


class UnsafePattern(ValueError):
    """A pattern the check refuses; the message names the part and the reason, for an admin."""


def check_pattern(pattern: str) -> None:
    """Raise UnsafePattern if `pattern` (which must already compile) could backtrack catastrophically."""
    _Safety(pattern).check()


@dataclass
class _Info:
    """What the safety check knows about a piece of a pattern."""

    nullable: bool  # can match without consuming text
    first: frozenset[str] | None  # the (case-folded) characters it can start with; None: can't tell
    varies: bool = False  # contains a quantifier whose count isn't fixed
    alternations: list[tuple[str, list[_Info]]] = field(default_factory=list)


_ZERO_WIDTH = _Info(True, frozenset())
_ANY = _Info(False, None)
_FLAG_CHARS = set("aiLmsu-")


class _Safety:
    """A recursive-descent reader of the pattern's structure, failing at the first risky part."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0
        # Where the pattern's first real item starts (after inline flags like `(?i)`).
        self.lead = regex.match(r"(?:\(\?[A-Za-z-]+\))*", pattern).end()

    def check(self) -> None:
        info = self.alternation()
        if self.i < len(self.p):  # a stray `)` the compiler accepted: can't vet what follows
            self.fail(f"re: can't check `{self.p[self.i :]}`.")
        if info.nullable:
            self.fail("re: the pattern can match without any text, so it would block every prompt.")

    def fail(self, message: str) -> None:
        raise UnsafePattern(message)

    def peek(self, ahead: int = 0) -> str:
        return self.p[self.i + ahead : self.i + ahead + 1]

    def upto(self, end: str) -> None:
        stop = self.p.find(end, self.i)
        if stop < 0:
            self.fail(f"re: can't check `{self.p[self.i :]}`.")
        self.i = stop + len(end)

    def alternation(self) -> _Info:
        start = self.i
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        if len(branches) == 1:
            return branches[0]
        firsts = [b.first for b in branches]
        return _Info(
            any(b.nullable for b in branches),
            None if None in firsts else frozenset().union(*firsts),  # type: ignore[arg-type]
            any(b.varies for b in branches),
            [(self.p[start : self.i], branches)] + [a for b in branches for a in b.alternations],
        )

    def sequence(self) -> _Info:
        info = _Info(True, frozenset())
        while self.i < len(self.p) and self.peek() not in "|)":
            item = self.quantified(self.atom())
            if item is None:
                continue
            if info.nullable:
                info.first = None if info.first is None or item.first is None else info.first | item.first
            info.nullable = info.nullable and item.nullable
            info.varies = info.varies or item.varies
            info.alternations += item.alternations
        return info

    def quantified(self, item: _Info | None) -> _Info | None:
        while item is not None:
            counts = self.quantifier()
            if counts is None:
                return item
            low, high = counts
            if high is None or high > 1:
                shown = f"`{self.p[self.item_start : self.i]}`"
                if item.varies:
                    self.fail(f"re: nested quantifier {shown} can take exponential time.")
                for text, branches in item.alternations:
                    if _overlap(branches):
                        self.fail(
                            f"re: the alternatives `{text}` in {shown} can match the same text (or nothing), and "
                            "repeating them can take exponential time."
                        )
                if item.nullable:
                    self.fail(f"re: {shown} repeats something that can match nothing.")
            item = _Info(item.nullable or low == 0, item.first, item.varies or low != high, item.alternations)
        return item

    def quantifier(self) -> tuple[int, int | None] | None:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.i += 1
            counts = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{":
            found = regex.match(r"\{(\d*)(?:(,)(\d*))?\}", self.p[self.i :])
            if not found or not (found[1] or found[3]):
                self.fail("re: `{` must be a repeat count like `{2,5}` (write `\\{` for a brace).")
            self.i += found.end()
            low = int(found[1] or 0)
            counts = (low, low if not found[2] else (int(found[3]) if found[3] else None))
        else:
            return None
        if self.peek() in ("?", "+"):  # lazy or possessive: the same for this check
            self.i += 1
        return counts

    def atom(self) -> _Info | None:
        self.item_start = self.i
        char = self.peek()
        self.i += 1
        if char == "(":
            return self.group()
        if char == "[":
            self.char_class()
            return _ANY
        if char == "\\":
            return self.escape()
        if char in "^$":
            return _ZERO_WIDTH
        if char == ".":
            return _ANY
        if char == "{":
            self.fail("re: `{` must follow something to repeat (write `\\{` for a brace).")
        return _Info(False, frozenset(char.casefold()))

    def group(self) -> _Info | None:
        start = self.item_start
        look: str | None = None  # "=" or "!" for a lookaround
        if self.peek() == "?":
            self.i += 1
            head = self.p[self.i :]
            if head.startswith("#"):
                self.upto(")")
                return None
            if head.startswith(("P=", "P>", "&", "R", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "(")):
                self.fail(
                    f"re: `{self.p[start : start + 4]}` (references, recursion, conditionals) isn't supported."
                )
            if head.startswith(("=", "!", "<=", "<!")):
                look = head[0] if head[0] in "=!" else head[1]
                self.i += 1 if head[0] in "=!" else 2
            elif head.startswith(("P<", "<")):
                self.upto(">")
            elif head[:1] in (":", ">"):
                self.i += 1
            else:
                flags = regex.match(r"[A-Za-z0-9-]*", head)[0]
                if "x" in flags.split("-")[0]:
                    self.fail("re: verbose mode `(?x)` isn't supported.")
                if (
                    not flags
                    or not set(flags) <= _FLAG_CHARS
                    or head[len(flags) : len(flags) + 1] not in ":)"
                ):
                    self.fail(f"re: `(?{head[:3]}` isn't supported.")
                self.i += len(flags) + 1
                if head[len(flags)] == ")":
                    return _ZERO_WIDTH
        inner = self.alternation()
        if self.peek() != ")":
            self.fail(f"re: can't check `{self.p[start:]}`.")
        self.i += 1
        self.item_start = start
        if look and start == self.lead and inner.varies:
            self.fail(
                f"re: `{self.p[start : self.i]}` at the start is tried again at every position of the prompt "
                f"(measured 90 ms on a long one); anchor it: `^{self.p[start : self.i]}`."
            )
        if look == "!":
            return _Info(True, frozenset(), inner.varies, inner.alternations)
        if look == "=":  # consumes nothing, yet needs its text: `(?=.*kill)(?=.*child)` is a fair entry
            return _Info(inner.nullable, None, inner.varies, inner.alternations)
        return inner

    def char_class(self) -> None:
        if self.peek() == "^":
            self.i += 1
        if self.peek() == "]":
            self.i += 1
        while self.i < len(self.p) and self.peek() != "]":
            if self.p.startswith("[:", self.i):
                self.upto(":]")
            elif self.peek() == "\\":
                self.i += 1
                self.escape()
            else:
                self.i += 1
        self.i += 1

    def escape(self) -> _Info:
        """After a backslash: consume the escape; zero-width assertions, a literal, or 'anything'."""
        char = self.peek()
        self.i += 1
        if (char in "pPNx" and self.peek() == "{") or (char == "g" and self.peek() == "<"):
            self.upto("}" if char != "g" else ">")
            return _ANY
        if char in "xuU0123456789":
            digits = {"x": 2, "u": 4, "U": 8}.get(char, 2)
            allowed = (
                "0123456789abcdefABCDEF" if char in "xuU" else "01234567" if char == "0" else "0123456789"
            )
            while digits and self.peek() and self.peek() in allowed:
                self.i += 1
                digits -= 1
            return _ANY
        if char in "bBAZzGK":
            return _ZERO_WIDTH
        if char.isalnum():  # \w \d \s \X \n \t ... : a class or a control character
            return _ANY
        return _Info(False, frozenset(char.casefold()))


def _overlap(branches: list[_Info]) -> bool:
    """Could two alternatives start the same way (or one match nothing)? Unknown counts as yes."""
    seen: set[str] = set()
    for branch in branches:
        if branch.nullable or branch.first is None or seen & branch.first:
            return True
        seen |= branch.first
    return False
