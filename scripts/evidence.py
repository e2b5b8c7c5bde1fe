"""Evidence model v2: a claim's status from its independent ORIGINS, not from its rows.

An origin is one statement: the appearances of one claim with the same stance polarity whose excerpts
begin in the same sentence of the same document (sentences as coverage.py splits them, read from the
`sentences` table the coverage stage writes). A joint statement ("The U.S. and NATO have raised alarms")
and a speaker split into several actors ("Military analysts like Kim Dae Young ... suggest") are thus
one origin each, listing all their actors. Origins are then counted or discounted by the rules of
RULES, and the status follows from the counted ones (STATUSES); data/CODEBOOK.md states the same rules
and a test keeps the two in step.

The appearances are read in one scan sorted by claim; the rules run in Python one claim at a time (a
claim's origins are few), so memory stays flat and the cost grows with the number of appearances.
"""
from dataclasses import dataclass

SUPPORTING = ("asserts", "confirms", "warns", "speculates")
DENYING = ("denies",)
UNCONFIRMING = ("cannot_confirm", "declines_to_confirm", "neither_confirms_nor_denies", "doubts")
POLARITY = {**{s: "supports" for s in SUPPORTING}, **{s: "denies" for s in DENYING},
            **{s: "does_not_confirm" for s in UNCONFIRMING}}
# Speakers nobody can check: unnamed "reports" and unnamed experts, analysts or observers.
UNNAMED_KINDS = ("anonymous", "expert_group")
ARTICLE_VOICE = "unattributed"

# code → (label shown on pages, definition). The same words are in data/CODEBOOK.md (tested).
STATUSES = {
    "corroborated": ("corroborated", "supported by two or more independent origins (no organisation in common), "
                     "and no current counter-evidence from an independent origin."),
    "single_origin": ("single origin", "supported by one independent origin (one statement, or several from one "
                      "organisation), and no current counter-evidence from an independent origin."),
    "contested": ("contested", "supported, and denied or not confirmed by a current origin independent of the "
                  "supporters, at least one of them not a party to the conflict."),
    "denied_by_party_only": ("denied only by a party to the conflict", "supported, and the only current "
                             "counter-evidence comes from parties to the conflict (actors.conflict_party of the "
                             "organisation: Russia, North Korea, Ukraine), who are not independent of the question."),
    "unverified": ("unverified", "supported only by anonymous origins (unnamed reports, experts, analysts or "
                   "observers), which cannot corroborate."),
    "denied": ("denied", "denied, and supported by no counted origin."),
    "unconfirmed": ("unconfirmed", "neither supported nor denied by a counted origin: only not confirmed or doubted, or "
                    "denied only by anonymous origins."),
}
RULES = {
    "same_sentence": ("merged: same sentence", "appearances of the claim with the same polarity whose excerpts begin "
                      "in the same sentence of the same document are one origin (a joint statement, or one speaker "
                      "coded as several actors)."),
    "anonymous": ("discounted: anonymous", "every actor of the origin is unnamed (kind anonymous or expert_group): "
                  "shown, marked unverified, never counted towards corroboration or against the claim."),
    "article_restates_source": ("discounted: article restates a source", "the article's own voice, where another "
                                "speaker in the same document takes the same stance on the same claim: it adds "
                                "nothing of its own."),
    "superseded": ("discounted: superseded by a later stance", "each organisation of the origin took the opposite "
                   "stance on the same claim in an origin dated strictly later: both are shown, the latest counts."),
    "own_counter_stance": ("discounted: the organisation also supports the claim", "counter-evidence from organisations "
                           "that also support the claim, where the dates cannot say which came later: not independent "
                           "counter-evidence."),
}


@dataclass
class Appearance:
    id: str
    claim_id: str
    document_id: str
    sentence: int
    stance: str
    speaker_id: str
    speaker: str
    kind: str
    organisation_id: str
    organisation: str
    party: bool
    date_source: str | None
    date_start: str | None
    date_end: str | None
    date_precision: str | None


class Origin:
    """One statement: appearances of one claim, one polarity, one sentence. Attributes are computed once."""

    __slots__ = ("appearances", "id", "claim_id", "document_id", "polarity", "organisations", "article_voice",
                 "anonymous", "party_only", "interval", "counted", "discounted_by", "superseded_by", "group_key")

    def __init__(self, appearances: list[Appearance], polarity: str):
        first = appearances[0]
        self.appearances, self.polarity = appearances, polarity
        self.id, self.claim_id, self.document_id = first.id, first.claim_id, first.document_id
        self.counted, self.discounted_by, self.superseded_by, self.group_key = True, None, [], None
        if len(appearances) == 1:  # most origins: the same, without the loops
            self.organisations = [first.organisation_id]
            self.article_voice, self.anonymous = first.kind == ARTICLE_VOICE, first.kind in UNNAMED_KINDS
            self.party_only, self.interval = first.party, date_interval(first)
            return
        self.organisations = list(dict.fromkeys(a.organisation_id for a in appearances))
        self.article_voice = all(a.kind == ARTICLE_VOICE for a in appearances)
        self.anonymous = all(a.kind in UNNAMED_KINDS for a in appearances)
        self.party_only = all(a.party for a in appearances)
        intervals = [date_interval(a) for a in appearances]
        lows, highs = [low for low, _ in intervals], [high for _, high in intervals]
        # (earliest, latest) the origin can date from; None is open-ended
        self.interval = (None if None in lows else min(lows)), (None if None in highs else max(highs))


# ---- dates --------------------------------------------------------------------------------------

def date_interval(a: Appearance) -> tuple[str | None, str | None]:
    """Partial ISO dates bounding the appearance's date; the high end of a month or year covers all of it."""
    if not a.date_source:
        return None, None
    high = a.date_end or (a.date_start if a.date_precision in ("day", "month", "year") else None)
    return a.date_start or None, high


def strictly_before(earlier: Origin, later: Origin) -> bool:
    """True only when every date the first can have precedes every date the second can have."""
    _, high = earlier.interval
    low, _ = later.interval
    # '~' sorts after every digit and '-': "2024-10~" is after every day of October 2024, before "2024-11".
    return high is not None and low is not None and high + "~" < low


def date_used(origin: Origin) -> str | None:
    low, high = origin.interval
    if low is None and high is None:
        return None
    if low == high:
        return low
    if high is None:
        return f"{low} or later"
    return f"{high} or earlier" if low is None else f"{low} to {high}"


# ---- the rules, one claim at a time ------------------------------------------------------------

def origins_of(appearances: list[Appearance]) -> list[Origin]:
    """Merge one claim's appearances by (document, sentence, polarity), in document order."""
    if len(appearances) == 1:
        return [Origin(appearances, POLARITY[appearances[0].stance])]
    grouped: dict[tuple, list] = {}
    for a in sorted(appearances, key=lambda a: (a.document_id, a.sentence, a.id)):
        grouped.setdefault((a.document_id, a.sentence, POLARITY[a.stance]), []).append(a)
    return [Origin(group, polarity) for (_, _, polarity), group in grouped.items()]


def discount(origin: Origin, rule: str) -> None:
    origin.counted, origin.discounted_by = False, rule


def apply_rules(origins: list[Origin]) -> None:
    """Mark each origin counted or discounted (and why), and label counted supporters by independent origin."""
    for o in origins:
        if o.anonymous:
            discount(o, "anonymous")
    if len(origins) == 1:  # most claims: no other origin to restate, supersede or share an organisation with
        if origins[0].counted and origins[0].polarity == "supports":
            origins[0].group_key = origins[0].id
        return
    for o in origins:
        if o.counted and o.article_voice and any(
                p is not o and p.document_id == o.document_id and p.polarity == o.polarity and not p.article_voice
                for p in origins):
            discount(o, "article_restates_source")
    eligible = [o for o in origins if o.counted]
    for o in eligible:
        later = {org: [p for p in eligible if org in p.organisations and (p.polarity == "supports") != (o.polarity == "supports")
                       and strictly_before(o, p)] for org in o.organisations}
        if all(later.values()):
            discount(o, "superseded")
            o.superseded_by = list(dict.fromkeys(p.id for ps in later.values() for p in ps))
    supporters = [o for o in origins if o.counted and o.polarity == "supports"]
    supporting_orgs = {org for o in supporters for org in o.organisations}
    for o in origins:
        if o.counted and o.polarity != "supports" and set(o.organisations) <= supporting_orgs:
            discount(o, "own_counter_stance")
    for o, key in zip(supporters, organisation_groups(supporters)):
        o.group_key = key


def organisation_groups(origins: list[Origin]) -> list[str]:
    """The id of the independent origin each origin is counted under.

    Independent origins share no organisation. They are picked greedily, fewest organisations first, so a
    joint statement (South Korea + U.S.) does not hide that each also spoke alone; every other origin is
    counted under the first picked one it shares an organisation with.
    """
    picked, used = [], set()
    for o in sorted(origins, key=lambda o: (len(o.organisations), o.id)):
        if used.isdisjoint(o.organisations):
            picked.append(o)
            used.update(o.organisations)
    return [next(p.id for p in picked if not set(p.organisations).isdisjoint(o.organisations)) for o in origins]


def status_of(origins: list[Origin]) -> str:
    counted = [o for o in origins if o.counted]
    support = [o for o in counted if o.polarity == "supports"]
    counter = [o for o in counted if o.polarity != "supports"]
    if support:
        if counter:
            return "denied_by_party_only" if all(o.party_only for o in counter) else "contested"
        return "corroborated" if len({o.group_key for o in support}) >= 2 else "single_origin"
    if any(o.polarity == "supports" and o.discounted_by == "anonymous" for o in origins):
        return "unverified"
    return "denied" if any(o.polarity == "denies" for o in counter) else "unconfirmed"


def names(origins: list[Origin]) -> str:
    return "; ".join(dict.fromkeys(organisation_name(a) for o in origins for a in o.appearances))


def organisation_name(a: Appearance) -> str:
    return f"the article {a.document_id[:3]} (own voice)" if a.kind == ARTICLE_VOICE else a.organisation


def reason(origins: list[Origin]) -> str:
    """One sentence an editor can check against the claim_origins rows."""
    counted = [o for o in origins if o.counted]
    support = [o for o in counted if o.polarity == "supports"]
    groups = list(dict.fromkeys(o.group_key for o in support))
    parts = []
    if support:
        parts.append(f"supported by {len(groups)} independent origin{'s' if len(groups) != 1 else ''} ({names(support)})")
    for polarity, verb in (("denies", "denied by"), ("does_not_confirm", "not confirmed by")):
        these = [o for o in counted if o.polarity == polarity]
        if these:
            parts.append(f"{verb} {names(these)}")
    discounted = [o for o in origins if not o.counted]
    if discounted:
        rules = ", ".join(dict.fromkeys(RULES[o.discounted_by][0].split(": ")[1] for o in discounted))
        parts.append(f"{len(discounted)} origin{'s' if len(discounted) != 1 else ''} discounted ({rules})")
    merged = sum(len(o.appearances) - 1 for o in origins)
    if merged:
        parts.append(f"{merged} appearance{'s' if merged != 1 else ''} merged into the origin of the same sentence")
    text = "; ".join(parts) or "no appearance"
    return text[0].upper() + text[1:] + "."


def judge(appearances: list[Appearance]) -> tuple[list[Origin], dict]:
    """One claim's origins, with the rules applied, and its claim_evidence counts and status."""
    origins = origins_of(appearances)
    apply_rules(origins)
    status = status_of(origins)
    supporting, denying, unconfirming, anonymous, discounted = set(), 0, 0, 0, 0
    for o in origins:
        if not o.counted:
            discounted += 1
            anonymous += o.discounted_by == "anonymous"
        elif o.polarity == "supports":
            supporting.add(o.group_key)
        elif o.polarity == "denies":
            denying += 1
        else:
            unconfirming += 1
    return origins, {
        "supporting_origins": len(supporting), "denying_origins": denying, "unconfirming_origins": unconfirming,
        "anonymous_origins": anonymous, "discounted_origins": discounted, "origins": len(origins),
        "speakers": len({a.speaker_id for a in appearances}),
        "documents": len({a.document_id for a in appearances}),
        "appearances": len(appearances),
        "evidence_status": status,
        "status_reason": reason(origins),
    }


def listed(values, sep: str) -> str:
    return sep.join(dict.fromkeys(values))


def origin_row(o: Origin) -> tuple:
    apps = o.appearances
    common = (int(o.counted), o.discounted_by, ", ".join(o.superseded_by) or None, o.group_key,
              int(o.anonymous), int(o.party_only), date_used(o), apps[0].date_source, apps[0].sentence)
    if len(apps) == 1:  # most origins: nothing to list
        a = apps[0]
        return (o.id, o.claim_id, o.document_id, o.polarity, a.stance, a.speaker, a.speaker_id, organisation_name(a),
                a.id, 1, None, *common)
    return (o.id, o.claim_id, o.document_id, o.polarity, listed([a.stance for a in apps], ", "),
            listed([a.speaker for a in apps], "; "), listed([a.speaker_id for a in apps], ", "),
            listed([organisation_name(a) for a in apps], "; "), ", ".join(a.id for a in apps), len(apps),
            "same_sentence", *common)


# ---- the build: one scan of the appearances, sorted by claim -----------------------------------

# Sorted by claim in one scan; each appearance takes the start of the last sentence beginning at or before its
# excerpt (a seek in the sentences' primary key). Speakers and documents are looked up in memory (DETAILS):
# joining them here cost more than the scan itself.
APPEARANCES_SQL = """
SELECT a.id, a.claim_id, a.document_id,
  coalesce((SELECT max(t.char_start) FROM sentences t WHERE t.document_id = a.document_id AND t.char_start <= a.char_start),
           a.char_start),
  a.stance, a.speaker_id, a.stated_start, a.stated_end, a.stated_precision
FROM appearances a NOT INDEXED ORDER BY a.claim_id
"""
SPEAKERS_SQL = """
SELECT s.id, s.name, s.kind, r.root_id, root.name, root.conflict_party
FROM actors s JOIN actor_roots r ON r.actor_id = s.id JOIN actors root ON root.id = r.root_id
"""
DOCUMENT_DATES_SQL = "SELECT id, date_start, date_end, date_precision FROM documents"


ORIGIN_COLUMNS = [
    ("origin_id", "TEXT PRIMARY KEY"), ("claim_id", "TEXT NOT NULL REFERENCES claims(id)"),
    ("document_id", "TEXT NOT NULL REFERENCES documents(id)"), ("stance", "TEXT NOT NULL"), ("stances", "TEXT NOT NULL"),
    ("actors", "TEXT NOT NULL"), ("actor_ids", "TEXT NOT NULL"), ("organisations", "TEXT NOT NULL"),
    ("appearance_ids", "TEXT NOT NULL"), ("appearances", "INTEGER NOT NULL"), ("merged_by", "TEXT"),
    ("counted", "INTEGER NOT NULL"), ("discounted_by", "TEXT"), ("superseded_by", "TEXT"), ("independent_group", "TEXT"),
    ("anonymous", "INTEGER NOT NULL"), ("party_to_conflict", "INTEGER NOT NULL"), ("date_used", "TEXT"),
    ("date_source", "TEXT"), ("sentence_start", "INTEGER NOT NULL"),
]
EVIDENCE_COUNTS = ["supporting_origins", "denying_origins", "unconfirming_origins", "anonymous_origins",
                   "discounted_origins", "origins", "speakers", "documents", "appearances", "evidence_status", "status_reason"]


def claims_in_order(conn):
    """The sorted scan as one list of Appearances per claim."""
    speakers = {row[0]: row[1:] for row in conn.execute(SPEAKERS_SQL)}
    dates = {row[0]: row[1:] for row in conn.execute(DOCUMENT_DATES_SQL)}
    current, batch = None, []
    for id, claim_id, document_id, sentence, stance, speaker_id, start, end, precision in conn.execute(APPEARANCES_SQL):
        name, kind, root, root_name, party = speakers[speaker_id]
        if root == ARTICLE_VOICE:  # each archived article's own voice is its own organisation
            root = f"{ARTICLE_VOICE}:{document_id}"
        if precision != "unknown":
            source = "stated"
        else:
            start, end, precision = dates[document_id]
            source = "document" if precision != "unknown" else None
        if claim_id != current and batch:
            yield batch
            batch = []
        current = claim_id
        batch.append(Appearance(id, claim_id, document_id, sentence, stance, speaker_id, name, kind, root, root_name,
                                bool(party), source, start, end, precision))
    if batch:
        yield batch


def create_evidence_tables(conn) -> None:
    """claim_origins (one row per origin) and claim_evidence (one per claim); needs actor_roots and sentences."""
    conn.execute(f"CREATE TABLE claim_origins ({', '.join(f'{c} {t}' for c, t in ORIGIN_COLUMNS)})")
    conn.execute(f"CREATE TEMP TABLE evidence_counts (claim_id TEXT PRIMARY KEY, {', '.join(EVIDENCE_COUNTS)})")
    insert_origin = f"INSERT INTO claim_origins VALUES ({', '.join('?' * len(ORIGIN_COLUMNS))})"
    insert_counts = f"INSERT INTO evidence_counts VALUES ({', '.join('?' * (len(EVIDENCE_COUNTS) + 1))})"
    origin_rows, count_rows = [], []
    for batch in claims_in_order(conn):
        origins, counts = judge(batch)
        origin_rows.extend(origin_row(o) for o in origins)
        count_rows.append((batch[0].claim_id, *(counts[c] for c in EVIDENCE_COUNTS)))
        if len(origin_rows) >= 10_000:
            conn.executemany(insert_origin, origin_rows)
            conn.executemany(insert_counts, count_rows)
            origin_rows, count_rows = [], []
    conn.executemany(insert_origin, origin_rows)
    conn.executemany(insert_counts, count_rows)
    zero = {"evidence_status": "'unconfirmed'", "status_reason": "'No appearance.'"}
    columns = ", ".join(f"coalesce(k.{c}, {zero.get(c, 0)}) AS {c}" for c in EVIDENCE_COUNTS)
    conn.execute(f"""CREATE TABLE claim_evidence AS SELECT c.id AS claim_id, c.claim, c.topic, c.direction, {columns}
                     FROM claims c LEFT JOIN evidence_counts k ON k.claim_id = c.id ORDER BY 1""")
    conn.execute("DROP TABLE evidence_counts")


def create_definitions(conn) -> None:
    """The status and rule codes with their labels and definitions, so pages can link each word to its meaning."""
    conn.execute("CREATE TABLE evidence_definitions (code TEXT PRIMARY KEY, kind TEXT NOT NULL, label TEXT NOT NULL, "
                 "definition TEXT NOT NULL)")
    conn.executemany("INSERT INTO evidence_definitions VALUES (?, ?, ?, ?)",
                     [(code, kind, label, text) for kind, table in (("status", STATUSES), ("rule", RULES))
                      for code, (label, text) in table.items()])
