"""Stage 3, locate evidence: prove every verbatim field is in its seed and record offsets.

Each seed must match the sha256 recorded in documents.csv. Every `excerpt` must occur in its
document exactly once, or carry `excerpt_occurrence` to say which occurrence is meant; the build
adds `char_start`/`char_end` (Unicode character offsets, text[char_start:char_end] == excerpt).
Other verbatim fields (a quote, a figure's wording) must lie inside the row's excerpt.
"""
import hashlib
from pathlib import Path

from .problems import Problem
from .read import display_path, not_utf8
from .schema import derived_fields, verbatim_fields

# Typographic characters that curators most often retype by accident.
LOOKALIKES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


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


def read_seeds(seeds_dir: Path, documents: list, path: str, columns: dict, problems: list) -> dict:
    """{document id: text} for documents whose seed exists and matches its checksum."""
    texts = {}
    for line, row in documents:
        doc_id = row["id"]
        seed = Path(seeds_dir) / f"{doc_id}.txt"
        try:
            data = seed.read_bytes()
        except FileNotFoundError:
            problems.append(Problem(path, line, columns.get("id", 0), "id", f"no seed file {display_path(seed)}",
                                    "copy the seed into seeds/ byte for byte or correct the id"))
            continue
        digest = sha256_hex(data)
        if digest != row["sha256"]:
            problems.append(Problem(path, line, columns.get("sha256", 0), "sha256",
                                    f"{display_path(seed)} has sha256 {digest}, not the recorded one: the seed changed after curation",
                                    "restore the seed from shared/seeds (seeds are never edited); if the source really changed, re-check every row of this document before updating sha256"))
            continue
        try:
            texts[doc_id] = data.decode("utf-8")
        except UnicodeDecodeError as e:  # recorded checksum and all: a new seed saved in another encoding
            problems.append(not_utf8(display_path(seed), data, e, "convert the seed to UTF-8 (iconv -f latin1 -t utf-8), "
                                     "then record the sha256 of the converted file"))
    return texts


def unlisted_seeds(seeds_dir: Path, listed: set, path: str, problems: list) -> None:
    for seed in sorted(Path(seeds_dir).glob("*.txt")):
        if seed.stem not in listed:
            problems.append(Problem(path, 0, 0, "", f"{display_path(seed)} has no row in documents",
                                    "add a documents row for it (its id is the file stem)"))


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


def locate_all(pkg: dict, tables: dict, seeds_dir: Path, paths: dict, columns: dict, problems: list,
               known: dict | None = None) -> dict:
    """Tables with derived columns added (documents get text and char_count).

    known: as for validate.check_foreign_keys. A seed is unlisted only if no documents row names
    it, valid or not, and that is not judged when documents.csv could not be read whole.
    """
    texts = read_seeds(seeds_dir, tables["documents"], paths["documents"], columns["documents"], problems)
    listed = {row["id"] for _, row in tables["documents"]}
    if known is not None:
        listed = None if known["documents"] is None else known["documents"] | listed
    if listed is not None:
        unlisted_seeds(seeds_dir, listed, paths["documents"], problems)
    out = {}
    for res in pkg["resources"]:
        name = res["name"]
        vfields = verbatim_fields(res)
        rows = []
        for line, row in tables[name]:
            doc_id = row["id"] if name == "documents" else row.get("document_id")
            row = dict(row)
            if name == "documents":
                if doc_id not in texts:
                    continue
                row.update(char_count=len(texts[doc_id]), text=texts[doc_id])
            if doc_id is None and any(row.get(f) for f, where in vfields if where == "document"):
                problems.append(Problem(paths[name], line, columns[name].get("document_id", 0), "document_id",
                                        "is empty but the row quotes a document", "name the document the excerpt comes from"))
                continue
            if vfields and doc_id is not None:
                if doc_id not in texts:
                    continue  # already reported: missing or changed seed
                derived, errors = locate_row(row, texts[doc_id], vfields, f"seeds/{doc_id}.txt")
                for col, message, fix in errors:
                    problems.append(Problem(paths[name], line, columns[name].get(col, 0), col, message, fix))
                if errors:
                    continue
                row.update(derived)
            for field in derived_fields(res):
                row.setdefault(field["name"], None)
            rows.append((line, row))
        out[name] = rows
    return out
