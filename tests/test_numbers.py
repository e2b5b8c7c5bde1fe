"""scripts/numbers.py: every form of figure in the seeds' rows and the usual others."""
import pytest

from scripts.numbers import Figure, WordingError, parse, same_number, shown

from .conftest import DATA, read_csv


@pytest.mark.parametrize("wording, figure", [
    # the forms in data/troop_estimates.csv and data/weapon_specs.csv
    ("up to 3,000", Figure(high=3000, qualifier="up_to")),
    ("up to 10,000", Figure(high=10000, qualifier="up_to")),
    ("an additional 1,500", Figure(best=1500, is_increment=True, qualifier="additional")),
    ("the total to 3,000", Figure(best=3000, qualifier="total")),
    ("1.2 million-strong", Figure(best=1_200_000)),
    ("Approximately 10,000", Figure(best=10000, qualifier="approx")),
    ("over 10,000", Figure(low=10000, qualifier="over")),
    ("400 kilometers (250 miles)", Figure(best=400, unit="km")),
    ("over 13,000 containers", Figure(low=13000, unit="containers", qualifier="over")),
    # the usual others
    ("more than 10,000", Figure(low=10000, qualifier="over")),
    ("at least 500", Figure(low=500, qualifier="over")),
    ("as many as 12,000", Figure(high=12000, qualifier="up_to")),
    ("about 10,000", Figure(best=10000, qualifier="approx")),
    ("around 1,500", Figure(best=1500, qualifier="approx")),
    ("some 10,000", Figure(best=10000, qualifier="approx")),
    ("nearly 3,000", Figure(best=3000, qualifier="approx")),
    ("1,500 more troops", Figure(best=1500, is_increment=True, unit="troops", qualifier="additional")),
    ("another 2,000", Figure(best=2000, is_increment=True, qualifier="additional")),
    ("3,000", Figure(best=3000)),
    ("3000", Figure(best=3000)),
    ("a force of 1,500", Figure(best=1500)),
    ("400 km", Figure(best=400, unit="km")),
    ("a payload of 500 kilograms", Figure(best=500, unit="kg")),
    ("a calibre of 152 millimetres", Figure(best=152, unit="mm")),
    ("Mach 2.5", Figure(best=2.5, unit="Mach")),
    ("10,000–12,000", Figure(low=10000, high=12000, qualifier="range")),
    ("10,000-12,000", Figure(low=10000, high=12000, qualifier="range")),
    ("10,000 to 12,000", Figure(low=10000, high=12000, qualifier="range")),
    ("between 10,000 and 12,000 soldiers", Figure(low=10000, high=12000, unit="soldiers", qualifier="range")),
    ("1.2–1.5 million", Figure(low=1_200_000, high=1_500_000, qualifier="range")),
    ("2 million", Figure(best=2_000_000)),
    ("3\u00a0000", None),  # a space inside a figure is not a thousands separator: two numbers, see below
])
def test_parse_reads_each_form(wording, figure):
    if figure is None:
        with pytest.raises(WordingError):
            parse(wording)
    else:
        assert parse(wording) == figure


@pytest.mark.parametrize("wording", ["several thousand", "thousands of", "a few hundred", "many soldiers", "some troops"])
def test_vague_wording_gives_no_number(wording):
    assert parse(wording) is None


@pytest.mark.parametrize("wording", ["1,500 in 2023 and 3,000 in 2024", "3,000 (or 4,000) or 5,000 and 6,000", "version 2.0.1"])
def test_several_figures_are_refused(wording):
    with pytest.raises(WordingError):
        parse(wording)


def test_every_curated_wording_parses_to_its_row():
    """The rows of data/ agree with the parser (the build checks the same; this says which form failed)."""
    _, estimates = read_csv(DATA / "troop_estimates.csv")
    assert estimates
    for r in estimates:
        figure = parse(r["original_wording"])
        assert figure.qualifier == r["qualifier"], r["id"]
        for bound, value in figure.bounds().items():
            typed = int(r[f"value_{bound}"]) if r[f"value_{bound}"] else None
            assert same_number(value, typed), (r["id"], bound)
    _, specs = read_csv(DATA / "weapon_specs.csv")
    for r in specs:
        figure = parse(r["value_text"])
        assert same_number(next(v for v in figure.bounds().values() if v is not None), float(r["value"])), r["id"]
        assert figure.unit == r["unit"], r["id"]


def test_shown_writes_a_figure_as_typed():
    assert (shown(3000.0), shown(2.5), shown(None)) == ("3000", "2.5", "empty")
