"""The English rules behind the emulator's insights, one sentence at a time.

Plain text in, plain values out: sentence boundaries, word lemmas, noun phrases, dates resolved
against a given day, amounts, e-mail addresses, names, questions, commitments and sentiment.
:mod:`.insights` turns these into the API's JSON shapes. The rules are small, deterministic and
favour precision over recall: a missed insight is better than an invented one.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


def _words(text: str) -> frozenset[str]:
    return frozenset(_listed(text))


def _listed(text: str) -> list[str]:
    return text.split()


def _inflected(bases: str) -> frozenset[str]:
    """Each verb with its -s, -ed and -ing forms (regular spelling rules, roughly)."""
    forms: set[str] = set()
    for verb in bases.split():
        stem = verb[:-1] if verb.endswith("e") else verb
        forms.update({verb, verb + "s", verb + "es", stem + "ed", stem + "ing"})
        if verb.endswith("y") and verb[-2] not in "aeiou":
            forms.update({verb[:-1] + "ies", verb[:-1] + "ied"})
        if len(verb) <= 4 and verb[-1] not in "aeiouwxy" and verb[-2] in "aeiou":
            forms.update({verb + verb[-1] + "ed", verb + verb[-1] + "ing"})
    return frozenset(forms)


STOPWORDS = _words(
    """a about above after again against all almost along already also although always am among
    an and another any anybody anyone anything anyway are around as at away back be because been
    before being below between both but by can cannot could did do does doing done down during
    each either else enough etc even ever every everybody everyone everything few for from
    further had has have having he her here hers herself him himself his how however i if in into
    is it its itself just least less let lets like many may maybe me might mine more most much
    must my myself neither never no nobody none nor not nothing now of off often on once only
    onto or other others otherwise our ours ourselves out over own perhaps please quite rather
    really same several shall she should since so some somebody someone something sometimes still
    such than that the their theirs them themselves then there these they thing things this those
    though through thus to together too toward towards under unless until up upon us very via was
    we well were what whatever when whenever where whether which while who whoever whole whom
    whose why will with within without would yet you your yours yourself yourselves
    i'm i've i'd i'll you're you've you'd you'll he's he'd he'll she's she'd she'll it's it'd
    it'll we're we've we'd we'll they're they've they'd they'll that's there's here's what's
    who's let's don't doesn't didn't won't wouldn't can't couldn't shouldn't isn't aren't wasn't
    weren't haven't hasn't hadn't gonna yeah yes yep nope okay ok oh um uh hmm hi hello hey bye
    thanks thank sure right alright"""
)

# Verbs that are rarely nouns: never topics, in any form.
_ACTION_ONLY = """send share prepare finish fix follow write create reach circle get look submit
    deliver talk discuss confirm arrange organize organise deploy merge ship provide put make take
    give add remove bring buy pay handle ask tell invite forward upload install complete approve
    try find figure investigate coordinate introduce connect escalate assign summarize summarise
    read compare estimate renew extend reschedule remind sign finalize finalise go come join"""
_OTHER_VERBS = """be know think see want need say seem feel mean let keep use help show hear leave
    like love hope guess believe understand agree wonder happen sound mention appreciate expect
    decide include allow consider continue suggest offer receive remember forget tend become
    is are was were been am has had did does doing done said went gone got gotten made took taken
    gave given saw seen knew known came brought bought paid found kept left felt meant wrote
    written ran heard understood spoke spoken told thought sent"""
# Verbs that are also common nouns ("the call", "a review"): topics unless used as a verb.
_ACTION_NOUNS = """call email review update plan schedule check test order book work demo quote
    invoice text file note record document draft post release change reply contact ping start run
    set move build meet present clean open close cancel loop research study print publish"""

ACTION_VERBS = _words(_ACTION_ONLY) | _words(_ACTION_NOUNS)
"""Base forms of verbs that describe doing something (what an action item asks for)."""

_STATIVE = _words(
    """be know think believe like love feel seem hope mean understand guess agree wonder see hear
    want need remember sound appreciate expect look"""
)
_NOT_A_VERB = _words("not never the a an it that this there all also so to really just")
_PURE_VERBS = _inflected(_ACTION_ONLY + " " + _OTHER_VERBS)

_NUMBER_VALUES = {
    word: value
    for value, word in enumerate(
        _listed(
            """zero one two three four five six seven eight nine ten eleven twelve thirteen
            fourteen fifteen sixteen seventeen eighteen nineteen"""
        )
    )
}
_NUMBER_VALUES.update(
    {
        w: 10 * (i + 2)
        for i, w in enumerate(_listed("twenty thirty forty fifty sixty seventy eighty ninety"))
    }
)
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}

_WEEKDAYS = _listed("monday tuesday wednesday thursday friday saturday sunday")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            "january jan",
            "february feb",
            "march mar",
            "april apr",
            "may",
            "june jun",
            "july jul",
            "august aug",
            "september sept sep",
            "october oct",
            "november nov",
            "december dec",
        ],
        start=1,
    )
    for name in names.split()
}

POSITIVE = _words(
    """good great excellent awesome amazing love happy glad pleased perfect nice wonderful
    fantastic helpful useful easy excited interested impressed appreciate thanks thank best better
    beautiful brilliant cool fine fair favorite success successful win valuable recommend agree
    benefit efficient fast reliable smooth satisfied enjoy enjoyed exciting clear"""
)
NEGATIVE = _words(
    """bad terrible awful horrible hate problem problems issue issues concern concerned worried
    worry difficult hard expensive slow broken bug bugs fail failed failure wrong poor disappointed
    disappointing unhappy annoying frustrated frustrating confusing confused sorry unfortunately
    risk delay delayed late angry upset complaint worse worst useless unclear painful"""
)
_NEGATIONS = _words("not no never don't doesn't didn't isn't aren't wasn't weren't won't can't")
_INTENSIFIERS = _words("very really extremely so super quite too incredibly absolutely totally")

_GENERIC = _words(
    """good great nice fine awesome cool happy glad able ready new old big small little lot lots
    bit kind sort way stuff time times today tomorrow tonight yesterday morning afternoon evening
    night day days week weeks month months year years minute minutes hour hours second seconds
    moment end first third last next previous different important quick sorry per simple
    available possible free cheap high low final full real main whole entire current same
    various certain likely fixed interesting correct true false early huge large long short"""
)
_TOPIC_WORDS_FROM_LEXICON = _words(
    "problem issue concern risk delay bug complaint success benefit failure value"
)
_TITLES = _words("mr mrs ms dr prof")
_NOT_TOPIC = (
    STOPWORDS
    | _PURE_VERBS
    | _GENERIC
    | _words(" ".join(_WEEKDAYS) + " " + " ".join(_MONTHS))
    | frozenset(_NUMBER_VALUES)
    | frozenset(_SCALES)
    | _TITLES
    | ((POSITIVE | NEGATIVE) - _TOPIC_WORDS_FROM_LEXICON)
)
_VERB_CUES = _words(
    "to will would can could should must might may shall i we you they it let's please"
)
_ADVERB_WORDS = _words("also just then still maybe probably definitely certainly first really")

COMMON_FIRST_NAMES = _words(
    """James John Robert Michael David Richard Joseph Thomas Charles Christopher Daniel Matthew
    Anthony Steven Paul Andrew Joshua Kevin Brian George Edward Ronald Timothy Jason Jeffrey Ryan
    Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory
    Alexander Patrick Jack Dennis Tyler Aaron Adam Nathan Henry Peter Kyle Mike Tom Dave Steve
    Chris Alex Sam Ben Dan Matt Nick Tony Mary Patricia Jennifer Linda Elizabeth Barbara Susan
    Jessica Sarah Karen Lisa Nancy Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol
    Amanda Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia Amy Angela Anna Brenda Emma
    Olivia Sophia Isabella Mia Charlotte Amelia Evelyn Abigail Ella Natalia Maria Sofia Priya Raj
    Rahul Vikram Anita Arjun Ahmed Mohammed Fatima Omar Lucy Surbhi Roger Derek Natasha Ivan Olga
    Carlos Juan Jose Luis Diego Lucas Pedro Ana Elena Julia Nina Kate Jane Rachel Hannah Claire
    Sophie Alice Megan"""
)
"""Capitalised given names recognised as people even when they are not members. Names that
are also everyday words (Will, Mark, May, Grace...) are left out on purpose."""

_ABBREVIATIONS = _words("mr. mrs. ms. dr. prof. sr. jr. st. vs. e.g. i.e. inc. ltd. co. corp.")
_BOUNDARY = re.compile(r"[.?!]+[\"')\]]*(?=\s|$)")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)*(?:-[A-Za-z0-9]+)*|[^\sA-Za-z0-9]")
_CONTENT = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_LEMMA_EXCEPTIONS = _words("sales news series species means goods thanks headquarters")
_TOPIC_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


def fold(text: str) -> str:
    """Lower-case ``text`` and straighten apostrophes, keeping every character's offset."""
    straight = text.replace("\u2019", "'")
    if straight.isascii():  # the common case, where lower-casing never changes a length
        return straight.lower()
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in straight)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences at ``.``, ``?`` and ``!``.

    A period after a title or abbreviation ("Dr.", "e.g."), inside a number ("$69.99") or inside
    an address ("jo@example.com") does not end a sentence.

    Example:
        >>> split_sentences("Dr. Smith paid $69.99. Did it work? Yes!")
        ['Dr. Smith paid $69.99.', 'Did it work?', 'Yes!']
    """
    sentences: list[str] = []
    start = 0
    folded = fold(text)
    for boundary in _BOUNDARY.finditer(folded):
        if _abbreviation(folded, boundary):
            continue
        sentences.append(text[start : boundary.end()].strip())
        start = boundary.end()
    sentences.append(text[start:].strip())
    return [sentence for sentence in sentences if sentence]


def lemma(word: str) -> str:
    """The singular, lower-case form of a word ("companies" -> "company", "sales" stays)."""
    word = word.lower()
    if len(word) <= 3 or word in _LEMMA_EXCEPTIONS or word.endswith(("ss", "us", "is", "ics")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def noun_phrases(sentence: str, exclude: Iterable[str] = ()) -> list[str]:
    """Candidate topics: runs of up to three content words, the last one made singular.

    A word right after "to", a modal or a subject pronoun is read as a verb and breaks the run,
    so "we need to review the contract" gives ``["contract"]`` while "the review" keeps "review".

    Args:
        sentence: one sentence.
        exclude: extra lower-case words that are never topics (e.g. the members' names).
    """
    excluded = exclude if isinstance(exclude, frozenset) else frozenset(exclude)
    phrases: list[str] = []
    run: list[str] = []
    previous = ""
    plain = sentence.replace("\u2019", "'")
    if "@" in plain or "http" in plain or "www." in plain:  # what every address holds
        plain = _ADDRESS.sub(" , ", plain)
    for index, token in enumerate(_TOKEN.findall(plain)):
        word = token.lower().removesuffix("'s")
        cued = previous in _VERB_CUES or previous.endswith("'ll")
        as_verb = cued or (index == 0 and word in ACTION_VERBS) or previous in _TITLES
        if (
            _TOPIC_WORD.fullmatch(word)
            and len(word) >= 3
            and not word.endswith("ly")
            and word not in _NOT_TOPIC
            and word not in excluded
            and not as_verb
        ):
            if run and lemma(run[-1]) != run[-1]:  # a plural ends a noun phrase
                phrases.append(_phrase(run))
                run = []
            run.append(word)
        elif run:
            phrases.append(_phrase(run))
            run = []
        adverb = cued and (word in _ADVERB_WORDS or word.endswith("ly"))
        if not adverb and not (word == "." and previous in _TITLES):
            previous = word
    if run:
        phrases.append(_phrase(run))
    return phrases


def _phrase(run: list[str]) -> str:
    words = run[-3:]
    return " ".join([*words[:-1], lemma(words[-1])])


def fuzzy_contains(sentence: str, phrase: str) -> bool:
    """Whether every content word of ``phrase`` occurs in ``sentence``, in order (as lemmas)."""
    wanted = _content_lemmas(phrase)
    if not wanted:
        return False
    remaining = iter(_lemmas(sentence))
    return all(word in remaining for word in wanted)


# A sentence is tested against every phrase of every tracker in turn, and the phrases are the
# same for the whole conversation: both sides are worth keeping for a while.
@functools.lru_cache(maxsize=1024)
def _content_lemmas(phrase: str) -> tuple[str, ...]:
    return tuple(lemma(w) for w in _CONTENT.findall(fold(phrase)) if w not in STOPWORDS)


@functools.lru_cache(maxsize=16)
def _lemmas(sentence: str) -> tuple[str, ...]:
    return tuple(lemma(w) for w in _CONTENT.findall(fold(sentence)))


def polarity(sentence: str) -> float:
    """Sentiment in [-1, 1] from a small lexicon.

    A negation up to three words before a sentiment word flips it; an intensifier right before
    it weighs it 1.5 times. The sum ``s`` is squashed as ``s / sqrt(s*s + 4)``.
    """
    words = _CONTENT.findall(fold(sentence))
    total = 0.0
    for index, word in enumerate(words):
        weight = 1.0 if word in POSITIVE else -1.0 if word in NEGATIVE else 0.0
        if not weight:
            continue
        if index and words[index - 1] in _INTENSIFIERS:
            weight *= 1.5
        if any(w in _NEGATIONS or w.endswith("n't") for w in words[max(0, index - 3) : index]):
            weight = -weight
        total += weight
    return round(total / math.sqrt(total * total + 4), 3)


def suggested_sentiment(score: float) -> str:
    """``"positive"`` above 0.3, ``"negative"`` below -0.3, else ``"neutral"``."""
    return "positive" if score > 0.3 else "negative" if score < -0.3 else "neutral"


@dataclass(frozen=True)
class Mention:
    """Something recognised in a sentence.

    Attributes:
        type: ``date``, ``number``, ``money`` or ``email``.
        text: the words as written ("Friday").
        offset: character offset of ``text`` in the sentence.
        value: normalised value: ``YYYY-MM-DD``, digits, ``"69.99 USD"`` or the address.
        phrase: dates only: the text with the preposition before it ("by Friday").
        lead: dates only: the offset of ``phrase``.
    """

    type: str
    text: str
    offset: int
    value: str
    phrase: str = ""
    lead: int = -1

    @property
    def is_deadline(self) -> bool:
        """Whether this date is a deadline ("by Friday", "before June 5")."""
        return self.phrase.split()[0].lower() in _DEADLINE_WORDS if self.phrase else False


_DEADLINE_WORDS = _words("by before until till due")
_NUMBER_WORD = "|".join(sorted([*_NUMBER_VALUES, *_SCALES], key=len, reverse=True))
_NUMBER_WORDS = rf"(?:{_NUMBER_WORD})(?:[\s-]+(?:{_NUMBER_WORD}))*"
_DIGITS = r"\d+(?:,\d{3})*(?:\.\d+)?"
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    r"\b(?:(?P<prep>by|before|until|till|due|on)\s+(?:the\s+)?)?(?P<core>"
    r"(?P<iso>\d{4}-\d{2}-\d{2})"
    r"|(?P<relative>today|tonight|tomorrow|yesterday|eod|end\s+of\s+(?:the\s+)?day"
    r"|end\s+of\s+(?:the\s+|this\s+)?week|this\s+week|next\s+week|next\s+month)"
    r"|in\s+(?P<count>\d+|a|an|"
    + "|".join(list(_NUMBER_VALUES)[1:11])
    + r")\s+(?P<unit>days?|weeks?)"
    r"|(?:(?:next|this|coming)\s+)?(?P<weekday>" + "|".join(_WEEKDAYS) + r")"
    rf"|(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?"
    rf"|(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month2>{_MONTH})(?:,?\s+(?P<year2>\d{{4}}))?"
    r")\b",
    re.IGNORECASE,
)
_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP", "dollar": "USD", "buck": "USD", "usd": "USD"}
_CURRENCY.update({"euro": "EUR", "eur": "EUR", "pound": "GBP", "gbp": "GBP"})
_MONEY = re.compile(
    rf"(?P<symbol>[$€£])\s?(?P<amount>{_DIGITS})(?:\s?(?P<scale>k|m|thousand|million|billion)\b)?"
    rf"|\b(?P<amount2>{_DIGITS}|{_NUMBER_WORDS})\s+(?:(?P<scale2>thousand|million|billion)\s+)?"
    r"(?P<word>dollars?|bucks?|usd|euros?|eur|pounds?|gbp)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    rf"(?<![\w$€£.,:/-]){_DIGITS}(?![\w:/-]|[.,]\d)|\b{_NUMBER_WORDS}\b", re.IGNORECASE
)
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
"""An e-mail address."""
_ADDRESS = re.compile(rf"{EMAIL.pattern}|\bhttps?://\S+|\bwww\.\S+")


# Most sentences hold no date, amount or number. Before running those long patterns, a look for
# what each of their matches must contain (lower-cased) saves most of the time. Only for ASCII
# text: ignoring case, a pattern's "s" also matches "\u017f", and "k" the Kelvin sign.
def _clues(*clues: str) -> re.Pattern[str]:
    return re.compile("[0-9]|" + "|".join(map(re.escape, clues)))


_DATE_CLUES = _clues("day", "tonight", "tomorrow", "eod", "end", "week", "month")
_MONEY_CLUES = _clues("$", "dollar", "buck", "usd", "eur", "pound", "gbp")
_NUMBER_CLUES = _clues(*_NUMBER_VALUES, *_SCALES)


def _may_hold(text: str, clues: re.Pattern[str]) -> bool:
    """False when no match of a pattern that needs a digit or one of ``clues`` can be in
    ``text``."""
    return not text.isascii() or clues.search(text.lower()) is not None


def find_dates(sentence: str, today: date) -> list[Mention]:
    """Dates in a sentence, resolved relative to ``today``.

    Weekdays mean their next occurrence after today ("next Monday" too), "end of the week" the
    coming Friday, "next week" next Monday, and a month and day without a year the next such
    day on or after today.
    """
    return list(_dates(sentence, today))


@functools.lru_cache(maxsize=64)  # an action item's sentence is searched for its due date too
def _dates(sentence: str, today: date) -> tuple[Mention, ...]:
    found = []
    for match in _DATE.finditer(sentence) if _may_hold(sentence, _DATE_CLUES) else ():
        day = _resolve(match, today)
        if day is not None:
            core = match.group("core")
            found.append(
                Mention(
                    "date", core, match.start("core"), day.isoformat(), match.group(), match.start()
                )
            )
    return tuple(found)


def _resolve(match: re.Match[str], today: date) -> date | None:
    groups = {name: (value or "").lower() for name, value in match.groupdict().items()}
    relative = " ".join(groups["relative"].split()).replace("the ", "").replace("this ", "")
    try:
        if groups["iso"]:
            return date.fromisoformat(groups["iso"])
        if relative:
            if relative in ("today", "tonight", "eod", "end of day"):
                return today
            if relative in ("tomorrow", "yesterday"):
                return today + timedelta(days=1 if relative == "tomorrow" else -1)
            if relative in ("end of week", "week"):
                return today + timedelta(days=(4 - today.weekday()) % 7)
            if relative == "next week":
                return today + timedelta(days=7 - today.weekday())
            return (today.replace(day=28) + timedelta(days=4)).replace(day=1)  # next month
        if groups["unit"]:
            count = groups["count"]
            number = int(count) if count.isdigit() else _NUMBER_VALUES.get(count, 1)
            return today + timedelta(days=number * (7 if groups["unit"].startswith("week") else 1))
        if groups["weekday"]:
            ahead = (_WEEKDAYS.index(groups["weekday"]) - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
        month = _MONTHS[groups["month"] or groups["month2"]]
        day = int(groups["day"] or groups["day2"])
        year = groups["year"] or groups["year2"]
        if year:
            return date(int(year), month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:  # "February 30", "2021-13-01"
        return None


def find_money(sentence: str) -> list[Mention]:
    """Amounts of money. The value is ``"<amount> <ISO 4217 code>"``: ``"$69.99"`` gives
    ``"69.99 USD"``, ``"twenty dollars"`` gives ``"20 USD"``, ``"€5k"`` gives ``"5000 EUR"``."""
    found = []
    for match in _MONEY.finditer(sentence) if _may_hold(sentence, _MONEY_CLUES) else ():
        unit = (match.group("symbol") or match.group("word")).lower()
        currency = _CURRENCY[unit.rstrip("s") if len(unit) > 3 else unit]
        amount = _amount(
            match.group("amount") or match.group("amount2"),
            (match.group("scale") or match.group("scale2") or "").lower(),
        )
        found.append(Mention("money", match.group(), match.start(), f"{amount} {currency}"))
    return found


def find_numbers(sentence: str) -> list[Mention]:
    """Numbers in digits or words ("3", "1,200", "two hundred"); the value is in digits."""
    if not _may_hold(sentence, _NUMBER_CLUES):
        return []
    return [
        Mention("number", match.group(), match.start(), _amount(match.group(), ""))
        for match in _NUMBER.finditer(sentence)
    ]


def find_emails(sentence: str) -> list[Mention]:
    """E-mail addresses."""
    if "@" not in sentence:
        return []
    return [Mention("email", m.group(), m.start(), m.group()) for m in EMAIL.finditer(sentence)]


def find_names(sentence: str, names: Iterable[str]) -> list[tuple[str, int]]:
    """Where names occur, as ``(name, offset)`` in order, longest names first on overlaps.

    Matching is case-sensitive so that a member called "Will" is not found in "I will".
    """
    found: list[tuple[str, int]] = []
    for name in _name_index(tuple(names)).present(sentence):
        for match in _name_pattern(name).finditer(sentence):
            if not any(o < match.end() and match.start() < o + len(n) for n, o in found):
                found.append((name, match.start()))
    return sorted(found, key=lambda item: item[1])


_WORD_RUN = re.compile(r"\w+")


class _NameIndex:
    """A list of names, longest first, that tells cheaply which of them a sentence holds.

    A name made of word characters only occurs as a whole word exactly when it is one of the
    sentence's runs of word characters, so one set intersection finds those; any other name
    ("Mike Jones") has to occur as a substring first.
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        ordered = sorted({n for n in names if n.strip()}, key=len, reverse=True)
        self._rank = {name: rank for rank, name in enumerate(ordered)}
        self._words = frozenset(n for n in ordered if _WORD_RUN.fullmatch(n))
        self._others = [n for n in ordered if n not in self._words]

    def present(self, sentence: str) -> list[str]:
        """The names that may occur in ``sentence`` as whole words, longest first."""
        words = self._words.intersection(_WORD_RUN.findall(sentence))
        found = words.union(name for name in self._others if name in sentence)
        return sorted(found, key=self._rank.__getitem__)


@functools.lru_cache(maxsize=64)
def _name_index(names: tuple[str, ...]) -> _NameIndex:
    return _NameIndex(names)


@functools.lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")


_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?")


def find_titled_names(sentence: str) -> list[tuple[str, int]]:
    """People written with a title ("Dr. Smith", "Ms Jane Doe"), as ``(text, offset)``."""
    return [(m.group(), m.start()) for m in _TITLED.finditer(sentence)]


def _amount(text: str, scale: str) -> str:
    words = re.split(r"[\s-]+", text.lower())
    if words[0] in _NUMBER_VALUES or words[0] in _SCALES:
        total = current = 0
        for word in words:
            if word == "hundred":
                current = max(current, 1) * 100
            elif word in _SCALES:
                total, current = total + max(current, 1) * _SCALES[word], 0
            else:
                current += _NUMBER_VALUES[word]
        text = str(total + current)
    plain = text.replace(",", "")
    if not scale:
        return plain
    value = Decimal(plain) * {"k": 1000, "m": 1_000_000}.get(scale, _SCALES.get(scale, 1))
    return str(int(value)) if value == value.to_integral_value() else format(value, "f")


_FILLER = r"(?:so|and|okay|ok|alright|well|also|then|oh|hey|yeah|yes|great|sure|now|actually|but)"
_OPENING = re.compile(rf"^(?:[a-z']+,\s+|{_FILLER}\s+)*")
_WH = _words("what how when why who where which whose whom")
_AUX = _words(
    """can could would will should do does did is are was were have has may shall am isn't
    aren't don't doesn't didn't won't wouldn't can't couldn't shouldn't haven't hasn't"""
)
_SUBJECTS = _words(
    "you i we they he she it this that there the anyone anybody someone everyone your our my"
)


def question_score(sentence: str) -> float:
    """How surely a sentence asks something, in [0, 1]; 0 when it does not.

    A "?" after an interrogative or auxiliary opening ("What...", "Can you...") scores 0.98, a
    "?" after any other opening 0.9 ("It has speakers, right?"), and question word order without
    a "?" 0.75 ("What is the price") or 0.7 ("Is that right"). Fillers ("so", "okay") and a
    vocative ("Mike, ...") before the opening are skipped.
    """
    text = _OPENING.sub("", fold(sentence).strip())
    words = _CONTENT.findall(text)
    if len(words) < 2:
        return 0.0
    asks = text.rstrip("\"') ").endswith("?")
    first, second = words[0], words[1]
    if first.split("'")[0] in _WH:
        ordered = "'" in first or second in _AUX
        return 0.98 if asks else 0.75 if ordered else 0.0
    if first in _AUX:
        ordered = second in _SUBJECTS
        return 0.98 if asks else 0.7 if ordered else 0.0
    return 0.9 if asks else 0.0


@dataclass(frozen=True)
class Commitment:
    """A commitment or request found in a sentence.

    Attributes:
        subject: who acts as written: ``i``, ``we``, ``you``, ``he``/``she``/``they``, a name
            (lower case), or ``""`` for an imperative ("Send me the deck").
        phrase: the action ("send the proposal by Friday").
        offset: where ``phrase`` starts in the sentence.
        definitive: firm ("will", "need to", "let's") rather than tentative ("could", "maybe").
        score: confidence in [0, 1].
    """

    subject: str
    phrase: str
    offset: int
    definitive: bool
    score: float


_FIRM = (
    *("'ll", "'m going to", "'re going to", "'s going to", "'m gonna", "'re gonna", "will"),
    *("shall", "must", "am going to", "are going to", "is going to", "need to", "needs to"),
    *("have to", "has to"),
)
_TENTATIVE = ("should", "can", "could", "might", "may")
_OBJECTS = _words(
    "me us him her them it you the a an this that these those our my your their his some"
)
_ADVERBS = rf"(?:{'|'.join(sorted(_ADVERB_WORDS))}|\w+ly)"
_TAG_QUESTION = re.compile(r",\s*(?:okay|ok|right|alright|yeah|correct)\s*\?\W*$")
_HEDGES = re.compile(r"\b(?:maybe|perhaps|possibly|probably|might)\b")
_CLAUSE_END = re.compile(r"[,;:!?]|\.(?=\s|$)|\s(?:because|so that|but)\s")
_FOLLOW_UP = re.compile(
    r"\bfollow[- ]?up\b|\be-?mail\b|\bcall\b|\bget back to\b|\breach out\b|\bcircle back\b"
    r"|\btouch base\b|\b(?:schedule|set up|book|arrange)\b.*\b(?:meeting|call|appointment|demo)\b"
)


@functools.lru_cache(maxsize=64)
def _patterns(names: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    named = "".join(f"|{re.escape(name)}" for name in names)
    modals = "|".join(
        ("" if m.startswith("'") else r"\s+") + r"\s+".join(map(re.escape, m.split()))
        for m in _FIRM + _TENTATIVE
    )
    opening = rf"^(?:{_FILLER},?\s+)*(?:(?:{named[1:] or '(?!)'}),?\s+)?(?:{_FILLER},?\s+)*"
    statement = re.compile(
        rf"(?<![\w'])(?P<subject>i|we|you|they|he|she{named})(?P<modal>{modals})"
        rf"(?:\s+{_ADVERBS})?\s+(?P<verb>[a-z]+)\b"
    )
    request = re.compile(
        rf"{opening}(?P<modal>can|could|would|will)\s+you\s+(?:please\s+)?(?:{_ADVERBS}\s+)?"
        r"(?P<verb>[a-z]+)\b"
    )
    imperative = re.compile(
        rf"{opening}(?P<lead>please\s+|let's\s+|let\s+us\s+|let\s+me\s+"
        r"|make\s+sure\s+(?:to\s+|that\s+)?|don't\s+forget\s+to\s+)?(?P<verb>[a-z]+)\b"
        r"(?:\s+(?P<object>[a-z]+))?"
    )
    please = re.compile(r"\b(?P<lead>please\s+|make\s+sure\s+(?:to\s+)?)(?P<verb>[a-z]+)\b")
    return statement, request, imperative, please


def find_commitment(sentence: str, names: Iterable[str] = ()) -> Commitment | None:
    """The first commitment or request in a sentence, or None.

    Recognised, in this order: "can/will/could/would you <action verb>" requests;
    "<subject> will/'ll/am going to/need to/have to/must <verb>" (firm) and "<subject>
    should/can/could/might/may <action verb>" (tentative) statements; "let's/let me/please/make
    sure/don't forget to ..."; and imperatives such as "Send me the deck" (an action verb then
    a pronoun or determiner). Questions count only when they are requests (a tag such as
    ", okay?" does not make a question). A hedge ("maybe",
    "probably") makes any of them tentative.

    Args:
        sentence: one sentence.
        names: the members' first names, so that "Mike will send it" has subject ``mike``.
    """
    text = fold(sentence)
    asks = not _TAG_QUESTION.search(text) and text.rstrip("\"') ").endswith("?")
    statement, request, imperative, please = _patterns(
        tuple(sorted({fold(n) for n in names if n}, key=len, reverse=True))
    )
    found = _request(request.match(text))
    if found is None and not asks:
        found = next(filter(None, map(_statement, statement.finditer(text))), None)
    if found is None and not asks:
        found = _imperative(imperative.match(text)) or _imperative(please.search(text))
    if found is None:
        return None
    subject, match, firm, score = found
    start = match.start("verb")
    ends = (m.start() for m in _CLAUSE_END.finditer(text, start) if not _abbreviation(text, m))
    end = next(ends, len(text))
    if _HEDGES.search(text):
        firm, score = False, score - 0.1
    return Commitment(subject, sentence[start:end].strip(), start, firm, round(score, 3))


_Found = tuple[str, "re.Match[str]", bool, float]


def _request(match: re.Match[str] | None) -> _Found | None:
    if match is None or match.group("verb") not in ACTION_VERBS:
        return None
    firm = match.group("modal") in ("can", "will")
    return "you", match, firm, 0.85 if firm else 0.8


def _statement(match: re.Match[str]) -> _Found | None:
    verb, subject = match.group("verb"), match.group("subject")
    firm = " ".join(match.group("modal").split()) not in _TENTATIVE
    if verb not in ACTION_VERBS and (not firm or verb in _STATIVE | _NOT_A_VERB):
        return None
    score = 0.65 if not firm else 0.75 if subject in ("he", "she", "they") else 0.9
    return subject, match, firm, score - (0.02 if subject == "you" else 0.0)


def _imperative(match: re.Match[str] | None) -> _Found | None:
    if match is None:
        return None
    lead = " ".join((match.group("lead") or "").split())
    verb = match.group("verb")
    if not lead:  # "Review the contract", not "Review went well"
        acceptable = verb in ACTION_VERBS and match.group("object") in _OBJECTS
    elif lead == "please":
        acceptable = verb in ACTION_VERBS
    else:
        acceptable = lead.startswith("make sure") or verb not in _STATIVE | _NOT_A_VERB
    if not acceptable:
        return None
    subject = {"let's": "we", "let us": "we", "let me": "i"}.get(lead, "")
    return subject, match, True, 0.85 if lead else 0.8


def _abbreviation(text: str, boundary: re.Match[str]) -> bool:
    """Whether a "." ends an abbreviation: the word it ends, looked up without splitting the
    whole text before it (that made long texts quadratic)."""
    if boundary.group() != ".":
        return False
    end = start = boundary.end()
    while start and not text[start - 1].isspace():
        start -= 1
    return text[start:end] in _ABBREVIATIONS


def is_follow_up(sentence: str) -> bool:
    """Whether an action is a follow-up: e-mail, call, meeting, "get back to", "reach out"..."""
    return bool(_FOLLOW_UP.search(fold(sentence)))
