"""Add a document: check a new text, copy it into seeds/, add its documents row, write a curation worksheet.

    python -m scripts.add_document FILE [--outlet ...] [--url ...] [--date YYYY[-MM[-DD]]] ...
    (make add-document FILE=... [OUTLET=... URL=... DATE=...])

Refused, with nothing written, when the text is not UTF-8, empty, already a seed (same bytes, or the
same words once quotation marks, dashes, spaces and case are set aside), or a text already curated
(it contains a seed's text or lies inside one, or repeats most of the excerpts curated from a seed).

The new id follows the seeds' form NNN_<16 hex digits>: the next free number, and the first 16 hex
digits of the text's sha256 (the existing ids' digits were assigned before this tool and are kept).
Nothing in the row is guessed: outlet, URLs, date and the other source fields are written only when
given; the date's basis says who gave it. The worksheet (worksheets/<id>.md) lists the text's sentences,
numbered, with their offsets (the build's own splitter, scripts/coverage.py), and the actors, weapon
systems and claims each one already mentions, so that the curator copies excerpts instead of typing them.
"""
import argparse
import csv
import io
import os
import re
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .coverage import sentences
from .locate import LOOKALIKES, sha256_hex
from .problems import Problem
from .read import display_path, not_utf8
from .schema import load_package, resource, verbatim_fields
from .validate import row_problems

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT_ID = re.compile(r"^([0-9]{3})_[0-9a-f]{16}$")
PRECISION = {4: "year", 7: "month", 10: "day"}
# A text repeating this share of one seed's curated excerpts (and at least MIN_SHARED of them) is that
# seed again under another headline or outlet: curate the seed, not a copy of it.
SHARED_EXCERPTS = 0.5
MIN_SHARED = 3
# A sentence this short ('Like', a heading) inside a curated excerpt says nothing about what it claims.
MIN_PASSAGE = 20
# Row id infixes of the tables whose rows quote a document (003-ap-01, 003-q-01, ...), for the worksheet.
ROW_ID_INFIX = {"appearances": "ap", "quotes": "q", "weapon_mentions": "wm", "weapon_specs": "ws", "troop_estimates": "te"}
# The option that sets a documents column, for messages; DATE sets date_start.
OPTION_OF = {"date_start": "DATE", "date_precision": "DATE"}
# data/aliases.csv: the column holding the id each alias names, per table.
ALIAS_COLUMNS = {"actors": "actor_id", "weapon_systems": "weapon_system_id", "claims": "claim_id"}
# Command-line options → the documents columns they fill (only these, and only when given).
ROW_OPTIONS = {"outlet": "outlet", "url": "url", "archive_url": "archive_url", "language": "language",
                  "retrieved_on": "retrieved_on", "supplied_by": "supplied_by", "label": "label", "headline": "headline"}


class Refused(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s)")

    def report(self) -> str:
        return "\n".join([*map(str, self.problems),
                          f"Document not added: {len(self.problems)} problem(s); nothing was changed."])


# ---- pure helpers -------------------------------------------------------------------------------

def normalise(text: str) -> str:
    """The words of a text, whatever its quotation marks, dashes, spaces, line ends and case."""
    text = unicodedata.normalize("NFKC", text.removeprefix("\ufeff")).translate(LOOKALIKES)
    return " ".join(text.split()).casefold()


def new_document_id(existing: list[str], data: bytes) -> str:
    numbers = [int(m.group(1)) for m in map(DOCUMENT_ID.match, existing) if m]
    number = max(numbers, default=-1) + 1
    if number > 999:
        raise ValueError("document numbers are three digits and 999 is taken")
    return f"{number:03d}_{sha256_hex(data)[:16]}"


def decoded(path: str, data: bytes) -> str:
    """The text of the new file, or Refused: not UTF-8, a NUL byte, nothing but white space."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Refused([not_utf8(path, data, e, "convert the file to UTF-8 (iconv -f latin1 -t utf-8 FILE > NEW) and add NEW")])
    if "\x00" in text:
        raise Refused([Problem(path, text.count("\n", 0, text.index("\x00")) + 1, 0, "", "contains a NUL byte",
                               "save the article as plain text (a NUL byte comes from a binary or UTF-16 file)")])
    if not text.strip():
        raise Refused([Problem(path, 1, 0, "", "is empty (nothing but white space)", "give the file that holds the article's text")])
    return text


def duplicate_problems(path: str, data: bytes, text: str, seeds: dict[str, bytes]) -> list[Problem]:
    """Problems if the text is a seed again: the same bytes, the same words, or one inside the other."""
    digest, words = sha256_hex(data), normalise(text)
    for doc_id, seed in seeds.items():
        if sha256_hex(seed) == digest:
            return [Problem(path, 0, 0, "", f"has the same bytes as seeds/{doc_id}.txt (sha256 {digest})",
                            f"nothing to add: it is document {doc_id} already")]
        other = normalise(seed.decode("utf-8", errors="replace"))
        if other == words:
            return [Problem(path, 0, 0, "", f"has the same text as seeds/{doc_id}.txt (only quotation marks, dashes, spaces or case differ)",
                            f"nothing to add: curate document {doc_id}")]
        if other in words or words in other:
            inside = f"contains the whole text of seeds/{doc_id}.txt" if other in words else f"is a part of seeds/{doc_id}.txt"
            return [Problem(path, 0, 0, "", f"{inside}: that text is already curated",
                            f"curate document {doc_id}; a different article that quotes it whole is not a new source")]
    return []


def curated_overlap(path: str, text: str, excerpts: dict[str, list[str]]) -> list[Problem]:
    """A problem if the text repeats most of the excerpts curated from one seed."""
    words = normalise(text)
    for doc_id, quoted in sorted(excerpts.items()):
        distinct = sorted({normalise(e) for e in quoted if e})
        shared = [e for e in distinct if e in words]
        if len(shared) >= MIN_SHARED and len(shared) >= SHARED_EXCERPTS * len(distinct):
            return [Problem(path, 0, 0, "", f"repeats {len(shared)} of the {len(distinct)} excerpts curated from "
                            f"seeds/{doc_id}.txt: it is that text already curated (republished or re-edited)",
                            f"curate document {doc_id}, or add only a text that is a different report")]
    return []


@dataclass
class Mention:
    kind: str  # actor, weapon system, claim
    id: str
    name: str
    via: str  # the words found, or the excerpt of the row that already uses the passage


@dataclass
class Vocabulary:
    """What the worksheet looks for in each sentence: names and aliases, and passages already curated."""
    names: list[tuple[str, str, str, str]] = field(default_factory=list)  # (kind, id, label, words)
    passages: list[tuple[str, str, str]] = field(default_factory=list)  # (claim id, claim, excerpt)

    def mentions(self, sentence: str) -> list[Mention]:
        words = normalise(sentence)
        found, seen = [], set()
        for kind, ident, label, term in self.names:
            if (kind, ident) not in seen and re.search(rf"(?<!\w){re.escape(normalise(term))}(?!\w)", words):
                seen.add((kind, ident))
                found.append(Mention(kind, ident, label, term))
        for ident, claim, excerpt in self.passages:
            shared = normalise(excerpt)
            inside = shared in words or (len(words) >= MIN_PASSAGE and words in shared)
            if ("claim", ident) not in seen and shared and inside:
                seen.add(("claim", ident))
                found.append(Mention("claim", ident, claim, f"curated elsewhere as: {excerpt}"))
        return found


def name_variants(name: str) -> list[str]:
    """The ways a text names an actor or a weapon system: the name, the name without its bracket, a one-word
    proper name in the bracket ('U.S. Department of Defense (Pentagon)' → 'Pentagon'; '(South Korea)' is a
    qualifier, not a name) and a leading model designation ('S-400 long-range ...' → 'S-400')."""
    bare = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip()
    bracket = re.search(r"\(([A-Z][\w.-]+)\)\s*$", name)
    first = name.split()[0] if name.split() else ""
    designation = first if re.search(r"\d", first) and re.search(r"[A-Za-z]", first) else ""
    return list(dict.fromkeys(v for v in (name, bare, bracket and bracket.group(1), designation) if v and len(v) > 2))


def worksheet(doc_id: str, text: str, row: dict, vocabulary: Vocabulary) -> str:
    """The curation worksheet, Markdown: what to complete in the row, then every sentence with its offsets."""
    number = doc_id[:3]
    lines = [f"# Curation worksheet: {doc_id}", "",
             f"Seed: `seeds/{doc_id}.txt` ({len(text)} characters, sha256 `{row['sha256']}`). "
             "Copy each excerpt from the sentence below it, character for character, into the row's `excerpt`; "
             "the build finds it in the seed and records its offsets.", "",
             "## The documents row", ""]
    for column in ("label", "headline", "outlet", "url", "archive_url", "language", "retrieved_on", "supplied_by",
                   "date_start", "date_precision", "date_basis"):
        lines.append(f"- `{column}`: {row.get(column) or '(empty: fill it in only from what the text or its supplier states)'}")
    lines += ["", "## New row ids", ""]
    lines += [f"- `{table}`: `{number}-{infix}-01`, `{number}-{infix}-02`, …" for table, infix in ROW_ID_INFIX.items()]
    judged = sentences(text)
    mentioned = {}
    body = ["", "## Sentences", "",
            "Offsets are Unicode characters: `text[start:end]` is the sentence. "
            "Sentences marked *boilerplate* (headings, share buttons, source lists) do not count towards coverage.", ""]
    for i, s in enumerate(judged, 1):
        kind = "" if s.substantive else " · boilerplate"
        body += [f"### S{i} · characters {s.start}–{s.end}{kind}", "", "```text", s.text, "```", ""]
        found = vocabulary.mentions(s.text)
        for m in found:
            mentioned.setdefault((m.kind, m.id, m.name), []).append(f"S{i}")
            body.append(f"- {m.kind} `{m.id}` ({m.name}): {m.via}")
        if found:
            body.append("")
    summary = ["", "## Already in the dataset", ""]
    if mentioned:
        summary += [f"- {kind} `{ident}` ({name}): {', '.join(where)}" for (kind, ident, name), where in sorted(mentioned.items())]
    else:
        summary.append("No actor, weapon system or curated passage of a claim is named in this text: add new ones.")
    return "\n".join(lines + summary + body).rstrip() + "\n"


def documents_row(header: list[str], doc_id: str, data: bytes, given: dict, date: str | None) -> dict:
    """The documents row: sha256 and id computed, everything else only as given, the date's basis stated."""
    row = {name: "" for name in header}
    row.update({k: v for k, v in given.items() if k in row and v})
    row["id"], row["sha256"] = doc_id, sha256_hex(data)
    row["label"] = row["label"] or f"Document {doc_id[:3]}, added by make add-document: label to be written by its curator"
    if date:
        row.update(date_start=date, date_precision=PRECISION.get(len(date), "day"), date_inferred="false",
                   date_basis=f"Not checked against the text: given as {date} by whoever added the document (make add-document DATE=).")
    else:
        row.update(date_precision="unknown", date_inferred="true",
                   date_basis="Not yet established: the document was added without a date; its curator records it and the passages it rests on.")
    return row


def option_problems(path: str, documents: dict, row: dict, text: str) -> list[Problem]:
    """The new row checked by the build's own rules (validate.row_problems), before anything is written."""
    problems = [Problem(path, 0, 0, column, message, f"{fix} (make add-document {OPTION_OF.get(column, column.upper())}=…)")
                for column, message, fix in row_problems(documents, row)]
    if row.get("headline") and row["headline"] not in text:
        problems.append(Problem(path, 0, 0, "headline", "HEADLINE is not in the text",
                                "copy the headline exactly as printed at the top of the text, or leave it out"))
    return problems


def csv_line(header: list[str], row: dict) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([row[name] for name in header])
    return out.getvalue()


# ---- reading the repository and writing -----------------------------------------------------------

def curated_excerpts(data_dir: Path, pkg: dict) -> tuple[dict[str, list[str]], list[tuple[str, str, str]]]:
    """Per document, the excerpts curated from it; and (claim id, claim, excerpt) for the worksheet."""
    by_document, passages = {}, []
    claims = {r["id"]: r["claim"] for r in csv_dicts(data_dir / "claims.csv")}
    for res in pkg["resources"]:
        if ("excerpt", "document") not in verbatim_fields(res):
            continue
        for r in csv_dicts(data_dir / res["path"]):
            if r.get("document_id") and r.get("excerpt"):
                by_document.setdefault(r["document_id"], []).append(r["excerpt"])
                if r.get("claim_id") in claims:
                    passages.append((r["claim_id"], claims[r["claim_id"]], r["excerpt"]))
    return by_document, passages


def csv_dicts(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def vocabulary(data_dir: Path, passages) -> Vocabulary:
    """Names of actors and weapon systems, their aliases (weapon_systems.aliases, and data/aliases.csv when
    it exists), and the passages already curated for each claim."""
    vocab = Vocabulary(passages=passages)
    kinds = {"actors": "actor", "weapon_systems": "weapon system", "claims": "claim"}
    labels = {}
    for table, kind in kinds.items():
        for r in csv_dicts(data_dir / f"{table}.csv"):
            label = r.get("name") or r.get("claim") or r["id"]
            labels[(table, r["id"])] = label
            if table != "claims":
                vocab.names += [(kind, r["id"], label, v) for v in name_variants(label)]
            vocab.names += [(kind, r["id"], label, a.strip()) for a in re.split(r"[|;]", r.get("aliases") or "") if len(a.strip()) > 2]
    for r in csv_dicts(data_dir / "aliases.csv"):  # the alias table (issue 11): an alias and the id it names
        alias = (r.get("alias") or "").strip()
        for table, column in ALIAS_COLUMNS.items():
            if r.get(column) and (table, r[column]) in labels and len(alias) > 2:
                vocab.names.append((kinds[table], r[column], labels[(table, r[column])], alias))
    return vocab


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def add_document(file: Path, root: Path = ROOT, given: dict | None = None, date: str | None = None) -> tuple[str, Path]:
    """Check, then write the seed, the documents row and the worksheet; returns (document id, worksheet path).

    Every check runs before the first write; the documents file is replaced last and atomically, and the
    other two files are removed again if anything fails on the way, so a refusal changes nothing."""
    given = given or {}
    path = display_path(file)
    data_dir, seeds_dir = root / "data", root / "seeds"
    if not Path(file).is_file():
        raise Refused([Problem(path, 0, 0, "", "does not exist", "give the path of the text file (make add-document FILE=path/to/article.txt)")])
    data = Path(file).read_bytes()
    text = decoded(path, data)
    pkg = load_package(data_dir / "datapackage.json")
    seeds = {p.stem: p.read_bytes() for p in sorted(seeds_dir.glob("*.txt"))}
    excerpts, passages = curated_excerpts(data_dir, pkg)
    documents = resource(pkg, "documents")
    documents_csv = data_dir / documents["path"]
    existing = documents_csv.read_bytes()
    rows = csv_dicts(documents_csv)
    header = next(csv.reader(io.StringIO(existing.decode("utf-8-sig"))))
    doc_id = new_document_id([r["id"] for r in rows] + list(seeds), data)
    row = documents_row(header, doc_id, data, given, date)
    problems = duplicate_problems(path, data, text, seeds) + option_problems(path, documents, row, text)
    problems += [] if problems else curated_overlap(path, text, excerpts)
    if problems:
        raise Refused(problems)
    seed, sheet = seeds_dir / f"{doc_id}.txt", root / "worksheets" / f"{doc_id}.md"
    written = []
    try:
        write_atomic(seed, data)  # byte for byte: the build checks this sha256
        written.append(seed)
        write_atomic(sheet, worksheet(doc_id, text, row, vocabulary(data_dir, passages)).encode("utf-8"))
        written.append(sheet)
        separator = b"" if existing.endswith(b"\n") else b"\n"
        write_atomic(documents_csv, existing + separator + csv_line(header, row).encode("utf-8"))
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return doc_id, sheet


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to add to (default: this one)")
    parser.add_argument("--date", help="publication date, YYYY, YYYY-MM or YYYY-MM-DD, as stated by the source")
    for option in ROW_OPTIONS:
        parser.add_argument(f"--{option.replace('_', '-')}", dest=option, default="")
    args = parser.parse_args(argv)
    given = {column: getattr(args, option).strip() for option, column in ROW_OPTIONS.items()}
    try:
        doc_id, sheet = add_document(args.file, args.root, given, (args.date or "").strip() or None)
    except Refused as e:
        print(e.report(), file=sys.stderr)
        return 1
    print(f"added {doc_id}: seeds/{doc_id}.txt, a row in data/documents.csv, worksheet {display_path(sheet)}\n"
          "Next: write rows from the worksheet, then make check and make coverage (README: How to add a document).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
