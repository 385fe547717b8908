"""The bars of figures 5.4–5.9 (reporting.charts.shares), measured in the drawn SVG: each
part is as wide as its share, several answers each start at zero, a withheld row gets no bar,
and the caption names only what was drawn."""

import re

import pytest
from django.utils import translation

from reporting.charts import shares, svg

# A bar in the axes: its left and right x and its fill (legend keys have no clip-path).
BAR_PATH = re.compile(
    r'<path d="M ([\d.]+) [\d.]+ \nL ([\d.]+) [^"]*" clip-path="[^"]+" fill="(#[0-9a-f]{6})"'
)
COLUMNS = [
    {"label": "Ja", "neutral": False},
    {"label": "Nee", "neutral": False},
    {"label": "Weet niet", "neutral": True},
]


@pytest.fixture(autouse=True)
def dutch():
    with translation.override("nl"):
        yield


def figure(rows, *, several=False, columns=COLUMNS):
    return {"number": "5.4", "title": "Voorzieningen", "several": several, "k": 5,
            "columns": columns, "rows": rows}  # fmt: skip


def draw(data) -> tuple[bytes, str]:
    drawn, sentences = shares.answer_shares(data)
    return drawn, " ".join(sentences)


def bars(drawn: bytes) -> list[tuple[float, float, str]]:
    """(left, right, colour) of every bar drawn in the axes."""
    return [(float(a), float(b), c) for a, b, c in BAR_PATH.findall(drawn.decode())]


def test_a_bar_of_one_answer_per_row_is_split_by_the_shares():
    drawn, _caption = draw(
        figure([{"label": "Vertrouwenspersoon", "n": 10, "shares": [0.6, 0.3, 0.1]}])
    )
    found = bars(drawn)
    assert [c for _l, _r, c in found] == [svg.BLUE.lower(), svg.SKY.lower(), svg.GREY.lower()]
    # The parts touch and together span the axis: widths 6:3:1 of the whole.
    assert found[0][1] == pytest.approx(found[1][0]) and found[1][1] == pytest.approx(found[2][0])
    whole = found[2][1] - found[0][0]
    widths = [(right - left) / whole for left, right, _c in found]
    assert widths == pytest.approx([0.6, 0.3, 0.1], abs=1e-4)
    # 60% and 30% are written in their part (Dutch notation), 10% is too small for it.
    text = drawn.decode()
    assert ">60%<" in text and ">30%<" in text and ">10%<" not in text


def test_several_answers_get_a_bar_each_from_zero():
    drawn, caption = draw(
        figure([{"label": "Jaarlijks", "n": 10, "shares": [0.9, 0.45, 0.05]}], several=True)
    )
    found = bars(drawn)
    assert len(found) == 3
    assert len({round(left, 3) for left, _r, _c in found}) == 1  # all start at 0%
    widths = [right - left for left, right, _c in found]
    assert widths[1] / widths[0] == pytest.approx(0.5, abs=1e-4)
    assert widths[2] / widths[0] == pytest.approx(0.05 / 0.9, abs=1e-4)
    assert "de balken tellen op tot meer dan 100%." in caption
    assert "Bij elke balk staat zijn aandeel." in caption
    assert ">5%<" in drawn.decode()


def test_a_withheld_row_has_no_bar_and_the_caption_says_why():
    drawn, caption = draw(
        figure(
            [
                {"label": "Vertrouwenspersoon", "n": 10, "shares": [0.5, 0.5, 0.0]},
                {"label": "Meldpunt", "n": 3, "shares": None},
            ]
        )
    )
    assert len(bars(drawn)) == 2  # only the published row's two non-zero parts
    assert "Meldpunt (n = 3) – niet gepubliceerd" in drawn.decode()
    assert "1 onderdeel heeft geen balk: minder dan 5 instellingen beantwoordden het." in caption


def test_the_caption_names_only_what_is_drawn():
    plain = [{"label": "Ja", "neutral": False}, {"label": "Nee", "neutral": False}]
    _drawn, caption = draw(
        figure([{"label": "Camera's", "n": 8, "shares": [0.125, 0.875]}], columns=plain)
    )
    assert "Grijs" not in caption  # no neutral answer drawn
    assert "geen balk" not in caption  # nothing withheld
    assert "Aandelen van 15% of meer staan in hun deel van de balk." in caption
    _drawn, caption = draw(figure([{"label": "Camera's", "n": 8, "shares": None}], columns=plain))
    assert caption.startswith("Geen onderdeel van deze figuur is gepubliceerd.")
    assert "balk van 100%" not in caption


def test_the_chart_has_no_inline_style_and_names_itself():
    drawn, _caption = draw(
        figure([{"label": "Vertrouwenspersoon", "n": 10, "shares": [0.6, 0.3, 0.1]}])
    )
    text = drawn.decode()
    assert "style=" not in text and "<style" not in text  # the Content-Security-Policy
    assert 'role="img"' in text and "<title>Figuur 5.4 – Voorzieningen</title>" in text
