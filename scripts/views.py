"""Derived views: evidence status per claim, computed from the appearances, never typed by hand.

Sources are counted by independent organisation: a speaker counts as the top of its affiliation
chain (Lloyd Austin → Pentagon → United States government), so one government's officials do not
corroborate each other. Statements in an article's own voice count once per article.
"""

SUPPORTING = ("asserts", "confirms", "warns", "speculates")
DENYING = ("denies",)
UNCONFIRMING = ("cannot_confirm", "declines_to_confirm", "neither_confirms_nor_denies", "doubts")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


ACTOR_ROOTS = """
CREATE VIEW actor_roots AS
WITH RECURSIVE chain(actor_id, root_id, depth) AS (
  SELECT id, id, 0 FROM actors
  UNION ALL
  SELECT chain.actor_id, actors.affiliation_id, chain.depth + 1
  FROM chain JOIN actors ON actors.id = chain.root_id
  WHERE actors.affiliation_id IS NOT NULL AND chain.depth < 20
)
SELECT actor_id, root_id FROM chain c
WHERE depth = (SELECT max(depth) FROM chain WHERE actor_id = c.actor_id)
"""

CLAIM_EVIDENCE = f"""
CREATE VIEW claim_evidence AS
WITH s AS (
  SELECT a.claim_id, a.stance, a.speaker_id, a.document_id,
    -- each archived article's own voice is its own source, not one source shared by all articles
    CASE WHEN r.root_id = 'unattributed' THEN 'unattributed:' || a.document_id ELSE r.root_id END AS root_id
  FROM appearances a JOIN actor_roots r ON r.actor_id = a.speaker_id
), counts AS (
  SELECT claim_id,
    count(DISTINCT CASE WHEN stance IN {_in(SUPPORTING)} THEN root_id END) AS supporting_sources,
    count(DISTINCT CASE WHEN stance IN {_in(DENYING)} THEN root_id END) AS denying_sources,
    count(DISTINCT CASE WHEN stance IN {_in(UNCONFIRMING)} THEN root_id END) AS unconfirming_sources,
    count(DISTINCT speaker_id) AS speakers,
    count(DISTINCT document_id) AS documents,
    count(*) AS appearances
  FROM s GROUP BY claim_id
)
SELECT c.id AS claim_id, c.claim, c.topic, c.direction,
  coalesce(k.supporting_sources, 0) AS supporting_sources,
  coalesce(k.denying_sources, 0) AS denying_sources,
  coalesce(k.unconfirming_sources, 0) AS unconfirming_sources,
  coalesce(k.speakers, 0) AS speakers,
  coalesce(k.documents, 0) AS documents,
  coalesce(k.appearances, 0) AS appearances,
  CASE
    WHEN coalesce(k.supporting_sources, 0) = 0 AND k.denying_sources > 0 THEN 'denied'
    WHEN k.supporting_sources > 0 AND (k.denying_sources > 0 OR k.unconfirming_sources > 0) THEN 'contested'
    WHEN k.supporting_sources > 1 THEN 'corroborated'
    WHEN k.supporting_sources = 1 THEN 'single-source'
    ELSE 'unconfirmed'
  END AS evidence_status
FROM claims c LEFT JOIN counts k ON k.claim_id = c.id
"""

VIEWS = [ACTOR_ROOTS, CLAIM_EVIDENCE]


def create_views(conn) -> None:
    with conn:
        for sql in VIEWS:
            conn.execute(sql)
