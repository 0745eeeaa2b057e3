"""The value rules of the redactor, applied to free text, each in one linear pass.

Text is normalised first (`normalize`: Unicode NFKC, so fullwidth digits and NBSP become ASCII; format
characters such as zero-width spaces removed). Then, in order:
1. JWTs anywhere in a token run (after `_`, inside URL-encoding): from `eyJ` through its dot-separated segments;
2. card numbers: Luhn-valid runs of 13-19 digits whose first digit is 2-6, with any one-character separator
   (space, `-`, `.`, `/`, `_`), also inside longer digit runs, masked to their last four;
3. URL userinfo (`https://user:pass@host`);
4. a secret name and its value: `=`, `:`, quotes (`"refresh_token": "x"`, JSON escaped inside JSON), or a
   space or ` is ` when the value looks like a secret (has a digit, or is long); `Bearer` and `Basic`
   credentials; secret query parameters; identity names and values with a digit (masked, not removed);
5. base64 runs of 256 characters or more, replaced by a size note.
Every scan advances past what it examined, so no character is examined more than a constant number of times.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import re
import unicodedata

from kyc_mcp.guard.redact_words import ID_PATTERN, STEM_PATTERN, kind_of_words, words

REDACTED = "[REDACTED]"
# Unicode's format characters (category Cf), checked against `unicodedata` by the tests.
FORMAT_RANGES = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)  # fmt: skip
_DROP_FORMAT = dict.fromkeys(c for low, high in FORMAT_RANGES for c in range(low, high + 1))
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_SEGMENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_VALUE_STOP = frozenset(" \t\r\n,;&\"'<>(){}[]\\")
_QUOTE_CHARS = "\\\"'"
MAX_REACH = 4096  # how far a quoted value or a cookie header may reach: a missing end cannot make scans quadratic
_SCHEMES = frozenset({"bearer", "basic", "token", "digest"})
# A digit run with single separators between its groups: starts only where no digit precedes, and no digit
# is given back (a per-digit optional separator would keep backtracking state for every digit of the run).
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]+(?:[ ./_-][0-9]+)*")
_SEPARATOR = re.compile(r"[ ./_-]")
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{256,}={0,2}")
_BASE64_VALUE = re.compile(r"[A-Za-z0-9+/]*={0,2}")  # matches at any position (possibly empty)
_CARD_VIEW = str.maketrans("123456789", "000000000", " ./_-")
_HEX = frozenset("0123456789abcdefABCDEF")
_HEX_OR_DASH = _HEX | {"-"}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HEX_NAME = 32  # hex characters: a UUID's (without dashes) or more
MAX_CARD_RUN = 64  # digits; a longer run is not shown at all (its possible cards cannot be told apart)
MIN_LONE_SECRET = 20  # an unlabelled value after a secret name and a space is a secret at this length


def normalize(text: str) -> str:
    """NFKC with format characters removed; ASCII text is returned as it is."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text.translate(_DROP_FORMAT)).translate(_DROP_FORMAT)


def suspect(text: str) -> bool:
    """Whether any rule could change `text` (normalised): a cheap superset check."""
    if len(text) >= 256 or "eyJ" in text or "://" in text or STEM_PATTERN.search(text.lower()):
        return True
    if ID_PATTERN.search(text):
        return True
    return len(text) >= 13 and "0" * 13 in text.translate(_CARD_VIEW)


def patterns(text: str) -> str:
    """Every value rule applied to normalised text."""
    if "eyJ" in text:
        text = _jwts(text)
    if len(text) >= 13 and "0" * 13 in text.translate(_CARD_VIEW):
        text = _DIGIT_RUN.sub(_digit_run, text)
    if "://" in text:
        text = _userinfo(text)
    text = _pairs(text)
    if len(text) >= 256:
        text = _BASE64_RUN.sub(lambda m: size_note(m.group()), text)
    return text


def size_note(value: str) -> str:
    return f"[base64 data, about {len(value) * 3 // 4} bytes, not shown]"


def mask_identity(value: str) -> str:
    """An identity number masked to its last 3 characters."""
    keep = value[-3:] if len(value) > 3 else ""
    return "*" * max(len(value) - len(keep), 3) + keep


# ------------------------------------------------------------------------------------------------ JWTs


def _segment_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end] in _SEGMENT_CHARS:
        end += 1
    return end


def _jwts(text: str) -> str:
    """Every `eyJ...` segment of 10 characters or more, with the dot-separated segments that follow it."""
    parts, done, found = [], 0, text.find("eyJ")
    while found != -1:
        end = _segment_end(text, found)
        if end - found >= 10:
            while end + 1 < len(text) and text[end] == "." and text[end + 1] in _SEGMENT_CHARS:
                end = _segment_end(text, end + 1)
            parts += [text[done:found], REDACTED]
            done = end
        found = text.find("eyJ", max(end, found + 3))
    return "".join([*parts, text[done:]]) if parts else text


# ----------------------------------------------------------------------------------------- card numbers


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card_like(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn(digits)


def _well_grouped(sizes: list[int]) -> bool:
    """Groups as card numbers are written: none shorter than 3, or all but the last of one size."""
    return len(sizes) <= 1 or min(sizes) >= 3 or len(set(sizes[:-1])) == 1


def _cards_in(groups: list[str]) -> list[tuple[int, int]]:
    """Card numbers in a run's digit groups, as merged (start, end) offsets in the run's digits, in order.

    A window of 13-19 digits is a card when it lies inside one group, or when it begins or ends at a group's
    edge and the whole groups it covers are written as cards are (`ref:774111 1111 1111 1111` holds one; two
    dates in a row hold none). Every start and every length is tried, not only the first found: the digits
    before a card (`reference 1234 5678 9012 4111 1111 1111 1111`, a UUID's tail) can make a window that ends
    inside the real card. A window written as a card is (both ends on group edges, groups of 3 to 6 digits,
    or one whole group) is always masked; any other window is masked too, unless it overlaps one of those: so
    a card's neighbours stay, and a card glued to other digits is found next to a false window of uneven
    groups (`ref:774222 222 222 222 1733040000007`). Overlapping windows are masked as one. A run holds at
    most `MAX_CARD_RUN` digits, so this is a constant amount of work per run."""
    digits = "".join(groups)
    edges, offset = [0], 0
    for group in groups:
        offset += len(group)
        edges.append(offset)
    sums = _luhn_sums(digits)
    written: list[tuple[int, int]] = []
    other: list[tuple[int, int]] = []
    for start in range(len(digits) - 12):
        if digits[start] in "23456":
            _windows_at(sums, edges, start, written, other)
    kept = written + [w for w in other if not any(a < w[1] and w[0] < b for a, b in written)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(kept):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _luhn_sums(digits: str) -> tuple[list[int], list[int]]:
    """Prefix sums for the Luhn total of any window in O(1): `kept[i]` sums digits[:i] as they are at even
    positions and doubled at odd ones, `flipped[i]` the other way round (a digit is doubled when its distance
    from the window's last digit is odd)."""
    kept, flipped = [0], [0]
    for i, ch in enumerate(digits):
        n = ord(ch) - 48
        doubled = n * 2 - 9 if n > 4 else n * 2
        kept.append(kept[-1] + (doubled if i % 2 else n))
        flipped.append(flipped[-1] + (n if i % 2 else doubled))
    return kept, flipped


def _windows_at(
    sums: tuple[list[int], list[int]],
    edges: list[int],
    start: int,
    written: list[tuple[int, int]],
    other: list[tuple[int, int]],
) -> None:
    """Every card window beginning at `start`: into `written` when it is written as a card is, else `other`."""
    kept, flipped = sums
    for end in range(start + 13, min(start + 19, len(kept) - 1) + 1):
        table = kept if end % 2 else flipped  # the last digit (index end - 1) is never doubled
        if (table[end] - table[start]) % 10:
            continue
        within = edges[bisect.bisect_left(edges, start) : bisect.bisect_right(edges, end)]  # edges in [start, end]
        inside = [b - a for a, b in itertools.pairwise(within)]  # the whole groups the window covers
        both_ends = within[:1] == [start] and within[-1:] == [end]
        one_group = all(edge in (start, end) for edge in within)
        starts_or_ends = within[:1] == [start] or within[-1:] == [end]
        if one_group:
            (written if both_ends else other).append((start, end))
        elif starts_or_ends and inside and _well_grouped(inside):
            (written if both_ends and max(inside) <= 6 else other).append((start, end))


def _around(match: re.Match[str], chars: frozenset[str]) -> str:
    """The match widened to the longest token of `chars` around it."""
    text, start, end = match.string, match.start(), match.end()
    while start > 0 and text[start - 1] in chars:
        start -= 1
    while end < len(text) and text[end] in chars:
        end += 1
    return text[start:end]


def _in_hex_name(match: re.Match[str]) -> bool:
    """Whether the run lies inside a UUID (with or without its dashes) or another hexadecimal token of at least
    `HEX_NAME` characters with a letter in it, as an upstream names a stored file: such digits are no card number,
    and masking them broke 1 upload path in 200 (`media/private/kyc/<uuid4 hex>.pdf`)."""
    if _UUID.fullmatch(_around(match, _HEX_OR_DASH)):
        return True
    name = _around(match, _HEX)
    grouped = _SEPARATOR.search(match.group())  # digits in groups are written as a number, not inside a name
    return not grouped and len(name) >= HEX_NAME and not name.isdigit()


def _digit_run(match: re.Match[str]) -> str:
    run = match.group()
    if _in_hex_name(match):
        return run
    groups = _SEPARATOR.split(run)
    total = sum(map(len, groups))
    if total < 13:
        return run
    if total > MAX_CARD_RUN:
        return f"[a number of {total} digits, not shown]"
    cards = _cards_in(groups)
    if not cards:
        return run
    where = [i for i, ch in enumerate(run) if ch.isdigit()]  # the run's index of each digit
    digits = "".join(groups)
    out, done = [], 0
    for start, end in cards:
        out += [run[done : where[start]], f"[card ending {digits[end - 4 : end]}]"]
        done = where[end - 1] + 1
    return "".join([*out, run[done:]])


# ---------------------------------------------------------------------------------------- URL userinfo


def _userinfo(text: str) -> str:
    """`scheme://user:password@host` without the `user:password`."""
    parts, done, found = [], 0, text.find("://")
    while found != -1:
        start = found + 3
        end = start
        while end < len(text) and text[end] not in "/?# \t\r\n\"'<>\\":
            end += 1
        at = text.rfind("@", start, end)
        if at > start:
            parts += [text[done:start], REDACTED]
            done = at
        found = text.find("://", max(end, start))
    return "".join([*parts, text[done:]]) if parts else text


# ------------------------------------------------------------------------------------ names and values


def _name_span(text: str, hit: int, floor: int) -> tuple[int, int]:
    start, end = hit, hit
    while start > floor and text[start - 1] in _NAME_CHARS:
        start -= 1
    while end < len(text) and text[end] in _NAME_CHARS:
        end += 1
    return start, end


def _words_before(text: str, start: int) -> list[str]:
    """Up to two space-separated words before `start` (a bounded look-back), for `security code 913`."""
    before = text[max(0, start - 40) : start]
    if not before.endswith(" "):
        return []
    return [w for part in before.split()[-2:] for w in words(part)]


def _next_word(text: str, end: int) -> tuple[str, int]:
    if end < len(text) and text[end] == " ":
        stop = end + 1
        while stop < len(text) and stop - end <= 24 and text[stop] in _NAME_CHARS:
            stop += 1
        return text[end + 1 : stop], stop
    return "", end


def _skip(text: str, pos: int, chars: str, most: int) -> int:
    stop = min(len(text), pos + most)
    while pos < stop and text[pos] in chars:
        pos += 1
    return pos


def _separator(text: str, end: int) -> tuple[int, str]:
    """After a name: (where its value starts, the separator kind: `explicit`, `space` or ``)."""
    pos = _skip(text, end, _QUOTE_CHARS, 8)  # a closing quote, escaped any number of times
    pos = _skip(text, pos, " \t", 8)
    if pos < len(text) and text[pos] in ":=":
        pos += 1 + (text.startswith("=>", pos) or text.startswith("==", pos))
        return _skip(text, pos, " \t", 8), "explicit"
    if text.startswith("is ", pos):
        return pos + 3, "space"
    return (pos, "space") if pos > end else (pos, "")


def _value_span(text: str, start: int) -> tuple[int, int]:
    """The value at `start`: a quoted string's content up to the next quote or backslash (quotes escaped any
    number of times), or a run up to a delimiter."""
    begin = _skip(text, start, _QUOTE_CHARS, 8)
    if begin > start:
        return begin, _first_of(text, begin, _QUOTE_CHARS)
    end = start
    while end < len(text) and text[end] not in _VALUE_STOP:
        end += 1
    return start, end


def _first_of(text: str, start: int, chars: str) -> int:
    """The first of `chars` at or after `start`, looking at most `MAX_REACH` characters ahead."""
    limit = min(len(text), start + MAX_REACH)
    return min((i for i in (text.find(c, start, limit) for c in chars) if i != -1), default=limit)


def _looks_secret(value: str) -> bool:
    return any(ch.isdigit() for ch in value) or len(value) >= MIN_LONE_SECRET


def _basic_credentials(value: str) -> bool:
    """Whether `value` is base64 of `user:password`; also when text is glued after it (`...MazJNtoken_count`):
    then its whole quads are decoded."""
    bare = value.rstrip("=")
    for candidate in (value + "=" * (-len(value) % 4), bare[: len(bare) // 4 * 4]):
        try:
            if b":" in base64.b64decode(candidate, validate=True):
                return True
        except (binascii.Error, ValueError):
            continue
    return False


def _replacement(kind: str, scheme: str, value: str, separator: str) -> str | None:
    """What the value becomes, or None when it stays."""
    if not value:
        return None
    if scheme == "basic":
        return REDACTED if _basic_credentials(value) else None
    if scheme == "bearer":
        return REDACTED if len(value) >= 8 else None
    if kind == "identity":
        return mask_identity(value) if any(ch.isdigit() for ch in value) else None
    return REDACTED if separator == "explicit" or _looks_secret(value) else None


def _name_hits(text: str) -> list[int]:
    """Where a secret or identity name may be: each stem's position, in order."""
    lower = text.lower()
    if len(lower) != len(text):  # a few characters lower-case to two (`İ`): positions would drift
        lower = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    hits = [m.start() for m in STEM_PATTERN.finditer(lower)]
    if "d" in lower or "c" in lower:
        hits = sorted(hits + [m.start() for m in ID_PATTERN.finditer(text)])
    return hits


def _pairs(text: str) -> str:
    """Secret and identity values named in text, and `Bearer`/`Basic` credentials."""
    edits: list[tuple[int, int, str]] = []
    floor = 0
    for hit in _name_hits(text):
        if hit < floor:
            continue
        edit, floor = _pair_at(text, hit, floor)
        if edit is not None:
            edits.append(edit)
    return _apply(text, edits)


def _pair_at(text: str, hit: int, floor: int) -> tuple[tuple[int, int, str] | None, int]:
    """The edit for a name found at `hit`, and where scanning may resume."""
    start, end = _name_span(text, hit, floor)
    name = words(text[start:end])
    own = [w for w in name if not w.isdigit()]  # `048616Basic`: a digit value glued before it is not the name's
    scheme = own[0] if len(own) == 1 and own[0] in _SCHEMES else ""
    query = start > 0 and text[start - 1] in "?&"
    kind = kind_of_words(_words_before(text, start) + name, query) if not scheme else "secret"
    following, after = _next_word(text, end)
    extra = words(following)
    name_end = end  # where scanning resumes when no pair is found: the next word may be a name of its own
    last = name[-1]  # the name's last word (`cookie` takes the rest of its line)
    if extra and (longer := kind_of_words([*name, *extra])) is not None:
        kind, end, last = longer, after, extra[-1]  # `passport no E123`, `card number 4111...`, `pin Cookie: x`
    if kind is None or kind == "base64":
        return None, name_end
    begin, separator = _separator(text, end)
    if not separator:
        return None, name_end
    value_start, value_end = _value_span(text, begin)
    if last == "cookie":  # a cookie header's value is the rest of its line: `sid=...; other=...`
        value_end = max(value_end, _first_of(text, value_start, "\n" + _QUOTE_CHARS))
    if scheme == "basic":  # the credential is its base64 only: not a sentence's `.` after it, nor glued text
        found = _BASE64_VALUE.match(text, value_start, value_end)
        value_end = found.end() if found else value_start
    value = text[value_start:value_end]
    if value.lower() in _SCHEMES and not scheme:  # `Authorization: Bearer x`: the credential follows
        value_start, value_end = _value_span(text, value_end + 1)
        value = text[value_start:value_end]
        scheme = "any"
    new = _replacement(kind, scheme, value, "explicit" if scheme == "any" else separator)
    if new is None:
        return None, name_end
    return (value_start, value_end, new), max(value_end, end)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    if not edits:
        return text
    out, done = [], 0
    for start, end, new in edits:
        out += [text[done:start], new]
        done = end
    return "".join([*out, text[done:]])
