"""Stage 3, locate evidence: prove every verbatim field is in its seed and record offsets.

Each seed must match the sha256 recorded in documents.csv. Every `excerpt` must occur in its
document exactly once, or carry `excerpt_occurrence` to say which occurrence is meant; the build
adds `char_start`/`char_end` (Unicode character offsets, text[char_start:char_end] == excerpt).
Other verbatim fields (a quote, a figure's wording) must lie inside the row's excerpt.

Rows are located as they stream in (`offsets`, a read transform: two str.find calls per row, one
document text in a small cache at a time); a row that case does not settle (an occurrence asked
for, an excerpt not found once, a quote not inside) is marked and judged by locate_row afterwards,
which says what is wrong.
"""
import functools
import hashlib
import itertools
from pathlib import Path

from .problems import Problem
from .read import display_path, not_utf8
from .schema import field_names, quote_identifier, verbatim_fields
from .validate import problem_at, typed_row

# Typographic characters that curators most often retype by accident.
LOOKALIKES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})
# Staging columns added to each row of a table with an excerpt: offsets, and 1 when locate_row must judge it.
EXTRA = ["_char_start", "_char_end", "_unsure"]
TEXTS = "stage._texts"
CACHED_TEXTS = 64  # documents; rows usually come grouped by document


def find_all(text: str, needle: str) -> list[int]:
    starts, i = [], text.find(needle)
    while i >= 0:
        starts.append(i)
        i = text.find(needle, i + 1)
    return starts


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def not_found_fix(text: str, needle: str, where: str) -> str:
    if needle.translate(LOOKALIKES) in text.translate(LOOKALIKES):
        return f"copy it again from {where}: it differs only in quotation marks, apostrophes, dashes or spaces (the seed uses typographic ones)"
    return f"copy the passage exactly from {where}, without changing a character"


def locate_row(row: dict, text: str, fields: list, seed_name: str) -> tuple[dict, list]:
    """Return (derived columns, [(column, message, fix)]) for one row."""
    derived, errors = {}, []
    for name, where in fields:
        value = row.get(name)
        if value is None:
            continue
        if where == "document":
            starts = find_all(text, value)
            if not starts:
                errors.append((name, f"not found in {seed_name}", not_found_fix(text, value, seed_name)))
                continue
            if name != "excerpt":
                continue
            occurrence = row.get("excerpt_occurrence")
            if occurrence is None and len(starts) > 1:
                errors.append((name, f"occurs {len(starts)} times in {seed_name} (at characters {', '.join(map(str, starts))})",
                               "lengthen the excerpt until it is unique, or set excerpt_occurrence to say which one"))
            elif occurrence is not None and occurrence > len(starts):
                errors.append(("excerpt_occurrence", f"asks for occurrence {occurrence} but the excerpt occurs {len(starts)} time(s)",
                               "correct excerpt_occurrence"))
            else:
                start = starts[(occurrence or 1) - 1]
                derived = {"char_start": start, "char_end": start + len(value)}
        else:
            container = row.get(where) or ""
            if value not in container:
                errors.append((name, f"is not inside the row's {where}", f"copy it exactly from the {where}, or widen the {where}"))
    return derived, errors


def seed_text(seeds_dir: Path, doc_id: str, sha256: str, source, line: int, problems: list) -> str | None:
    """The seed's text, or None with the problem: missing, changed since curation, not UTF-8."""
    seed = Path(seeds_dir) / f"{doc_id}.txt"
    try:
        data = seed.read_bytes()
    except FileNotFoundError:
        problems.append(problem_at(source, line, "id", f"no seed file {display_path(seed)}",
                                   "copy the seed into seeds/ byte for byte or correct the id"))
        return None
    digest = sha256_hex(data)
    if digest != sha256:
        problems.append(problem_at(source, line, "sha256",
                                   f"{display_path(seed)} has sha256 {digest}, not the recorded one: the seed changed after curation",
                                   "restore the seed from shared/seeds (seeds are never edited); if the source really changed, re-check every row of this document before updating sha256"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:  # recorded checksum and all: a new seed saved in another encoding
        problems.append(not_utf8(display_path(seed), data, e, "convert the seed to UTF-8 (iconv -f latin1 -t utf-8), "
                                 "then record the sha256 of the converted file"))
        return None


def read_seeds(conn, seeds_dir: Path, documents, problems: list, bad: set) -> None:
    """Store in stage._texts the text of each valid documents row whose seed holds; check what the row quotes of it."""
    conn.execute(f"CREATE TABLE {TEXTS} (id TEXT PRIMARY KEY, text TEXT NOT NULL)")
    names = field_names(documents.resource)
    vfields = verbatim_fields(documents.resource)
    rows = conn.execute(f"SELECT rowid, _line, {', '.join(map(quote_identifier, names))} FROM {documents.table}").fetchall()
    with conn:
        for rowid, line, *cells in rows:  # one row per document: thousands at most
            if rowid in bad:
                continue
            row = typed_row(documents.resource, dict(zip(names, cells)))
            text = seed_text(seeds_dir, row["id"], row["sha256"], documents, line, problems)
            if text is None:
                continue
            conn.execute(f"INSERT INTO {TEXTS} VALUES (?, ?)", (row["id"], text))
            _, errors = locate_row(row, text, vfields, f"seeds/{row['id']}.txt")
            problems += [problem_at(documents, line, *e) for e in errors]
    if documents.complete:  # a seed is unlisted only if no row read names it, valid or not
        listed = {doc_id for (doc_id,) in conn.execute(f'SELECT "id" FROM {documents.table}')}
        unlisted_seeds(seeds_dir, listed, documents.path, problems)


def unlisted_seeds(seeds_dir: Path, listed: set, path: str, problems: list) -> None:
    for seed in sorted(Path(seeds_dir).glob("*.txt")):
        if seed.stem not in listed:
            problems.append(Problem(path, 0, 0, "", f"{display_path(seed)} has no row in documents",
                                    "add a documents row for it (its id is the file stem)"))


def seed_texts(conn):
    """doc id → text (None when the seed is missing, changed or its row invalid), from stage._texts, cached."""
    @functools.lru_cache(maxsize=CACHED_TEXTS)
    def text_of(doc_id: str):
        row = conn.execute(f"SELECT text FROM {TEXTS} WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None
    return text_of


def offsets(text_of):
    """A read transform (see read.stage_resource) adding EXTRA to each row of a table with an excerpt."""
    def transform(rows, source):
        return _with_offsets(rows, source, text_of), EXTRA
    return transform


def _with_offsets(rows, source, text_of):
    vfields = verbatim_fields(source.resource)
    rows = iter(rows)
    first = next(rows, None)  # the header has been read once a row is asked for
    if first is None:
        return
    index = {name: i for i, name in enumerate(source.columns)}
    # Settled here: an excerpt found once in its document, and the fields that must lie inside it.
    simple = ("excerpt", "document") in vfields and all(w == "excerpt" for n, w in vfields if n != "excerpt")
    ex, doc, occ = index["excerpt"], index.get("document_id"), index.get("excerpt_occurrence")
    inner = [index[n] for n, where in vfields if where == "excerpt"]
    quoted = [index[n] for n, _ in vfields]
    for line, cells in itertools.chain([first], rows):
        excerpt = cells[ex]
        if simple and excerpt and doc is not None and (occ is None or not cells[occ]):
            text = text_of(cells[doc])
            if text is not None:
                start = text.find(excerpt)
                if start >= 0 and text.find(excerpt, start + 1) < 0:
                    for i in inner:
                        if cells[i] not in excerpt:
                            break
                    else:
                        cells += (start, start + len(excerpt), 0)
                        yield line, cells
                        continue
        cells += (None, None, int(any(cells[i] for i in quoted)))  # 0: the row quotes nothing
        yield line, cells


def locate_unsure(conn, source, text_of, problems: list, bad: set) -> None:
    """Judge the rows the stream did not settle: exact problems, or their offsets written to staging."""
    if "_unsure" not in source.extra:
        return
    res = source.resource
    names = field_names(res)
    vfields = verbatim_fields(res)
    updates = []
    sql = f"SELECT rowid, _line, {', '.join(map(quote_identifier, names))} FROM {source.table} WHERE _unsure"
    for rowid, line, *cells in conn.execute(sql):
        if rowid in bad:
            continue
        row = typed_row(res, dict(zip(names, cells)))
        doc_id = row.get("document_id")
        if doc_id is None:
            if any(row.get(f) for f, where in vfields if where == "document"):
                problems.append(problem_at(source, line, "document_id", "is empty but the row quotes a document",
                                           "name the document the excerpt comes from"))
                bad.add(rowid)
            continue
        text = text_of(doc_id)
        if text is None:
            continue  # already reported: a missing or changed seed, or its documents row
        derived, errors = locate_row(row, text, vfields, f"seeds/{doc_id}.txt")
        problems += [problem_at(source, line, *e) for e in errors]
        if errors:
            bad.add(rowid)
        elif derived:
            updates.append((derived["char_start"], derived["char_end"], rowid))
    with conn:
        conn.executemany(f"UPDATE {source.table} SET _char_start = ?, _char_end = ?, _unsure = 0 WHERE rowid = ?", updates)
