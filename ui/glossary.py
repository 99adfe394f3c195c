"""The abbreviations the pages use, spelt out: in a tooltip everywhere, in words on first use.

The long forms follow the inspection's post-inspection review where it spells one out
(IMPACT, MOSOVO, ARMS, MASH, POLIT, ViSOR, PPN); the rest are the national terms.
"""

from __future__ import annotations

import re

from dash import html

GLOSSARY = {
    "AA": "appropriate adult",
    "ARMS": "active risk management system",
    "CSC": "children's social care",
    "FTE": "full-time equivalent",
    "IMPACT": "integrated missing person and child exploitation team",
    "KIRAT": "Kent internet risk assessment tool",
    "LPA": "local policing area",
    "MASH": "multi-agency safeguarding hub",
    "MOSOVO": "management of sexual offenders and violent offenders",
    "POLIT": "police online investigation team",
    "PPN": "police protection notice",
    "RHI": "return home interview",
    "RSO": "registered sex offender",
    "SPC": "statistical process control",
    "THRIVE": "threat, harm, risk, investigation, vulnerability and engagement",
    "ViSOR": "violent and sexual offender register",
}
# Whole words only, and plurals ("RSOs") too; longest first so no term hides inside another.
_TERMS = re.compile(r"\b(" + "|".join(sorted(map(re.escape, GLOSSARY), key=len, reverse=True)) + r")(s?)\b")


class FirstUse:
    """Remembers which abbreviations a page has spelt out already (one per rendered page)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    @classmethod
    def tooltips_only(cls) -> FirstUse:
        """For text that may be folded away (never the first use a reader meets): tooltips, no long form."""
        quiet = cls()
        quiet.seen.update(GLOSSARY)
        return quiet

    def parts(self, words: str) -> list[dict]:
        """``words`` cut into parts: ``{"text"}``, or an abbreviation's ``{"text", "title"}`` with its
        long form ``"long"`` on its first use on the page (for renderers outside Dash's components)."""
        out: list[dict] = []
        last = 0
        for match in _TERMS.finditer(words):
            term, plural = match.group(1), match.group(2)
            if match.start() > last:
                out.append({"text": words[last : match.start()]})
            part = {"text": term + plural, "title": GLOSSARY[term]}
            if term not in self.seen:
                self.seen.add(term)
                part["long"] = f" ({GLOSSARY[term]})"
            out.append(part)
            last = match.end()
        if last < len(words):
            out.append({"text": words[last:]})
        return out

    def text(self, words: str) -> list:
        """``words`` with each abbreviation in an ``<abbr>``; its first use on the page in words too."""
        out: list = []
        for part in self.parts(words):
            if "title" not in part:
                out.append(part["text"])
                continue
            out.append(html.Abbr(part["text"], title=part["title"]))
            if "long" in part:
                out.append(html.Span(part["long"], className="abbr-long"))
        return out


def glossary_list() -> html.Dl:
    """Every abbreviation and its long form, for the foot of a page."""
    items = []
    for term, long_form in sorted(GLOSSARY.items(), key=lambda item: item[0].lower()):
        items += [html.Dt(html.Abbr(term, title=long_form)), html.Dd(long_form[:1].upper() + long_form[1:])]
    return html.Dl(items, className="glossary small")
