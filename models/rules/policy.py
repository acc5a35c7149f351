"""Privacy policy revisions (Art. 17(2), 18(1), 21(3); docs/rules.md §9).

The purposes of use are the part of the policy the law ties to people: a purpose may change
only within what is reasonably related to the old one (Art. 17(2)); a use beyond that needs
the principal's consent (Art. 18(1)); a changed purpose is notified to the principal or
published (Art. 21(3)), and the desk notifies every customer before the new version is in
force. These rules find the purposes section in a policy's text by its structure, compare two
versions item by item, and say what the revision needs.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

# The desk's own lead time: the law asks for notice of a changed purpose without fixing a
# period; a month lets a customer object, ask or opt out before the new version applies.
NOTICE_LEAD_DAYS = 30
BODY = "本文"  # the purposes section's text outside its lettered items

_HEADING = re.compile(r"^( *)(\d+)\.\s*(\S.*)$")  # "  2. お客様情報および個人情報の利用目的"
_ITEM = re.compile(r"^\s*([a-z])\)\s*(.*)$")  # "      a)お客様への商品のお届け…"
_SUBCLAUSE = re.compile(r"^\s*\d+\.\s")  # "    2. 当社は、…"


class PolicyTextInvalid(ValueError):
    """A text that is not a policy this desk can compare: the message says what is missing."""


class PurposeChange(StrEnum):
    ADDED = "added"  # a new purpose: beyond what is reasonably related, consent (Art. 18(1))
    CHANGED = "changed"  # reworded in substance: notice (Art. 21(3)); the officer judges Art. 17(2)
    REMOVED = "removed"  # a purpose dropped: the narrower purposes are notified (Art. 21(3))


@dataclass(frozen=True)
class Finding:
    change: PurposeChange
    old_label: str | None  # "a"…, or BODY; None when added
    new_label: str | None  # None when removed
    old_text: str
    new_text: str


@dataclass(frozen=True)
class Revision:
    """What a revision needs, by the rules."""

    findings: tuple[Finding, ...]

    @property
    def needs_notice(self) -> bool:
        """Every customer is told before the date in force (Art. 21(3))."""
        return bool(self.findings)

    @property
    def consent_needed(self) -> bool:
        """A new purpose is presumed beyond what is reasonably related (Art. 17(2), 18(1)):
        data already held may be used for it only with the principal's consent."""
        return any(f.change is PurposeChange.ADDED for f in self.findings)


def _normal(text: str) -> str:
    """The words without layout: width-folded, no spaces or line breaks."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def purposes(text: str) -> dict[str, str]:
    """The purposes of use: each lettered item of the section whose numbered top-level heading
    names 利用目的, and the rest of that section under :data:`BODY`."""
    lines = text.replace("\r\n", "\n").split("\n")
    headings = [(i, m) for i, line in enumerate(lines) if (m := _HEADING.match(line))]
    if not headings:
        raise PolicyTextInvalid("no numbered sections (lines such as '2. …の利用目的')")
    top = min(len(m.group(1)) for _, m in headings)
    tops = [(i, m) for i, m in headings if len(m.group(1)) == top]
    start = next((n for n, (_, m) in enumerate(tops) if "利用目的" in m.group(3)), None)
    if start is None:
        raise PolicyTextInvalid("no section on the purposes of use (a numbered heading naming 利用目的)")
    first = tops[start][0] + 1
    last = tops[start + 1][0] if start + 1 < len(tops) else len(lines)
    found: dict[str, list[str]] = {BODY: []}
    current = BODY
    for line in lines[first:last]:
        if line.strip() and len(line) - len(line.lstrip(" ")) < top:
            break  # a part of the policy above the numbered sections (Ⅱ., Ⅲ.)
        if item := _ITEM.match(line):
            current = item.group(1)
            if current in found:
                raise PolicyTextInvalid(f"the purposes section has item {current}) twice")
            found[current] = [item.group(2)]
            continue
        if _SUBCLAUSE.match(line):
            current = BODY
        found[current].append(line)
    items = {label: "\n".join(part.strip() for part in body if part.strip()) for label, body in found.items()}
    if len(items) == 1:
        raise PolicyTextInvalid("the purposes section lists no purposes (items a), b), …)")
    return items


def compare(old_text: str, new_text: str) -> Revision:
    """The purposes changed from ``old_text`` to ``new_text``. Layout and width do not count;
    an item moved to another letter with its words unchanged is not a change; the rest is
    paired by letter (changed), or added, or removed."""
    old, new = purposes(old_text), purposes(new_text)
    old_left = {label: t for label, t in old.items() if _normal(t) not in {_normal(n) for n in new.values()}}
    new_left = {label: t for label, t in new.items() if _normal(t) not in {_normal(o) for o in old.values()}}
    findings = []
    for label in sorted(old_left.keys() | new_left.keys(), key=lambda k: (k != BODY, k)):
        if label in old_left and label in new_left:
            findings.append(Finding(PurposeChange.CHANGED, label, label, old_left[label], new_left[label]))
        elif label in new_left:
            findings.append(Finding(PurposeChange.ADDED, None, label, "", new_left[label]))
        else:
            findings.append(Finding(PurposeChange.REMOVED, label, None, old_left[label], ""))
    return Revision(tuple(findings))


def earliest_in_force(revision: Revision, approved_on: date, lead_days: int = NOTICE_LEAD_DAYS) -> date:
    """The first day the new version may be in force: after the notice's lead time when the
    purposes changed, else the day after approval (the text is published first)."""
    return approved_on + timedelta(days=lead_days if revision.needs_notice else 1)


def version_in_force(published: Iterable[tuple[int, date | None]], on: date) -> int | None:
    """The newest of the published ``(version, in force on)`` that is in force ``on``; a version
    without its day (the column is nullable for the proposed ones) is in force on none."""
    return max((v for v, day in published if day is not None and day <= on), default=None)
