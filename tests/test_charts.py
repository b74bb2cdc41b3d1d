"""Pictures of a conversation: SVG charts for Jupyter and bars for the terminal, drawn from
known analytics and messages and read back (the SVG parsed as XML)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from symbl._cli.terminal import CHART_WIDTH, bar_chart, supports_unicode
from symbl._models.charts import talk_time_svg, timeline_svg
from symbl._models.objects import to_symbl

SVG = "{http://www.w3.org/2000/svg}"
ODD_NAME = '<b>&"\x01'
ANALYTICS = {
    "metrics": [{"type": "total_talk_time", "percent": 80.0, "seconds": 52.5}],
    "members": [
        {"name": "Ann", "talkTime": {"percentage": 57.143, "seconds": 30.0}},
        {"name": "Bob", "talkTime": {"percentage": 28.571, "seconds": 15.0}},
        {"name": ODD_NAME, "talkTime": {"percentage": 14.286, "seconds": 7.5}},
        {"name": "Quiet", "pace": {"wpm": 0}},
    ],
}


def message(speaker: str, start: float, end: float, score: float | None = None) -> dict:
    made = {"text": f"{speaker} at {start}", "from": {"name": speaker}}
    made.update(timeOffset=start, duration=end - start)
    if score is not None:
        made["sentiment"] = {"polarity": {"score": score}}
    return made


MESSAGES = [
    message("Ann", 0, 10, -1.0),
    message("Bob", 10, 15, 0.0),
    message(ODD_NAME, 15, 20, 1.0),
    message("Ann", 20, 40, 0.5),
]


def parsed(svg: str | None) -> ET.Element:
    assert svg is not None
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def shapes(root: ET.Element, kind: str) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == kind]


def speakers(root: ET.Element) -> list[str]:
    """The names drawn beside the bars (each label holds its full name as a tooltip)."""
    labels = [text for text in root.iter(f"{SVG}text") if text.get("class") == "speaker"]
    for label in labels:
        assert label.findtext(f"{SVG}title") == label[0].tail
    return [label[0].tail or "" for label in labels]


def test_talk_time_has_a_bar_per_speaker_proportional_to_the_seconds() -> None:
    root = parsed(talk_time_svg(ANALYTICS))
    bars = shapes(root, "bar")
    assert len(bars) == 4
    widths = [float(bar.get("width") or "nan") for bar in bars]
    assert widths[0] > 0
    for width, seconds in zip(widths, (30.0, 15.0, 7.5, 0.0)):
        assert width == pytest.approx(widths[0] * seconds / 30.0, abs=0.01)
    assert [bar.findtext(f"{SVG}title") for bar in bars] == [
        "Ann: 30.0 s (57%)",
        "Bob: 15.0 s (29%)",
        '<b>&": 7.5 s (14%)',
        "Quiet: 0.0 s",
    ]
    assert speakers(root) == ["Ann", "Bob", '<b>&"', "Quiet"]


def test_talk_time_without_members_draws_nothing() -> None:
    assert talk_time_svg({"metrics": [], "members": []}) is None
    assert talk_time_svg({}) is None


def test_timeline_has_a_lane_per_speaker_and_a_bar_per_message() -> None:
    root = parsed(timeline_svg(MESSAGES))
    bars = shapes(root, "message")
    assert len(bars) == len(MESSAGES)
    lanes = [bar.get("y") for bar in bars]
    assert lanes[0] == lanes[3] and len(set(lanes)) == 3
    starts = [float(bar.get("x") or "nan") for bar in bars]
    widths = [float(bar.get("width") or "nan") for bar in bars]
    scale = widths[0] / 10
    for bar_start, bar_width, (start, end) in zip(
        starts, widths, [(0, 10), (10, 15), (15, 20), (20, 40)]
    ):
        assert bar_start - starts[0] == pytest.approx(start * scale, abs=0.01)
        assert bar_width == pytest.approx((end - start) * scale, abs=0.01)
    assert speakers(root) == ["Ann", "Bob", '<b>&"']
    assert bars[2].findtext(f"{SVG}title") == '<b>&" 00:15 to 00:20: <b>&" at 15'


def test_timeline_colours_follow_sentiment_when_there_is_some() -> None:
    by_sentiment = shapes(parsed(timeline_svg(MESSAGES)), "message")
    negative, neutral, positive, _ = (bar.get("fill") for bar in by_sentiment)
    assert (negative, neutral, positive) == ("#d62728", "#9e9e9e", "#2ca02c")
    plain = [{**item, "sentiment": None} for item in MESSAGES]
    by_speaker = [bar.get("fill") for bar in shapes(parsed(timeline_svg(plain)), "message")]
    assert by_speaker[0] == by_speaker[3] and len(set(by_speaker)) == 3


def test_jupyter_shows_the_charts_before_the_tables() -> None:
    analytics = to_symbl(ANALYTICS)._repr_html_() or ""
    assert analytics.startswith("<div><svg") and "<table>" in analytics
    assert len(shapes(parsed(svg_in(analytics)), "bar")) == 4
    assert len(shapes(parsed(svg_in(to_symbl(ANALYTICS["members"])._repr_html_())), "bar")) == 4
    for value in (to_symbl({"messages": MESSAGES}), to_symbl(MESSAGES)):
        markup = value._repr_html_() or ""
        assert markup.index("<svg") < markup.index("<table>")
        assert len(shapes(parsed(svg_in(markup)), "message")) == len(MESSAGES)
    assert "<svg" not in (to_symbl({"questions": [{"type": "question"}]})._repr_html_() or "")


def svg_in(markup: str | None) -> str:
    found = re.search(r"<svg.*?</svg>", markup or "", re.DOTALL)
    assert found is not None
    return found.group(0)


LONG_NAME = "Speaker with a name far longer than any column should hold"


@pytest.mark.parametrize("unicode", [True, False])
def test_terminal_bars_fit_80_columns_and_are_proportional(unicode: bool) -> None:
    bars = [(LONG_NAME, 30.0, "30.0 s  57%"), ("Bob", 15.0, "15.0 s  29%"), ("Z", 0.0, "0.0 s")]
    lines = bar_chart(bars, width=200, unicode=unicode).splitlines()
    assert len(lines) == 3
    assert max(map(len, lines)) == CHART_WIDTH
    lengths = [drawn_length(line) for line in lines]
    assert lengths[1] == pytest.approx(lengths[0] / 2, abs=0.5) and lengths[2] == 0
    assert lines[0].startswith("Speaker with a name…" if unicode else "Speaker with a na...")
    assert lines[1].endswith("15.0 s  29%")
    assert unicode or all(line.isascii() for line in lines)


def drawn_length(line: str) -> float:
    """The length of a line's bar in columns: "#" and full blocks count 1, eighths 1/8 each."""
    eighths = " ▏▎▍▌▋▊▉"
    return sum(
        1.0 if char in "#█" else eighths.index(char) / 8 for char in line if char in "#█▏▎▍▌▋▊▉"
    )


def test_terminal_bars_in_block_characters_only_where_they_can_be_shown() -> None:
    class Stream:
        def __init__(self, encoding: str) -> None:
            self.encoding = encoding

    assert supports_unicode(Stream("utf-8"))  # type: ignore[arg-type]
    assert not supports_unicode(Stream("ascii"))  # type: ignore[arg-type]
    assert not supports_unicode(Stream("no-such-codec"))  # type: ignore[arg-type]
