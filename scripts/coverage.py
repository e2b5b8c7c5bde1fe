"""Coverage: the share of each document's substantive sentences that the curated excerpts cover.

A sentence is covered when at least half of its characters lie inside some excerpt of any table.
Boilerplate is not counted: a line with no closing punctuation and at most 12 words (headings,
share buttons) and the items of a "Sources" list.

    python -m scripts.coverage [--db nk_russia.db]   (make coverage)
"""
import argparse
import bisect
import itertools
import re
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COVERED_SHARE = 0.5
HEADING_MAX_WORDS = 12
CLOSERS = ".!?:”\"’)"
# A full stop after initials (U.S., J.) does not end a sentence.
BOUNDARY = re.compile(r"(?<=[.!?])[”\"’)]?\s+(?=[“\"‘(]?[A-Z0-9])")
INITIALS = re.compile(r"(?:\b[A-Z]\.)+$")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    substantive: bool


def lines_with_offsets(text: str):
    pos = 0
    for line in text.split("\n"):
        yield pos, line
        pos += len(line) + 1


def split_line(offset: int, line: str):
    """(start, end) spans of the sentences of one line, in document offsets."""
    spans, start = [], 0
    for m in BOUNDARY.finditer(line):
        head = line[start:m.start()].rstrip("”\"’)")
        if INITIALS.search(head, max(0, len(head) - 8)):  # only the end can match: no need to scan the whole line
            continue
        end = m.start() + len(m.group(0).rstrip())
        spans.append((offset + start, offset + end))
        start = m.end()
    if line[start:].strip():
        spans.append((offset + start, offset + len(line.rstrip())))
    return spans


def sentences(text: str) -> list[Sentence]:
    out, in_sources = [], False
    for offset, line in lines_with_offsets(text):
        stripped = line.strip()
        if not stripped:
            continue
        heading = not stripped.endswith(tuple(CLOSERS)) and len(stripped.split()) <= HEADING_MAX_WORDS
        if stripped == "Sources":
            in_sources = True
        elif not stripped.startswith("- "):
            in_sources = False
        boilerplate = heading or (in_sources and stripped.startswith("- "))
        for start, end in split_line(offset, line):
            out.append(Sentence(start, end, text[start:end], not boilerplate))
    return out


def merge(spans) -> list[tuple[int, int]]:
    """Sorted, disjoint intervals covering the same characters as the spans."""
    out = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def covered_in(sentence: Sentence, merged: list[tuple[int, int]]) -> bool:
    """merged: sorted, disjoint intervals (merge()); only those that can overlap the sentence are visited."""
    first = max(0, bisect.bisect_left(merged, (sentence.start, sentence.start)) - 1)
    inside = 0
    for start, end in itertools.islice(merged, first, None):
        if start >= sentence.end:
            break
        inside += max(0, min(end, sentence.end) - max(start, sentence.start))
    return inside >= COVERED_SHARE * (sentence.end - sentence.start)


def covered(sentence: Sentence, spans) -> bool:
    return covered_in(sentence, merge(spans))


def span_tables(conn) -> list[str]:
    """Tables of excerpts: offsets and the excerpt itself (not the `sentences` this module writes, whose
    offsets would cover every sentence when the report is run again on a built database)."""
    return [r[0] for r in conn.execute(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND "
        "(SELECT count(*) FROM pragma_table_info(m.name) p WHERE p.name IN ('char_start', 'excerpt')) = 2 ORDER BY m.name")]


def documents_with_sentences(conn):
    """(document id, [(sentence, covered)]) for each document, one document's spans in memory at a time."""
    union = " UNION ALL ".join(f'SELECT document_id, char_start, char_end FROM "{t}" WHERE char_start IS NOT NULL'
                               for t in span_tables(conn))
    spans = conn.execute(f"SELECT document_id, char_start, char_end FROM ({union}) ORDER BY document_id")
    pending = next(spans, None)
    for doc_id, text in conn.execute("SELECT id, text FROM documents ORDER BY id"):
        mine = []
        while pending is not None and pending[0] <= doc_id:
            if pending[0] == doc_id:
                mine.append((pending[1], pending[2]))
            pending = next(spans, None)
        merged = merge(mine)
        yield doc_id, [(s, covered_in(s, merged)) for s in sentences(text)]


def summary(doc_id: str, judged) -> dict:
    subs = [s for s, _ in judged if s.substantive]
    uncovered = [s for s, ok in judged if s.substantive and not ok]
    share = (len(subs) - len(uncovered)) / len(subs) if subs else 1.0
    return {"document_id": doc_id, "sentences": len(subs), "covered": len(subs) - len(uncovered),
            "share": share, "uncovered": uncovered}


def document_coverage(conn) -> list[dict]:
    return [summary(doc_id, judged) for doc_id, judged in documents_with_sentences(conn)]


def write_coverage(conn) -> None:
    """Store the report in the database, so the site can show each document's coverage."""
    with conn:
        conn.execute("CREATE TABLE document_coverage (document_id TEXT PRIMARY KEY REFERENCES documents(id), "
                     "sentences INTEGER NOT NULL, covered INTEGER NOT NULL, share REAL NOT NULL)")
        conn.execute("CREATE TABLE sentences (document_id TEXT NOT NULL REFERENCES documents(id), char_start INTEGER NOT NULL, "
                     "char_end INTEGER NOT NULL, substantive INTEGER NOT NULL, covered INTEGER NOT NULL, text TEXT NOT NULL, "
                     "PRIMARY KEY (document_id, char_start))")
        for doc_id, judged in documents_with_sentences(conn):
            d = summary(doc_id, judged)
            conn.execute("INSERT INTO document_coverage VALUES (?, ?, ?, ?)",
                         (doc_id, d["sentences"], d["covered"], round(d["share"], 4)))
            conn.executemany("INSERT INTO sentences VALUES (?, ?, ?, ?, ?, ?)",
                             [(doc_id, s.start, s.end, int(s.substantive), int(ok), s.text) for s, ok in judged])
        for column in ("substantive", "covered"):
            conn.execute(f"CREATE INDEX idx_sentences_{column} ON sentences({column})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Print per-document excerpt coverage.")
    parser.add_argument("--db", type=Path, default=ROOT / "nk_russia.db")
    args = parser.parse_args(argv)
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    for doc in document_coverage(conn):
        print(f"{doc['document_id']}: {doc['covered']}/{doc['sentences']} substantive sentences covered ({doc['share']:.0%})")
        for s in doc["uncovered"]:
            print(f"    uncovered [{s.start}:{s.end}] {s.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
