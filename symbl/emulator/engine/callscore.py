"""Call scores (PROTOCOL.md §4.16) from a conversation's analysis: deterministic heuristics
on engagement, questions and next steps (no HTTP here)."""

from __future__ import annotations

from typing import Any

from .reports import Analysis


def call_score(analysis: Analysis) -> dict[str, Any]:
    """Score a sales call from 0 to 100 on three criteria, with feedback for each."""
    talk = [member["talkTime"]["percentage"] for member in analysis.analytics.get("members", [])]
    balance = 100 - abs(max(talk) - min(talk)) if len(talk) > 1 else 40
    questions = min(100, 40 + 15 * len(analysis.questions))
    next_steps = min(100, 30 + 25 * (len(analysis.action_items) + len(analysis.follow_ups)))
    criteria = [
        _criterion(
            "Communication and Engagement",
            balance,
            "talk time is shared",
            "one side dominates the talk",
        ),
        _criterion(
            "Question Handling",
            questions,
            "questions drive the discovery",
            "few questions were asked",
        ),
        _criterion(
            "Next Steps", next_steps, "clear next steps were agreed", "no next steps were agreed"
        ),
    ]
    score = round(sum(item["score"] for item in criteria) / len(criteria))
    weakest = min(criteria, key=lambda item: item["score"])["name"]
    return {
        "score": score,
        "summary": f"Overall score {score}; the weakest area is {weakest.lower()}.",
        "criteria": criteria,
    }


def _criterion(name: str, score: float, good: str, bad: str) -> dict[str, Any]:
    value = round(max(0.0, min(100.0, score)))
    return {
        "name": name,
        "score": value,
        "summary": f"{name}: {good if value >= 60 else bad}.",
        "feedback": {
            "positive": {
                "summary": good.capitalize() + "." if value >= 60 else "Keep the call focused."
            },
            "negative": {
                "summary": "Nothing major to improve." if value >= 60 else bad.capitalize() + "."
            },
        },
    }
