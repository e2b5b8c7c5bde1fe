"""Site pages for the dataset: home answers, evidence panels on row pages, the annotated document.

Loaded by Datasette from plugins/ (make serve passes --plugins-dir). Pure helpers (passages, spans,
citations, the timeline layout) come first and are tested directly; the hooks below them only fetch
rows and hand them to the templates in templates/.
"""
import datetime
import json
import re

from datasette import hookimpl
from datasette.utils import tilde_decode, tilde_encode
from markupsafe import Markup, escape

DATABASE = "nk_russia"
ROW_REF = re.compile(r"([a-z_]+)/([A-Za-z0-9_.-]+)")
LINK_COLUMNS = {"row", "example_row"}
RENDERED_COLUMNS = LINK_COLUMNS | {"document_id"}
SPEAKER_COLUMN = {"appearances": "speaker_id", "quotes": "speaker_id", "weapon_mentions": "source_id",
                  "troop_estimates": "estimator_id", "weapon_specs": None}
FACT_TABLES = set(SPEAKER_COLUMN)
DOCUMENT_LABELS: dict[str, str] = {}
# How the document page names the kinds of highlighted passage (one colour each in nk.css), the most specific
# first: a passage cited as several kinds takes the colour of the first (claims cover most of a text).
KINDS = {"troop_estimates": "troop figure", "quotes": "direct quote", "weapon_specs": "weapon specification",
         "weapon_mentions": "weapon mention", "appearances": "claim made, denied or doubted"}
SUPPORTING = ("asserts", "confirms", "warns", "speculates")
# Each home-page list shows at most this many rows (all of them at today's size), with a link to the rest.
HOME_LIMIT = 25
# A claim panel (on its claim page and every row page of the claim) lists at most this many appearances:
# a claim made hundreds of times would otherwise make every one of those pages hundreds of kilobytes.
CLAIM_LIMIT = 100
# A fact's row page is about that one row: its claim panel lists fewer (every curated claim fits: at most 16
# appearances and 15 origins today), its own origin first, and links to the claim page for the rest.
ROW_PAGE_LIMIT = 20


# ---- pure helpers -------------------------------------------------------------------------------

def paragraph_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The paragraph (line) or paragraphs holding text[start:end]."""
    first = text.rfind("\n", 0, start) + 1
    last = text.find("\n", end)
    return first, len(text) if last < 0 else last


def passage(text: str, start: int, end: int) -> dict:
    """The excerpt in its paragraph: the words before it, the excerpt itself, the words after."""
    first, last = paragraph_bounds(text, start, end)
    return {"before": text[first:start], "match": text[start:end], "after": text[end:last]}


def segments(text: str, spans: list[tuple[int, int, str]]) -> list[dict]:
    """Cut text at every span edge: each piece lists the rows that cite it, the rows starting there (their
    anchors: /documents/<doc>#<row id>) and the rows ending there."""
    edges = sorted({0, len(text)} | {s for s, _, _ in spans} | {e for _, e, _ in spans})
    out = []
    for a, b in zip(edges, edges[1:]):
        refs = sorted({ref for s, e, ref in spans if s <= a and e >= b})
        starting = sorted({ref for s, e, ref in spans if s == a})
        ending = sorted({ref for s, e, ref in spans if e == b})
        out.append({"start": a, "text": text[a:b], "refs": refs, "starting": starting, "ending": ending})
    return out


def row_path(ref: str) -> str | None:
    """'appearances/003-ap-01' → the row's URL path, or None for anything else."""
    m = ROW_REF.fullmatch(ref or "")
    if not m:
        return None
    return f"/{DATABASE}/{m.group(1)}/{tilde_encode(m.group(2))}"


def document_reference(doc: dict) -> str:
    title = doc["headline"] or doc["label"]
    outlet = doc["outlet"] or "publisher not stated in the text"
    if doc["date_text"]:
        when = doc["date_text"]
    elif doc["date_precision"] == "unknown":
        when = "date unknown"
    else:
        span = " to ".join(d for d in (doc["date_start"], doc["date_end"]) if d) or "?"
        when = f"published {span}" if doc["date_precision"] != "range" or doc["date_end"] else f"published {span} or later"
        if doc["date_inferred"]:
            when += " (inferred)"
    return f"“{title}” ({outlet}, {when}; archived as {doc['id']})"


def as_of_label(e: dict) -> str:
    """How an as-of date reads: an open-ended range is "or later", never a bare start date."""
    if e["as_of_precision"] == "unknown" or not e["as_of_start"]:
        return "undated"
    if e["as_of_precision"] == "range":
        return f"{e['as_of_start']}–{e['as_of_end']}" if e["as_of_end"] else f"{e['as_of_start']} or later"
    return e["as_of_start"]


# The actor standing for an article's own voice: each article is a source of its own, named by its number.
OWN_VOICE = "unattributed"


def estimator_label(e: dict) -> str:
    """Who gives a figure, as a sentence can say it: 'article 004, in its own words' rather than the own-voice
    actor's name, which is one name for every article."""
    if e.get("estimator_id") == OWN_VOICE and e.get("document_id"):
        return f"article {e['document_id'][:3]}, in its own words"
    return e["estimator"]


REACH = {"up_to": 0, "over": 2}  # where a figure reaches beside its number; every other qualifier: 1


def attribution(e: dict) -> int:
    """2 for a named source, 1 for an article's own voice, 0 for an anonymous one."""
    return {"anonymous": 0, OWN_VOICE: 1}.get(e.get("estimator_kind"), 1 if e.get("estimator_id") == OWN_VOICE else 2)


def figure_phrase(e: dict) -> str:
    # The wording quoted as printed ("Approximately 10,000" keeps its capital).
    return f"“{e['original_wording']}” ({estimator_label(e)}, as of {as_of_label(e)})"


def summary(estimates: list[dict], contested: list[dict], denials: list[dict], counts: dict) -> list[str]:
    """The answer in plain words, from the rows the home page shows: the range of troop figures (increments
    and the army's total size left out), who disagrees, who denies, and how much the data covers."""
    out = []
    totals = [e for e in estimates if e["qualifier"] != "additional" and e["scope"] != "army_size"]
    figures = [(e["value_best"] or e["value_high"] or e["value_low"], e) for e in totals]
    figures = [(v, e) for v, e in figures if v is not None]
    if figures:
        # Of equal numbers, "over 10,000" reaches higher than "about 10,000" and "up to 10,000" lower; then a named
        # source is cited before an article's own voice repeating it, and both before an anonymous one.
        low = min(figures, key=lambda f: (f[0], REACH.get(f[1]["qualifier"], 1), -attribution(f[1])))[1]
        high = max(figures, key=lambda f: (f[0], REACH.get(f[1]["qualifier"], 1), attribution(f[1])))[1]
        latest = max((e["as_of_start"] for _, e in figures if e["as_of_start"]), default=None)
        sources = sorted({estimator_label(e) for _, e in figures})
        if low is high:
            out.append(f"One figure is given for North Korean troops in or sent to Russia: {figure_phrase(low)}.")
        else:
            out.append(f"{len(figures)} figures for North Korean troops in or sent to Russia, from {len(sources)} "
                       f"sources, range from {figure_phrase(low)} to {figure_phrase(high)}; the most recent "
                       f"as-of date is {latest or 'unknown'}. They are kept apart, never averaged.")
    increments = [e for e in estimates if e["qualifier"] == "additional"]
    for e in increments:
        out.append(f"{estimator_label(e)} also reports “{e['original_wording']}”, an increment on an earlier figure, not a total.")
    if contested:
        disputed = sorted(contested, key=lambda c: -(c["denying_origins"] + c["unconfirming_origins"]))[0]
        out.append(f"{len(contested)} claim{'s are' if len(contested) != 1 else ' is'} contested or denied; the most "
                   f"disputed, “{disputed['claim']}”, has {disputed['supporting_origins']} supporting, "
                   f"{disputed['denying_origins']} denying and {disputed['unconfirming_origins']} not-confirming "
                   f"independent origin{'s' if disputed['unconfirming_origins'] != 1 else ''}.")
    deniers = list(dict.fromkeys(d["speaker"] for d in denials))
    if deniers:
        # A list after a colon: an actor's name ("Russian government") reads right without an article.
        out.append(f"Denied by: {join_names(deniers)} ({len(denials)} statement{'s' if len(denials) != 1 else ''}).")
    if counts.get("documents"):
        out.append(f"All of this rests on {counts['documents']} archived news texts, {counts.get('claims') or 0} "
                   f"claims and {counts.get('appearances') or 0} statements, each linked to its exact sentence.")
    return out


def join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def citations(what: str, doc: dict, start: int, end: int, dataset: dict, url: str, accessed: datetime.date) -> dict:
    """One row cited four ways: plain text and APA to paste into a story, BibTeX and CSL-JSON for reference
    managers. Character offsets only in the machine-readable forms (BibTeX note, CSL-JSON), where a tool can
    use them. dataset: title, publisher, version, licence."""
    source = document_reference(doc)
    title, publisher, version, licence = dataset["title"], dataset["publisher"], dataset["version"], dataset["licence"]
    plain = (f"{what}. In {title}, version {version}. {publisher}. Licence: {licence}. Source: {source}. {url} "
             f"(accessed {accessed.isoformat()}).")
    apa = (f"{publisher}. (n.d.). {what} [Data set record]. In {title} (Version {version}). "
           f"Retrieved {accessed.strftime('%B')} {accessed.day}, {accessed.year}, from {url}")
    key = re.sub(r"[^A-Za-z0-9]+", "_", url.rstrip("/").rsplit("/", 2)[-2] + "_" + url.rstrip("/").rsplit("/", 1)[-1])

    def bib(value: str) -> str:
        return value.replace("\\", "\\textbackslash{}").replace("{", "\\{").replace("}", "\\}")
    bibtex = "\n".join([
        f"@misc{{nk_russia_{key},",
        f"  title = {{{bib(what)}}},",
        f"  author = {{{{{bib(publisher)}}}}},",
        f"  howpublished = {{{bib(title)}, version {bib(version)}}},",
        f"  url = {{{url}}},",
        f"  urldate = {{{accessed.isoformat()}}},",
        f"  note = {{Licence: {bib(licence)}. Source: {bib(source)}, characters {start}--{end}}}",
        "}"])
    csl = json.dumps({
        "id": f"nk_russia_{key}", "type": "dataset", "title": what, "container-title": title,
        "author": [{"literal": publisher}], "publisher": publisher, "version": version, "URL": url,
        "accessed": {"date-parts": [[accessed.year, accessed.month, accessed.day]]},
        "note": f"Licence: {licence}. Source: {source}, characters {start}–{end}.",
        "source": doc["id"], "locator": f"{start}-{end}"}, ensure_ascii=False, indent=2)
    return {"Plain text": plain, "APA": apa, "BibTeX": bibtex, "CSL-JSON": csl}


def dataset_citation_fields(metadata) -> dict:
    """The dataset as cited: its title, publisher, version (the build's, or 'unversioned') and licence."""
    return {"title": metadata("title") or "Russia–North Korea military cooperation dataset",
            "publisher": metadata("publisher") or "the dataset's curators",
            "version": metadata("dataset_version") or "unversioned",
            "licence": metadata("license") and metadata("license").split(" (")[0] or "see the site"}


def timeline_layout(points: list[dict], width: int = 400, height: int = 230, pad: int = 56, top_pad: int = 14) -> dict:
    """Positions for an SVG chart of figures (low/best/high) by as-of date, coloured by estimator.

    points: dicts with as_of (YYYY[-MM[-DD]], for order), as_of_label (how the date reads, e.g. "2024-06 or
    later"; as_of when absent), estimator, low, best, high, label, href. Increments are not points: the
    caller leaves them out, since a chart of totals would read them as totals.
    """
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    if not points:
        return {"width": width, "height": height, "marks": [], "legend": [], "ticks": [], "dates": []}
    dates = sorted({p["as_of"] for p in points})
    top = max(max(v for v in (p["low"], p["best"], p["high"]) if v is not None) for p in points)
    top = max(1000, -(-int(top * 1.15) // 2000) * 2000)  # headroom above the largest figure
    slot = (width - pad - 8) / max(1, len(dates))
    estimators = list(dict.fromkeys(p["estimator"] for p in points))
    colour = {e: palette[i % len(palette)] for i, e in enumerate(estimators)}

    def y(v):
        return round(height - pad - (height - pad - top_pad) * v / top, 1)

    marks = []
    for p in points:
        same = [q for q in points if q["as_of"] == p["as_of"]]
        offset = (same.index(p) + 1) * slot / (len(same) + 1)
        x = round(pad + dates.index(p["as_of"]) * slot + offset, 1)
        lo = p["low"] if p["low"] is not None else p["best"]
        hi = p["high"] if p["high"] is not None else p["best"]
        marks.append({"x": x, "y_best": y(p["best"]) if p["best"] is not None else None,
                      "y_low": y(lo) if lo is not None else y(0), "y_high": y(hi) if hi is not None else y(top),
                      "open_low": p["low"] is not None and p["high"] is None and p["best"] is None,
                      "open_high": p["high"] is not None and p["low"] is None and p["best"] is None,
                      "colour": colour[p["estimator"]], "label": p["label"], "href": p["href"]})
    ticks = [{"y": y(v), "label": f"{v:,}"} for v in range(0, top + 1, top // 4)]
    labels = {p["as_of"]: p.get("as_of_label") or p["as_of"] for p in points}
    axis = [{"x": round(pad + i * slot + slot / 2, 1), "label": labels[d].split(" ", 1)[0],
             "label2": (labels[d].split(" ", 1) + [""])[1]} for i, d in enumerate(dates)]
    legend = [{"name": e, "colour": colour[e]} for e in estimators]
    return {"width": width, "height": height, "pad": pad, "marks": marks, "ticks": ticks, "dates": axis, "legend": legend}


# ---- data access --------------------------------------------------------------------------------

async def rows(datasette, sql: str, params=None) -> list[dict]:
    result = await datasette.get_database(DATABASE).execute(sql, params or [])
    return [dict(r) for r in result.rows]


async def one(datasette, sql: str, params=None) -> dict | None:
    found = await rows(datasette, sql, params)
    return found[0] if found else None


async def actor(datasette, actor_id):
    if not actor_id:
        return None
    return await one(datasette, "select id, name, kind, role, country from actors where id = ?", [actor_id])


async def claim_context(datasette, claim_id: str, limit: int = CLAIM_LIMIT, row_id: str | None = None) -> dict | None:
    claim = await one(datasette, "select * from claim_evidence where claim_id = ?", [claim_id])
    if claim is None:
        return None
    # claim["appearances"] stays the count; at most `limit` of them are listed, with a link to the rest.
    claim["listed"] = await rows(datasette, """
        select a.id, a.stance, a.excerpt, a.document_id, s.name as speaker, s.id as speaker_id,
               r.name as reported_by, r.id as reported_by_id, d.label as document_label
        from appearances a join actors s on s.id = a.speaker_id left join actors r on r.id = a.reported_by_id
        join documents d on d.id = a.document_id
        where a.claim_id = ? order by a.document_id, a.char_start limit ?""", [claim_id, limit])
    claim.update(await evidence_context(datasette, claim_id, limit, row_id))
    claim["relations"] = await rows(datasette, """
        select r.relation, r.basis, c.id as other_id, c.claim as other, 'out' as way
        from claim_relations r join claims c on c.id = r.related_claim_id where r.claim_id = :id
        union all
        select r.relation, r.basis, c.id, c.claim, 'in'
        from claim_relations r join claims c on c.id = r.claim_id where r.related_claim_id = :id""", {"id": claim_id})
    return claim


def proper(code: str) -> str:
    """A code as words, place names capitalised: 'deployed_to_russia' → 'deployed to Russia'."""
    words = code.replace("_", " ")
    for name in ("russia", "ukraine", "north korea", "south korea"):
        words = re.sub(rf"\b{name}\b", name.title(), words)
    return words


async def status_labels(datasette) -> dict:
    """Evidence status and rule codes → their label (a dozen rows built from scripts/evidence.py)."""
    return {r["code"]: r["label"] for r in await rows(datasette, "select code, label from evidence_definitions")}


async def evidence_context(datasette, claim_id: str, limit: int = CLAIM_LIMIT, row_id: str | None = None) -> dict:
    """Why the claim has its status: its origins, counted or discounted and by which rule (claim_origins), at most
    `limit`, the one holding row_id (a row page's own row) first."""
    origins = await rows(datasette, """
        select origin_id, stance, stances, actors, organisations, document_id, appearance_ids, appearances, merged_by,
               counted, discounted_by, superseded_by, independent_group, date_used, date_source
        from claim_origins where claim_id = :claim
        order by instr(', ' || appearance_ids || ', ', ', ' || :row || ', ') > 0 desc,
                 counted desc, stance desc, document_id, sentence_start
        limit :limit""", {"claim": claim_id, "row": row_id or "", "limit": limit})
    for o in origins:
        o["appearance_list"] = o["appearance_ids"].split(", ")
        o["superseded_list"] = o["superseded_by"].split(", ") if o["superseded_by"] else []
    # "origins" is claim_evidence's count of them
    return {"origin_rows": origins, "labels": await status_labels(datasette)}


def describe(table: str, row: dict, speaker: dict | None, extra: dict, labels: dict | None = None) -> str:
    who = speaker["name"] if speaker else "the document"
    if table == "appearances":
        return f"{who} ({row['stance'].replace('_', ' ')}): “{extra['claim']}”"
    if table == "quotes":
        return f"{who}: “{row['quote']}”"
    if table == "weapon_mentions":
        code = row["direction"]
        direction = f", {(labels or {}).get('direction', {}).get(code, code)}" if code else ""
        return f"{extra['weapon']} ({row['status']}{direction}), according to {who}"
    if table == "troop_estimates":
        return f"“{row['original_wording']}” North Korean troops ({proper(row['scope'])}), according to {who}"
    return f"{extra['weapon']} {row['attribute']}: {row['value_text']}"


async def fact_context(datasette, table: str, pk: str, request) -> dict | None:
    row = await one(datasette, f"select * from {table} where id = ?", [pk])
    if row is None:
        return None
    doc = await one(datasette, "select * from documents where id = ?", [row["document_id"]])
    speaker = await actor(datasette, row.get(SPEAKER_COLUMN[table]) if SPEAKER_COLUMN[table] else None)
    reported_by = await actor(datasette, row.get("reported_by_id"))
    extra = {}
    if row.get("claim_id"):
        extra["claim"] = (await one(datasette, "select claim from claims where id = ?", [row["claim_id"]]))["claim"]
    if row.get("weapon_system_id"):
        extra["weapon"] = (await one(datasette, "select name from weapon_systems where id = ?", [row["weapon_system_id"]]))["name"]
    what = describe(table, row, speaker, extra, datasette.metadata("category_labels"))
    # Cited by the database's name, not the route it was read at (/nk_russia-<hash>/ in the deploy images):
    # a citation outlives the deploy whose hash that route carries.
    url = datasette.absolute_url(request, row_path(f"{table}/{pk}") or request.path)
    return {
        "row": row, "document": doc, "speaker": speaker, "reported_by": reported_by, "what": what,
        "passage": passage(doc["text"], row["char_start"], row["char_end"]),
        "claim": await claim_context(datasette, row["claim_id"], ROW_PAGE_LIMIT, pk) if row.get("claim_id") else None,
        "citations": citations(what, doc, row["char_start"], row["char_end"], dataset_citation_fields(datasette.metadata),
                               url, datetime.date.today()),
        "document_reference": document_reference(doc),
    }


async def document_context(datasette, pk: str, request) -> dict | None:
    doc = await one(datasette, "select * from documents where id = ?", [pk])
    if doc is None:
        return None
    spans = []
    for table in sorted(FACT_TABLES):
        for r in await rows(datasette, f"select id, char_start, char_end from {table} where document_id = ?", [pk]):
            spans.append((r["char_start"], r["char_end"], f"{table}/{r['id']}"))
    coverage = await one(datasette, "select * from document_coverage where document_id = ?", [pk])
    uncovered = await rows(datasette, "select text from sentences where document_id = ? and substantive and not covered order by char_start", [pk])
    pieces = [dict(p, kinds=sorted({ref.split("/")[0] for ref in p["refs"]}, key=list(KINDS).index),
                   ending=[{"ref": ref, "href": row_path(ref), "short": ref.split("/")[1]} for ref in p["ending"]],
                   anchors=[ref.split("/")[1] for ref in p["starting"]])
              for p in segments(doc["text"], spans)]
    counted = {k: sum(1 for _, _, ref in spans if ref.startswith(k + "/")) for k in KINDS}
    legend = [{"kind": k, "label": KINDS[k], "rows": n} for k, n in counted.items() if n]
    return {"document": doc, "segments": pieces, "coverage": coverage, "uncovered": uncovered, "legend": legend,
            "cited_rows": len(spans), "document_reference": document_reference(doc)}


async def home_statuses(datasette) -> list[dict]:
    """Claims with counter-evidence (evidence model v2), each with the sentence saying why."""
    return await rows(datasette, """
        select claim_id, claim, evidence_status, supporting_origins, denying_origins, unconfirming_origins, status_reason
        from claim_evidence where evidence_status in ('contested', 'denied_by_party_only', 'denied')
        order by evidence_status, supporting_origins desc, claim_id limit ?""", [HOME_LIMIT])


async def home_context(datasette) -> dict:
    estimates = await rows(datasette, """
        select t.id, t.as_of_start, t.as_of_end, t.as_of_precision, t.as_of_inferred, t.original_wording, t.scope,
               t.value_low, t.value_best, t.value_high, e.name as estimator, t.estimator_id, e.kind as estimator_kind, r.name as reported_by,
               t.document_id, t.excerpt, t.qualifier
        from troop_estimates t join actors e on e.id = t.estimator_id left join actors r on r.id = t.reported_by_id
        where t.scope != 'army_size' order by t.as_of_start desc, t.id limit ?""", [HOME_LIMIT])
    for e in estimates:
        e["scope_label"] = proper(e["scope"])
    points = [{"as_of": e["as_of_start"] or "undated", "as_of_label": as_of_label(e), "estimator": estimator_label(e),
               "low": e["value_low"], "best": e["value_best"], "high": e["value_high"],
               "label": f"{e['original_wording']} ({e['scope_label']}) — {estimator_label(e)}, as of {as_of_label(e)}",
               "href": row_path(f"troop_estimates/{e['id']}")}
              # an increment is not a count of troops; an unquantified figure ('several thousand') has no point
              for e in reversed(estimates) if e["qualifier"] not in ("additional", "unquantified")]
    transfers = {direction: await rows(datasette, """
        select weapon_system_id as id, name, category, mentions, statuses, top_sources as sources,
               example_mention_id as example
        from transfer_summary where direction = ? order by firm desc, mentions desc, name limit ?""", [direction, HOME_LIMIT])
        for direction in ("ru_to_kp", "kp_to_ru")}
    contested = await home_statuses(datasette)
    denials = await rows(datasette, """
        select appearance_id as id, denied_by as speaker, claim, excerpt, document_id
        from denial_statements order by denied_by, appearance_id limit ?""", [HOME_LIMIT])
    # Immutable database: counts come from the inspect file, not a count(*) per table per request.
    all_counts = await datasette.get_database(DATABASE).table_counts(limit=1000)
    counts = {t: all_counts.get(t) for t in ("documents", "claims", "appearances", "quotes", "actors",
                                             "weapon_mentions", "troop_estimates")}
    return {"estimates": estimates, "timeline": timeline_layout(points), "transfers": transfers,
            "summary": summary(estimates, contested, denials, counts),
            "increments": [e for e in estimates if e["qualifier"] == "additional"],
            "carried": any(e["reported_by"] for e in estimates),
            "contested": contested, "denials": denials, "counts": counts,
            "statuses": await rows(datasette, "select code, label, definition from evidence_definitions where kind = 'status'"),
            "labels": await status_labels(datasette)}


# ---- hooks --------------------------------------------------------------------------------------

# The published database never changes: map it into memory, so that reading a page is a memory read and
# not a read() system call (at a million appearances a search page reads tens of thousands of pages).
MMAP_BYTES = 4 * 1024 ** 3


@hookimpl
def prepare_connection(conn, database):
    if database == DATABASE:
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")


@hookimpl
def render_cell(value, column, table):
    # Called for every cell of every page (15,000 on a 1,000-row query): only the link columns concern us,
    # so the others return at the first test, and no cell ever runs SQL. (Search matches are highlighted
    # by plugins/nk_search.py.)
    if column not in RENDERED_COLUMNS or not isinstance(value, str):
        return None
    if column == "document_id":
        # Query results only: table pages already link a document_id with its label (a foreign key).
        if table:
            return None
        label = DOCUMENT_LABELS.get(value)
        text = f"{value[:3]} · {label[:40].rstrip()}{'…' if len(label) > 40 else ''}" if label else value
        return Markup(f'<a href="{escape(row_path("documents/" + value))}" title="{escape(value)}">{escape(text)}</a>')
    path = row_path(value)
    return Markup(f'<a href="{escape(path)}" title="{escape(value)}">{escape(value.split("/", 1)[1])}</a>') if path else None


@hookimpl
def startup(datasette):
    # Document labels for query results' document_id links: read once, since render_cell runs no SQL.
    async def load_labels():
        if DATABASE in datasette.databases:
            result = await datasette.get_database(DATABASE).execute("select id, label from documents")
            DOCUMENT_LABELS.update({r["id"]: r["label"] for r in result.rows})
    return load_labels


@hookimpl
def register_routes():
    # The home page needs none of the table introspection Datasette's index view does for every
    # request (~100 ms here); it renders the same index.html from the summary tables alone.
    async def home(datasette, request):
        from datasette.utils.asgi import Response
        context = {"metadata": datasette.metadata(), "home": await home_context(datasette),
                   "dataset_version": datasette.metadata("dataset_version")}
        return Response.html(await datasette.render_template("index.html", context, request=request))
    return [(r"^/$", home)]


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def page_vars():
        # Links go straight to the database's route (/nk_russia-<hash> in the deploy images), not through a redirect.
        common = {"dataset_version": datasette.metadata("dataset_version"),
                  "db_url": datasette.urls.database(DATABASE) if DATABASE in datasette.databases else f"/{DATABASE}"}
        return {**common, **await specific_vars()}

    async def specific_vars():
        if view_name == "row" and database == DATABASE and request is not None:
            pk = tilde_decode(request.url_vars.get("pks", ""))
            if table in FACT_TABLES:
                return {"evidence": await fact_context(datasette, table, pk, request)}
            if table == "claims":
                return {"claim_page": await claim_context(datasette, pk)}
            if table == "documents":
                return {"document_page": await document_context(datasette, pk, request)}
        return {}
    return page_vars
