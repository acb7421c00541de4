"""The one form a prompt and a blocklist entry are compared in: width, case, accents, invisible
characters and look-alike letters folded away, so `ＮＵＤＥ`, `n\u200bude`, `nüde` and `nսde` all read `nude`.

Steps, in order (each in `normalize`):
1. NFKC: full-width and other compatibility forms become plain letters (`ＮＵＤＥ`, `𝐧𝐮𝐝𝐞`, `ⓝ`, `ﬁ`).
2. Case-fold (`NuDe`, `NUDE` → `nude`; `ß` → `ss`).
3. NFKD, then drop format characters (Cf: zero-width space/joiners, word joiner, invisible operators,
   BOM, soft hyphen, bidi controls, tags) and the Hangul fillers, which render as blanks; then drop
   combining marks (Mn, Me) on Latin, Greek, Cyrillic and Armenian letters and on digits, spaces and
   punctuation (kept on other scripts, where they are spelling: Japanese `が`, Hindi vowel signs).
   So `nüde`, `n\u0301ude` and `n\u200bude` read `nude`.
4. NFC, so what is left (Hangul, CJK, Indic consonants…) is recomposed and still readable.
5. Look-alike letters from Cyrillic, Greek, Armenian and Latin small capitals/IPA become the Latin
   letter they imitate (`HOMOGLYPHS`). Digits and symbols are NOT mapped (`n00de`, `nud3` stay as they are).

What this does not do: it never joins letters separated by spaces or punctuation (`n u d e`, `n.u.d.e`),
and it maps by appearance, so a genuine Russian or Greek word that looks like a blocked Latin word reads
as that word.
"""

from __future__ import annotations

import re
import unicodedata

import regex

# Lowercase forms only: case-folding (step 2) runs first, so `А` (Cyrillic capital) arrives as `а`.
# Every key is stable under steps 1-4 (a test checks), else it could never be seen here.
HOMOGLYPHS: dict[str, str] = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "п": "n",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "і": "i",
    "ј": "j",
    "ѕ": "s",
    "ԁ": "d",
    "һ": "h",
    "ӏ": "l",
    "ԛ": "q",
    "ԝ": "w",
    "ү": "y",
    # Greek
    "α": "a",
    "β": "b",
    "γ": "y",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "ϳ": "j",
    # Armenian
    "ս": "u",
    "օ": "o",
    "ո": "n",
    "հ": "h",
    "ց": "g",
    "զ": "q",
    # Latin: dotless letters, IPA and small capitals (NFKC leaves these alone)
    "ı": "i",
    "ȷ": "j",
    "ɑ": "a",
    "ɡ": "g",
    "ɩ": "i",
    "ɪ": "i",
    "ᴀ": "a",
    "ʙ": "b",
    "ᴄ": "c",
    "ᴅ": "d",
    "ᴇ": "e",
    "ɢ": "g",
    "ʜ": "h",
    "ᴊ": "j",
    "ᴋ": "k",
    "ʟ": "l",
    "ᴍ": "m",
    "ɴ": "n",
    "ᴏ": "o",
    "ᴘ": "p",
    "ʀ": "r",
    "ꜱ": "s",
    "ᴛ": "t",
    "ᴜ": "u",
    "ᴠ": "v",
    "ᴡ": "w",
    "ʏ": "y",
    "ᴢ": "z",
}
# A substitution, not str.translate: it costs only where a look-alike is (measured 4-10x faster).
_LOOKALIKE = re.compile("[" + "".join(HOMOGLYPHS) + "]")

# Format characters and the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0: letters by category, blanks
# on screen): removed wherever they are.
_INVISIBLE = regex.compile(r"[\p{Cf}\u115F\u1160\u3164\uFFA0]+")
# Combining marks: removed from letters of the scripts the look-alike map folds (and from digits, spaces
# and punctuation: that is decoration, "Zalgo" text), kept where they are part of the writing (Japanese
# voicing marks, Indic vowel signs, Hebrew and Arabic points), so `が` stays `が`, not `か`.
_FOLDED_MARKS = regex.compile(
    r"(?<![\p{Mn}\p{Me}])(?:^|(?<=[\p{Latin}\p{Greek}\p{Cyrillic}\p{Armenian}\p{Common}]))[\p{Mn}\p{Me}]+"
)


def fold(text: str) -> str:
    """Steps 1-4 of `normalize`: width, case, marks and invisible characters, without the look-alike map."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFC", _FOLDED_MARKS.sub("", text))


def normalize(text: str) -> str:
    """The form prompts and blocklist entries are compared in (see the module docstring for the steps)."""
    if text.isascii():  # nothing to fold but case; by far the common prompt
        return text.lower()
    return _LOOKALIKE.sub(lambda found: HOMOGLYPHS[found[0]], fold(text))
