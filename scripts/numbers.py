"""Read a figure from its printed wording: "up to 3,000", "over 10,000", "an additional 1,500",
"1.2 million-strong", "approximately 10,000", "400 kilometers (250 miles)", "10,000–12,000".

The build checks every number typed into troop_estimates and weapon_specs against the words it was
copied from (scripts/validate.py, check_figures): a figure multiplied by ten, a bound typed as a point
estimate or an increment counted as a total is refused. One parser, so that the codebook's table of
wordings (data/CODEBOOK.md, "Figures") and the build cannot drift apart.
"""
import re
from dataclasses import dataclass

MULTIPLIERS = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s*(hundred|thousand|million|billion)\b)?"
NUMBER = re.compile(_NUMBER)
RANGE = re.compile(_NUMBER + r"\s*(?:–|—|-|\bto\b|\band\b)\s*" + _NUMBER)
# Units of measurement, by every spelling seen or usual, to the code written in weapon_specs.unit.
UNITS = {"km": "km", "kilometer": "km", "kilometers": "km", "kilometre": "km", "kilometres": "km",
         "mi": "mi", "mile": "mi", "miles": "mi", "m": "m", "meter": "m", "meters": "m", "metre": "m", "metres": "m",
         "kg": "kg", "kilogram": "kg", "kilograms": "kg", "kilogramme": "kg", "kilogrammes": "kg",
         "t": "t", "ton": "t", "tons": "t", "tonne": "t", "tonnes": "t",
         "mm": "mm", "millimeter": "mm", "millimeters": "mm", "millimetre": "mm", "millimetres": "mm",
         "mach": "Mach"}
PREFIX_UNITS = {"mach"}  # written before the number: "Mach 2.5"
# What the words before the figure say about it, most specific first (a qualifier of troop_estimates).
QUALIFYING_WORDS = [
    ("additional", r"\b(additional|another|extra|further)\b"),
    ("total", r"\btotal\b"),
    ("up_to", r"\b(up to|as many as|at most|no more than|not more than|fewer than|less than|under)\b"),
    ("over", r"\b(over|more than|at least|upwards of|in excess of|above|exceeding)\b"),
    ("approx", r"\b(approximately|about|around|some|roughly|nearly|almost|an estimated|estimated|close to|circa)\b|~"),
]
QUALIFYING_WORDS = [(name, re.compile(pattern)) for name, pattern in QUALIFYING_WORDS]
# "1,500 more troops" is an increment too.
MORE_AFTER = re.compile(r"^\s*more\b")
BRACKETS = re.compile(r"\([^)]*\)")
# Words for a vague quantity: the wording gives no figure at all.
VAGUE = re.compile(r"\b(several|many|some|a few|dozens|hundreds|thousands|millions)\b")


class WordingError(ValueError):
    """The wording holds figures that cannot be read as one figure or one range."""


@dataclass(frozen=True)
class Figure:
    low: float | None = None
    best: float | None = None
    high: float | None = None
    is_increment: bool = False
    unit: str | None = None  # a unit of measurement from UNITS, or the noun after the figure ("containers")
    qualifier: str = "stated"  # as in troop_estimates.qualifier: what the words say the figure is

    def bounds(self) -> dict:
        return {"low": self.low, "best": self.best, "high": self.high}


def _value(digits: str, decimals: str | None, scale: str | None) -> float:
    value = float(digits.replace(",", "") + (decimals or ""))
    return round(value * MULTIPLIERS[scale], 6) if scale else value


def _unit(before: str, after: str) -> str | None:
    prefix = re.search(r"([a-z]+)\s*$", before)
    if prefix and prefix.group(1) in PREFIX_UNITS:
        return UNITS[prefix.group(1)]
    word = re.match(r"^[\s-]*([a-z]+)", MORE_AFTER.sub("", after))
    if not word or word.group(1) in {"strong", "to", "and", "or"}:
        return None
    return UNITS.get(word.group(1), word.group(1))


def _qualifier(before: str, after: str) -> str:
    if MORE_AFTER.match(after):
        return "additional"
    for name, pattern in QUALIFYING_WORDS:
        if pattern.search(before):
            return name
    return "stated"


def parse(wording: str) -> Figure | None:
    """The figure a wording gives, or None when it gives no number ("several thousand").

    Raises WordingError when it holds figures that are neither one figure nor a range.
    A conversion in brackets ("400 kilometers (250 miles)") is not a second figure.
    """
    text = BRACKETS.sub(" ", wording.lower().replace("\u00a0", " ")).strip()
    found = RANGE.search(text)
    if found:
        rest = text[: found.start()] + " " + text[found.end():]
        if NUMBER.search(rest):
            raise WordingError(f"{wording!r} holds more than one figure or range")
        low, high = _value(*found.group(1, 2, 3)), _value(*found.group(4, 5, 6))
        if found.group(3) is None and found.group(6):  # "1.2–1.5 million": the scale applies to both
            low = _value(*found.group(1, 2), found.group(6))
        return Figure(low=low, high=high, unit=_unit(text[: found.start()], text[found.end():]), qualifier="range")
    numbers = list(NUMBER.finditer(text))
    if not numbers:
        if VAGUE.search(text) or not re.search(r"\d", text):
            return None
        raise WordingError(f"{wording!r} has digits that do not form a figure")
    if len(numbers) > 1:
        raise WordingError(f"{wording!r} holds more than one figure")
    m = numbers[0]
    before, after = text[: m.start()], text[m.end():]
    value = _value(*m.group(1, 2, 3))
    qualifier = _qualifier(before, after)
    unit = _unit(before, after)
    if qualifier == "up_to":
        return Figure(high=value, unit=unit, qualifier=qualifier)
    if qualifier == "over":
        return Figure(low=value, unit=unit, qualifier=qualifier)
    return Figure(best=value, is_increment=qualifier == "additional", unit=unit, qualifier=qualifier)


def same_number(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))


def shown(value) -> str:
    """A figure as a curator types it into a value column."""
    if value is None:
        return "empty"
    return str(int(value)) if float(value).is_integer() else repr(float(value))
