"""What the dashboard's unit and browser tests both check (issue 12): every caption
sentence about a drawn element has that element in the chart, and Dutch pages write no
decimal point."""

import re

# A caption sentence and the text the chart must hold for it (its legend or axis).
CAPTION_NEEDS = [
    ("Blauwe band", "95%-interval sectorgemiddelde"),
    ("Stippellijn: het ongewogen sectorgemiddelde", "Sectorgemiddelde "),
    ("Oranje ruit", "Eigen instelling"),
    ("regressielijn", "Regressielijn"),
    ("Vierkant", "Mogelijke onderregistratie"),
    ("Open symbool", "t/m"),
    ("Grijze stippellijn:", "zelfde periode"),
    ("99,8%-grenzen", "grenzen bij 99,8%"),
]

# Figure and table numbers, and file names with them, are not decimals.
_NUMBERS = re.compile(
    r"[Ff]iguur \d\.\d|Tabel \d\.\d|figuren 5\.1, 5\.3, 6\.2 en 6\.4|figuren \d\.\d–\d\.\d"
    r"|(figure|chart)/\d\.\d\.(svg|csv)"
)


def decimal_points(text: str) -> list[str]:
    """Numbers written with a decimal point in ``text`` (figure numbers aside)."""
    return re.findall(r"(?<![\d.])\d+\.\d{1,2}(?!\d)", _NUMBERS.sub("", text))
