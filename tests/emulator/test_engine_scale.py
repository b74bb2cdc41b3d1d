"""The insight engine's running counts give what counting from scratch gives.

A live session keeps its topic counts from line to line instead of recounting every message on
every final line; these tests replay generated sessions and compare each step with a count
from scratch.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

from symbl.emulator.engine import insights, language
from symbl.emulator.engine.topics import TopicCounts, excluded_words
from symbl.emulator.media import TranscriptLine
from symbl.emulator.stores.conversations import ConversationStore
from symbl.emulator.stores.live import LiveAnalyser

START = datetime(2021, 6, 3, 10, 0, tzinfo=timezone.utc)
PHRASES = [
    "pricing plan", "contract", "onboarding", "enterprise plan", "security review", "budget",
    "roadmap", "renewal", "invoice", "sales team", "support tickets", "dashboard", "license",
    "integration", "migration", "training session", "discount", "launch date", "data export",
]  # fmt: skip
SENTENCES = [
    "Can you send me the {a} by Friday?",
    "I will email Priya about the {a} and the {b}.",
    "What do you think about the {a}?",
    "The {a} is great, but the {b} has problems.",
    "Okay.",
    "Let's review the {a} next week with Dr. Smith.",
]
# Speakers join over time, and the last one is called like the first lines' main topic: once
# they speak, "pilot program" is no topic at all, in earlier lines too.
PEOPLE = [("Ann Lee", "ann@example.com"), ("Bob", ""), ("Priya Patel", ""), ("Pilot Program", "")]


def generated_session(count: int, seed: int) -> list[TranscriptLine]:
    rng = random.Random(seed)
    lines, clock = [], 0.0
    for index in range(count):
        name, user_id = PEOPLE[rng.randrange(min(len(PEOPLE), 1 + index // 12))]
        known = PHRASES[: 3 + index // 5]  # new topics keep coming
        main = "pilot program" if index < 36 and index % 2 else rng.choice(known)
        said = [rng.choice(SENTENCES[:4]).format(a=main, b=rng.choice(known))]
        if rng.random() < 0.4:
            said.append(rng.choice(SENTENCES).format(a=rng.choice(known), b="budget"))
        text = " ".join(said)
        start = max(0.0, clock + rng.choice([0.2, 0.5, -0.3, 3.0]))
        clock = start + 0.3 * len(text.split())
        lines.append(TranscriptLine(text, round(start, 3), round(clock, 3), name, user_id))
    return lines


def test_live_topics_equal_a_count_from_scratch_after_every_line() -> None:
    conversation = ConversationStore().create("app", start_time=START)
    analyser = LiveAnalyser(conversation, insights.Options(), ("question", "action_item"))
    messages: list[insights.JSON] = []
    sent: set[str] = set()
    topic_frames = 0
    for line in generated_session(90, seed=5):
        frames = analyser.finalise(line, line.end)
        messages += [
            {"id": item["id"], "text": item["payload"]["content"]}
            for frame in frames
            if frame["type"] == "message_response"
            for item in frame["messages"]
        ]
        members = [
            insights.Speaker(m.id, m.name, m.user_id, m.email)
            for m in conversation.members.values()
        ]
        from_scratch = insights.topics_for(messages, insights.IdFactory("unused"), members)
        # Ids are seeded by the session, so compare what the frames carry but the id.
        expected = [
            (topic["text"], topic["score"], topic["messageIds"])
            for topic in from_scratch
            if topic["text"] not in sent
        ]
        live = [
            (topic["phrases"], topic["score"], [ref["id"] for ref in topic["messageReferences"]])
            for frame in frames
            if frame["type"] == "topic_response"
            for topic in frame["topics"]
        ]
        assert live == expected
        sent.update(text for text, _, _ in live)
        topic_frames += bool(live)
    assert topic_frames >= 5  # the ranking moved during the session
    assert len(conversation.members) == len(PEOPLE)  # every change of names was replayed


def ranked_from_scratch(texts: list[str], excluded: frozenset[str]) -> list[str]:
    """The documented ranking, computed the plain way: weight = count * (1 + spread)."""
    mentions: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        for phrase in language.noun_phrases(text, excluded):
            mentions.setdefault(phrase, []).append(index)
    span = max(1, len(texts) - 1)

    def key(phrase: str) -> tuple[float, int, str]:
        at = mentions[phrase]
        return (-len(at) * (1 + (at[-1] - at[0]) / span), at[0], phrase)

    return sorted(mentions, key=key)[:10]


def test_running_topic_counts_rank_like_a_count_from_scratch() -> None:
    # Some words come in bursts and others now and then all along, so a word said less often
    # but spread wider can outrank one said more often; few words, so that counts and weights
    # tie and the tie-breaks matter.
    rng = random.Random(11)
    spread = ["alpha", "beta", "gamma", "zeta"]
    bursts = ["delta", "omega", "theta", "kappa", "sigma", "lambda", "epsilon", "iota", "rho"]
    excluded = excluded_words(["Zeta Jones"])
    counts = TopicCounts(excluded)
    texts: list[str] = []
    for index in range(250):
        burst = bursts[index // 28]
        said = [burst] * rng.randint(0, 2) + [rng.choice(spread)] * (rng.random() < 0.3)
        text = " and ".join(f"the {word}" for word in said) or "Okay."
        texts.append(text)
        counts.add(str(index), text)
        assert counts.ranked() == ranked_from_scratch(texts, excluded), f"after message {index}"
    recounted = counts.recounted(excluded_words([]))
    assert recounted.ranked() == ranked_from_scratch(texts, excluded_words([]))
    assert "zeta" in recounted.ranked()
