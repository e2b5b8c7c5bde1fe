"""Every excerpt-bearing row as a W3C Web Annotation (JSON-LD): /nk_russia/<table>/<id>.jsonld on the site,
and all of them in the data package (dist/annotations.jsonld, written by scripts/publish.py with stream()).

The target is the archived document on the site, selected twice: by quote (the excerpt with PREFIX_CHARS
characters either side, so a reader re-finds it even in another copy of the text) and by position
(char_start/char_end, Unicode characters). The body says what the row records: the claim and the stance,
the quote, the weapon mentioned or the figure, with the speaker. Pure helpers first; the hook at the end.
"""
import functools
import json
import re

from datasette import hookimpl
from datasette.utils import tilde_encode

DATABASE = "nk_russia"
CONTEXT = "http://www.w3.org/ns/anno.jsonld"
PREFIX_CHARS = 32
LICENCE = "https://creativecommons.org/licenses/by/4.0/"
MEDIA_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'

# Per table: the row with what its body needs, under common names (speaker_id, speaker, claim_id, claim, ...).
_ACTOR = "left join actors s on s.id = t.{speaker}"
_CLAIM = "left join claims c on c.id = t.claim_id"
_WEAPON = "join weapon_systems w on w.id = t.weapon_system_id"
SELECT = {
    "appearances": f"""select t.id, t.document_id, t.char_start, t.char_end, t.excerpt, t.speaker_id, s.name as speaker,
        t.claim_id, c.claim, t.stance as tag from appearances t {_ACTOR.format(speaker="speaker_id")} {_CLAIM}""",
    "quotes": f"""select t.id, t.document_id, t.char_start, t.char_end, t.excerpt, t.speaker_id, s.name as speaker,
        t.claim_id, c.claim, t.quote from quotes t {_ACTOR.format(speaker="speaker_id")} {_CLAIM}""",
    "weapon_mentions": f"""select t.id, t.document_id, t.char_start, t.char_end, t.excerpt, t.source_id as speaker_id,
        s.name as speaker, t.claim_id, c.claim, t.status as tag, t.direction, w.id as weapon_id, w.name as weapon
        from weapon_mentions t {_ACTOR.format(speaker="source_id")} {_CLAIM} {_WEAPON}""",
    "weapon_specs": f"""select t.id, t.document_id, t.char_start, t.char_end, t.excerpt, t.attribute as tag, t.value_text,
        w.id as weapon_id, w.name as weapon from weapon_specs t {_WEAPON}""",
    "troop_estimates": f"""select t.id, t.document_id, t.char_start, t.char_end, t.excerpt, t.estimator_id as speaker_id,
        s.name as speaker, t.claim_id, c.claim, t.qualifier as tag, t.original_wording, t.scope
        from troop_estimates t {_ACTOR.format(speaker="estimator_id")} {_CLAIM}""",
}
TABLES = tuple(SELECT)
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+").fullmatch  # what tilde_encode leaves unchanged
_string = json.encoder.encode_basestring  # a str as a JSON string, in C, non-ASCII kept as it is


# ---- pure helpers -------------------------------------------------------------------------------

def path(table: str, row_id: str) -> str:
    # tilde_encode costs more than the rest of an annotation, and ids almost never need it.
    return f"/{DATABASE}/{table}/{row_id if _URL_SAFE(row_id) else tilde_encode(row_id)}"


def selectors(text: str, start: int, end: int) -> list[dict]:
    return [{"type": "TextQuoteSelector", "exact": text[start:end],
             "prefix": text[max(0, start - PREFIX_CHARS):start], "suffix": text[end:end + PREFIX_CHARS]},
            {"type": "TextPositionSelector", "start": start, "end": end}]


def description(table: str, row: dict) -> str:
    """The row in one plain sentence: what it records and who said it."""
    who = row.get("speaker") or "the document itself"
    if table == "appearances":
        return f"{who} {row['tag'].replace('_', ' ')}: {row['claim']}"
    if table == "quotes":
        return f"{who}, quoted: “{row['quote']}”"
    if table == "weapon_mentions":
        direction = f", {row['direction']}" if row.get("direction") else ""
        return f"{row['weapon']} ({row['tag'].replace('_', ' ')}{direction}), according to {who}"
    if table == "troop_estimates":
        return f"“{row['original_wording']}” North Korean troops ({row['scope'].replace('_', ' ')}), according to {who}"
    return f"{row['weapon']}, {row['tag'].replace('_', ' ')}: {row['value_text']}"


def annotation_json(table: str, row: dict, text: str, base: str = "") -> str:
    """One row as an Annotation, as JSON text; base: the site's origin ('' for IRIs relative to its root).

    Written as text around C-encoded strings rather than through json.dumps of a dict: a million rows
    go into the data package, and this is several times faster (the renderer parses it back)."""
    body = ['{"type": "TextualBody", "purpose": "describing", "format": "text/plain", "language": "en", '
            f'"value": {_string(description(table, row))}}}']
    if row.get("tag"):
        body.append(f'{{"type": "TextualBody", "purpose": "tagging", "value": {_string(row["tag"])}}}')
    if row.get("claim_id"):
        body.append(f'{{"id": {_string(base + path("claims", row["claim_id"]))}, "purpose": "classifying", '
                    f'"label": {_string(row["claim"])}}}')
    if row.get("weapon_id"):
        body.append(f'{{"id": {_string(base + path("weapon_systems", row["weapon_id"]))}, "purpose": "identifying", '
                    f'"label": {_string(row["weapon"])}}}')
    if row.get("speaker_id"):
        body.append(f'{{"id": {_string(base + path("actors", row["speaker_id"]))}, "purpose": "linking", '
                    f'"name": {_string(row["speaker"])}}}')
    quote, position = selectors(text, row["char_start"], row["char_end"])
    return (f'{{"id": {_string(base + path(table, row["id"]) + ".jsonld")}, "type": "Annotation", '
            f'"motivation": "describing", "rights": "{LICENCE}", "body": [{", ".join(body)}], '
            f'"target": {{"type": "SpecificResource", "source": {_string(base + path("documents", row["document_id"]))}, '
            f'"selector": [{{"type": "TextQuoteSelector", "exact": {_string(quote["exact"])}, '
            f'"prefix": {_string(quote["prefix"])}, "suffix": {_string(quote["suffix"])}}}, '
            f'{{"type": "TextPositionSelector", "start": {position["start"]}, "end": {position["end"]}}}]}}}}')


def annotation(table: str, row: dict, text: str, base: str = "") -> dict:
    return json.loads(annotation_json(table, row, text, base))


def document(annotations: list[dict]) -> dict:
    """Annotations as one JSON-LD document: a single one with its context, several as a graph."""
    if len(annotations) == 1:
        return {"@context": CONTEXT, **annotations[0]}
    return {"@context": CONTEXT, "@graph": annotations}


def stream(conn, out, texts_cached: int = 64) -> int:
    """Write every annotation of the database (sqlite3 connection) to the text file `out` as one JSON-LD
    document, a row at a time (one line each), with IRIs relative to the site's root; returns how many."""
    @functools.lru_cache(maxsize=texts_cached)
    def text_of(doc_id):
        return conn.execute("select text from documents where id = ?", [doc_id]).fetchone()[0]

    out.write(f'{{"@context": {json.dumps(CONTEXT)}, "@graph": [\n')
    written = 0
    for table in TABLES:
        cursor = conn.execute(SELECT[table] + " where t.char_start is not null order by t.id")
        names = [d[0] for d in cursor.description]
        for values in cursor:
            row = dict(zip(names, values))
            out.write((",\n" if written else "") + annotation_json(table, row, text_of(row["document_id"])))
            written += 1
    out.write("\n]}\n")
    return written


# ---- hook ---------------------------------------------------------------------------------------

async def _annotations(datasette, table: str, ids: list[str], request) -> list[dict]:
    db = datasette.get_database(DATABASE)
    marks = ", ".join("?" for _ in ids)
    result = await db.execute(f"{SELECT[table]} where t.id in ({marks}) and t.char_start is not null order by t.id", ids)
    rows = [dict(r) for r in result.rows]
    docs = {r["document_id"] for r in rows}
    texts = {r["id"]: r["text"] for r in (await db.execute(
        f"select id, text from documents where id in ({', '.join('?' for _ in docs)})", list(docs))).rows} if docs else {}
    base = datasette.absolute_url(request, "/").rstrip("/")
    return [annotation(table, r, texts[r["document_id"]], base) for r in rows]


def _can_render(database, table, columns):
    return database == DATABASE and table in SELECT and "id" in (columns or [])


async def _render(datasette, database, table, columns, rows, request):
    from datasette.utils.asgi import Response
    # can_render only decides which pages link the format: a .jsonld URL of any other table comes here too.
    ids = [r["id"] for r in rows] if _can_render(database, table, columns) else []
    found = await _annotations(datasette, table, ids, request) if ids else []
    if not found:
        return Response.text("No annotation: no row with an excerpt here.", status=404)
    return Response(json.dumps(document(found), ensure_ascii=False, indent=2), content_type=MEDIA_TYPE,
                    headers={"Access-Control-Allow-Origin": "*"})


@hookimpl
def register_output_renderer(datasette):
    return {"extension": "jsonld", "render": _render, "can_render": _can_render}
