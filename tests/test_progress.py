"""Progress is shown on a terminal only, and the stage timings are kept either way."""
import io

from scripts.progress import EVERY, Progress


def test_counts_and_stages_are_shown_when_enabled():
    out = io.StringIO()
    progress = Progress(out, enabled=True)
    assert list(progress.count("read claims", range(EVERY + 1))) == list(range(EVERY + 1))
    with progress.stage("validate"):
        pass
    text = out.getvalue()
    assert f"read claims: {EVERY:,} rows" in text and f"read claims: {EVERY + 1:,} rows in" in text
    assert "validate: 0.0 s" in text and set(progress.timings) == {"validate"}


def test_quiet_in_ci_but_timings_are_kept(monkeypatch):
    monkeypatch.setenv("CI", "true")
    out = io.StringIO()
    out.isatty = lambda: True  # a terminal, but CI says to stay quiet
    progress = Progress(out)
    assert list(progress.count("read claims", [1, 2])) == [1, 2]
    with progress.stage("load"):
        pass
    assert out.getvalue() == "" and progress.timings["load"] >= 0
