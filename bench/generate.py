"""Synthetic data valid under the real schema, for benchmarks at 1e4, 1e5 and 1e6 appearances.

    python -m bench.generate --appearances N --out DIR

writes DIR/data/ (datapackage.json copied from data/, one CSV per resource with the real header) and
DIR/seeds/ (generated plain-text documents), which the real build accepts:

    python -m scripts.build --data DIR/data --seeds DIR/seeds --out DIR/x.db --build-dir DIR/b --dist DIR/d

Every value obeys data/datapackage.json (types, required, enums, patterns, partial dates whose
precision matches start and end, true/false booleans, no cell opening with = + - @, no markup, no
outer white space); every foreign key resolves; every actor, claim and weapon system is referenced.
A document is a sequence of sentences, one per appearance; each sentence opens with a lead-in that
carries a counter unique in its document ("At briefing 17, ..."), and every excerpt contains that
lead-in, so it occurs in its document exactly once. As in the real data, the excerpts of the other
tables lie inside (or equal) an appearance's sentence: an actor's name and role, a weapon mention,
a troop figure, a specification, a quote. Figures, specifications and quotes carry a number unique in
their document, so `original_wording`, `value_text` and `quote` also occur exactly once.

Streaming: rows are written as they are produced (one csv.writer per file); only one document's
sentences, a bit per actor and a 200-row weapon catalogue are held. Actors and claims are pure
functions of their index (a splitmix64 hash), so an appearance can name a speaker or a claim without
a table in memory. Output is deterministic for a given N (random.Random(N)).
"""
import argparse
import bisect
import csv
import hashlib
import json
import re
import resource
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGE = ROOT / "data" / "datapackage.json"
MARKER = ".bench-generated"  # written into --out; an existing data/ or seeds/ is replaced only beside it

# Proportions, measured from data/*.csv (162 appearances in 5 documents):
APPEARANCES_PER_DOCUMENT = 100 / 3  # real 162/5 = 32.4 (25 to 47 a document)
CLAIMS_PER_APPEARANCE = 1 / 2  # real 78/162 = 0.48; every claim has an appearance
APPEARANCES_PER_ACTOR = 40  # real 162/37 = 4.4, but speakers recur across documents: grows slower
MIN_ACTORS = 50
QUOTES_PER_APPEARANCE = 1 / 8  # real 19/162 = 0.117
MENTIONS_PER_APPEARANCE = 1 / 2  # real 73/162 = 0.45
SPECS_PER_APPEARANCE = 1 / 100  # real 2/162 = 0.012
ESTIMATES_PER_APPEARANCE = 1 / 20  # real 9/162 = 0.056
RELATIONS_PER_CLAIM = 1 / 5  # real 40/78 = 0.51
WEAPON_SYSTEMS = 200  # a catalogue (real 30); at most half the mentions, so each one is mentioned
# Shares of optional cells and enum values, from the same files.
UNATTRIBUTED_SHARE = 0.36  # real 58/162 appearances in the article's own voice
REPORTED_SHARE = 0.10  # appearances.reported_by_id: real 16/162
ACTOR_EXCERPT_SHARE = 0.72  # real 26/36 actors besides 'unattributed'
HEADLINE_SHARE = 0.40  # real 2/5
PAIRED_SHARE = 0.12  # sentences carrying two claims: real 145 distinct excerpts for 162 appearances

COLUMNS = {
    "retired_ids": "id table_name reason replaced_by retired_on",  # header only: nothing is retired
    "documents": "id label headline outlet url archive_url language retrieved_on supplied_by date_text date_start date_end date_precision date_inferred date_basis sha256",
    "actors": "id name kind country role affiliation_id conflict_party document_id excerpt excerpt_occurrence",
    "claims": "id claim topic direction subject_id",
    "appearances": "id claim_id document_id speaker_id reported_by_id stance stated_text stated_start stated_end "
                   "stated_precision stated_inferred stated_basis excerpt excerpt_occurrence note",
    "quotes": "id document_id speaker_id reported_by_id claim_id quote occasion excerpt excerpt_occurrence",
    "weapon_systems": "id name category aliases origin",
    "weapon_mentions": "id weapon_system_id document_id claim_id source_id direction status excerpt excerpt_occurrence note",
    "weapon_specs": "id weapon_system_id document_id attribute value unit value_text excerpt excerpt_occurrence",
    "troop_estimates": "id document_id claim_id estimator_id reported_by_id value_low value_best value_high original_wording "
                       "qualifier scope as_of_text as_of_start as_of_end as_of_precision as_of_inferred as_of_basis excerpt "
                       "excerpt_occurrence note",
    "claim_relations": "id claim_id relation related_claim_id basis",
    "aliases": "alias actor_id weapon_system_id claim_id variant",
}
COLUMNS = {name: cols.split() for name, cols in COLUMNS.items()}


def counts(n: int) -> dict:
    """Rows per table for n appearances."""
    claims = max(1, round(n * CLAIMS_PER_APPEARANCE))
    mentions = round(n * MENTIONS_PER_APPEARANCE)
    return {
        "retired_ids": 0,
        "appearances": n,
        "documents": max(1, round(n / APPEARANCES_PER_DOCUMENT)),
        "claims": claims,
        "actors": max(MIN_ACTORS, n // APPEARANCES_PER_ACTOR),
        "quotes": round(n * QUOTES_PER_APPEARANCE),
        "weapon_mentions": mentions,
        "weapon_specs": round(n * SPECS_PER_APPEARANCE),
        "troop_estimates": round(n * ESTIMATES_PER_APPEARANCE),
        "claim_relations": min(claims - 1, round(claims * RELATIONS_PER_CLAIM)),
        "weapon_systems": max(1, min(WEAPON_SYSTEMS, mentions // 2)),
    }


# --- deterministic hashing: attributes of actors and claims as pure functions of their index --------

M64 = (1 << 64) - 1


def mix(x: int) -> int:
    """splitmix64 finaliser."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


class Bits:
    """Successive choices drawn from one 64-bit hash (re-mixed when used up)."""

    __slots__ = ("h", "key")

    def __init__(self, key: int):
        self.key = key
        self.h = mix(key)

    def below(self, n: int) -> int:
        if self.h < (1 << 24):
            self.key += 0x632BE59BD9B4E019
            self.h = mix(self.key)
        self.h, r = divmod(self.h, n)
        return r

    def pick(self, seq):
        return seq[self.below(len(seq))]

    def chance(self, p: float) -> bool:
        return self.below(10_000) < p * 10_000

    def weighted(self, table):
        """table: (values, cumulative weights) from cumulative()."""
        values, cum = table
        return values[bisect.bisect_right(cum, self.below(cum[-1]))]


def cumulative(weights: dict):
    values, cum, total = [], [], 0
    for value, weight in weights.items():
        total += weight
        values.append(value)
        cum.append(total)
    return values, cum


def rng_weighted(rng: Random, table):
    values, cum = table
    return values[bisect.bisect_right(cum, rng.random() * cum[-1])]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --- vocabulary --------------------------------------------------------------------------------------

COUNTRY_NAME = {"KR": "South Korea", "KP": "North Korea", "RU": "Russia", "US": "the United States", "UA": "Ukraine",
                "JP": "Japan", "CN": "China", "GB": "Britain", "HK": "Hong Kong"}
COUNTRY_ADJ = {"KR": "South Korean", "KP": "North Korean", "RU": "Russian", "US": "U.S.", "UA": "Ukrainian",
               "JP": "Japanese", "CN": "Chinese", "GB": "British", "HK": "Hong Kong", "": "international"}
CAPITAL = {"KR": "Seoul", "KP": "Pyongyang", "RU": "Moscow", "US": "Washington", "UA": "Kyiv", "JP": "Tokyo",
           "CN": "Beijing", "GB": "London", "HK": "Hong Kong", "": "Geneva"}
CONFLICT_PARTIES = {"RU", "UA", "KP"}
GOVERNMENTS = ["KR", "KP", "RU", "US", "UA", "JP", "CN", "GB"]
# (id, name, kind, country, role, sentence label)
FIXED_ACTORS = [("unattributed", "The archived article (own voice)", "unattributed", "",
                 "Statements the document makes without naming a source", "the article")]
FIXED_ACTORS += [(f"{c.lower()}-government", f"{COUNTRY_ADJ[c].replace('U.S.', 'United States')} government", "government", c, "",
                  COUNTRY_NAME[c].replace("the United States", "Washington")) for c in GOVERNMENTS]
FIXED_ACTORS += [
    ("reuters", "Reuters", "news_agency", "GB", "", "Reuters"),
    ("kp-kcna", "Korean Central News Agency (KCNA)", "state_media", "KP", "North Korean state news agency", "KCNA"),
    ("kr-sbs-tv", "SBS TV", "news_outlet", "KR", "", "SBS TV"),
    ("scmp", "South China Morning Post (SCMP)", "news_outlet", "HK", "", "the South China Morning Post"),
    ("yonhap", "Yonhap News Agency", "news_agency", "KR", "", "Yonhap"),
    ("tass", "TASS", "state_media", "RU", "Russian state news agency", "TASS"),
    ("unnamed-reports", "Unnamed reports", "anonymous", "", "Reports the document cites without naming their source", "reports"),
    ("unnamed-experts", "Unnamed experts", "expert_group", "", "", "experts"),
    ("unnamed-analysts", "Unnamed analysts", "expert_group", "", "", "analysts"),
    ("unnamed-observers", "Unnamed observers", "expert_group", "", "", "observers"),
    ("nato", "NATO", "international_organisation", "", "", "NATO"),
    ("united-nations", "United Nations", "international_organisation", "", "", "the United Nations"),
]
MEDIA_KINDS = {"news_agency", "news_outlet", "state_media"}
INSTITUTION_KINDS = {"ministry", "armed_forces", "intelligence_agency", "officials_group"}

ACTOR_KINDS = cumulative({"person": 40, "expert": 8, "officials_group": 6, "ministry": 6, "armed_forces": 4,
                          "intelligence_agency": 3, "news_outlet": 8, "news_agency": 2, "state_media": 1,
                          "expert_group": 4, "anonymous": 3, "think_tank": 4, "academic_institution": 3,
                          "international_organisation": 1})
ACTOR_COUNTRIES = cumulative({"KR": 30, "": 10, "RU": 14, "KP": 11, "US": 12, "UA": 8, "JP": 5, "CN": 5, "GB": 3})
FIRST = {
    "KR": ["Min-jun", "Ji-ho", "Seo-yeon", "Won-gon", "Yong-hyun", "Hye-jin", "Sung-ho", "Eun-ji", "Dong-hyun", "Ha-eun", "Jae-won", "Soo-bin"],
    "KP": ["Song", "Yo-jong", "Chol", "Myong-guk", "Su-gil", "Jong-ho", "Kwang-il", "Son-hui", "Chang-ho", "Yong-chol"],
    "RU": ["Sergei", "Andrei", "Maria", "Dmitry", "Alexander", "Elena", "Georgy", "Vladimir", "Olga", "Pavel", "Nikolai"],
    "US": ["Lloyd", "Karine", "Matthew", "Linda", "John", "Sabrina", "Robert", "Emily", "David", "Rachel", "Michael"],
    "UA": ["Volodymyr", "Andriy", "Kyrylo", "Olena", "Dmytro", "Iryna", "Oleksandr", "Yulia", "Taras", "Rustem"],
    "JP": ["Yoko", "Hiroshi", "Minoru", "Aiko", "Takeshi", "Yuki", "Kenji", "Naoko", "Shigeru"],
    "CN": ["Lin", "Mao", "Wei", "Li", "Jian", "Xiaoming", "Hua", "Yuan", "Qiang"],
    "GB": ["James", "Catherine", "Oliver", "Sarah", "William", "Helen", "Thomas", "Fiona"],
    "": ["Anna", "Peter", "Maria", "Daniel", "Sofia", "Lukas", "Elena", "Marco", "Ines"],
}
LAST = {
    "KR": ["Kim", "Lee", "Park", "Choi", "Shin", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Oh", "Seo"],
    "KP": ["Kim", "Ri", "Pak", "Choe", "Jong", "Kang", "Jo", "Han", "Hyon", "Ryu"],
    "RU": ["Ivanov", "Lavrov", "Shoigu", "Zinoviev", "Petrova", "Smirnov", "Kuznetsov", "Popova", "Volkov", "Sokolov", "Morozov"],
    "US": ["Austin", "Miller", "Singh", "Thomas", "Kirby", "Ryder", "Johnson", "Carter", "Brooks", "Walker", "Hughes"],
    "UA": ["Zelenskyy", "Yermak", "Budanov", "Kovalenko", "Shevchenko", "Bondarenko", "Tkachenko", "Melnyk", "Umerov"],
    "JP": ["Kamikawa", "Hayashi", "Kihara", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto"],
    "CN": ["Jian", "Ning", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang"],
    "GB": ["Healey", "Lammy", "Shapps", "Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans"],
    "": ["Novak", "Rossi", "Dubois", "Weber", "Silva", "Jansen", "Costa", "Nowak", "Berg"],
}
PERSON_ROLES = ["Defence Minister", "Foreign Minister", "Defense Secretary", "Unification Minister", "President",
                "Deputy Foreign Minister", "UN ambassador", "lawmaker", "national security adviser",
                "military spokesperson", "Foreign Ministry spokesperson", "intelligence chief", "Chief of General Staff",
                "presidential spokesperson", "Prime Minister", "Vice Defence Minister"]
EXPERT_ROLES = ["a professor at {city} University", "a fellow at the {city} Institute", "a former intelligence officer",
                "a defence analyst in {city}", "a researcher at {city} National University"]
DEPARTMENTS = ["Defence Ministry", "Foreign Ministry", "Unification Ministry", "Ministry of Emergency Situations",
               "Joint Chiefs of Staff", "Presidential Office", "Security Council", "Interior Ministry"]
FORCES = ["army", "air force", "navy", "military instructors", "special forces", "border guard", "missile forces",
          "artillery brigades", "engineering corps"]
INTELLIGENCE = ["intelligence service", "military intelligence", "counter-intelligence office", "signals intelligence unit"]
OFFICIALS = ["officials", "defence officials", "diplomats", "senior officials", "military officials", "government sources"]
CITIES = ["Seoul", "Busan", "Incheon", "Daegu", "Moscow", "Vladivostok", "Khabarovsk", "Kyiv", "Kharkiv", "Tokyo", "Osaka",
          "Washington", "Boston", "London", "Geneva", "Vienna", "Berlin", "Beijing", "Shanghai", "Singapore", "Sydney"]
PAPERS = ["Herald", "Daily", "Times", "Tribune", "Post", "Gazette", "Observer", "Courier", "Monitor", "Journal", "Chronicle"]
THINK_TANKS = ["Institute for National Security Strategy", "Centre for Strategic Studies", "Asia Policy Institute",
               "Institute for Peace and Unification", "Centre for Arms Control", "Defence Research Forum"]
ORGANISATIONS = ["UN Panel of Experts", "International Atomic Energy Agency", "European Union", "G7", "OSCE",
                 "UN Security Council", "Association of Southeast Asian Nations"]

CLAIM_TOPICS = cumulative({"military_capability": 15, "security_threat": 11, "troop_deployment": 10, "diplomacy": 10,
                           "alliance_cooperation": 9, "technology_transfer": 6, "economic_aid": 6, "weapons_transfer": 6,
                           "sanctions": 5, "weapons_test": 4, "military_agreement": 3, "drone_incident": 3,
                           "information_control": 2, "munitions_supply": 2})
UNITS = ["troops", "soldiers", "engineers", "artillery crews", "special forces", "construction workers",
         "missile technicians", "officers", "medics", "labourers"]
PLACES = ["Russia", "the Kursk region", "the Russian Far East", "Vladivostok", "the front line", "Khabarovsk",
          "Russian ports"]
TECH = ["missile", "satellite", "nuclear-powered submarine", "ICBM re-entry", "space launch", "drone", "air defence",
        "fighter jet", "radar", "precision guidance"]
MUNITIONS = ["artillery shells", "short-range ballistic missiles", "rocket launchers", "ammunition", "anti-tank missiles",
             "conventional arms", "mortar rounds"]
GOODS = ["food", "oil", "fertiliser", "cash", "coal", "wheat", "refined petroleum", "medicine"]
PACTS = ["comprehensive strategic partnership treaty", "mutual defence pact", "military cooperation agreement",
         "memorandum on technical cooperation", "agreement on joint exercises"]
REGIONS = ["the Korean peninsula", "Europe", "the Indo-Pacific region", "Japan", "South Korea", "Northeast Asia",
           "international security"]
CAPABILITIES = ["experience of modern drone warfare", "combat experience", "reliable ammunition", "air cover",
                "modern communications", "night-vision equipment", "secure logistics"]
COORDINATION = ["strategic and tactical coordination", "joint military exercises", "intelligence sharing",
                "defence industry cooperation", "extended deterrence"]
ISSUES = ["the troop deployment", "arms transfers", "the drone flights", "the missile launches", "the new treaty",
          "sanctions violations"]
SECRETS = ["the deployment of its troops", "casualties among its soldiers", "the movement of its ships",
           "the relocation of families of deployed soldiers", "arms shipments"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
RESOLUTIONS = ["1718", "1874", "2087", "2094", "2270", "2321", "2371", "2375", "2397"]
SUBJECT_ACTIONS = ["was invited to visit Pyongyang", "met Kim Jong Un in Vladivostok", "will travel to Moscow",
                   "discussed military cooperation with Russian officials", "pledged support for the war effort",
                   "inspected a weapons factory"]

STANCES = cumulative({"asserts": 95, "warns": 37, "speculates": 18, "cannot_confirm": 3, "doubts": 3, "confirms": 2,
                      "denies": 2, "neither_confirms_nor_denies": 1, "declines_to_confirm": 1})
UNATTRIBUTED_STANCES = cumulative({"asserts": 80, "warns": 12, "speculates": 8})
VERBS = {"asserts": ["said that", "stated that", "noted that", "reported that"], "confirms": ["confirmed that"],
         "denies": ["denied that"], "cannot_confirm": ["could not confirm that"],
         "declines_to_confirm": ["declined to confirm that"],
         "neither_confirms_nor_denies": ["would neither confirm nor deny that"],
         "speculates": ["suggested that", "speculated that"], "warns": ["warned that", "cautioned that"],
         "doubts": ["questioned whether", "cast doubt on reports that"]}
UNATTRIBUTED_VERBS = {"asserts": "", "warns": "the article warns that", "speculates": "it appears that"}
LEADS = ["At briefing", "In dispatch", "In interview", "In statement", "In remarks", "At hearing", "In bulletin"]
OWN_LEADS = ["In section", "In paragraph", "In passage"]
OCCASION_NOUNS = {"At briefing": "Briefing", "In dispatch": "Dispatch", "In interview": "Interview",
                  "In statement": "Statement", "In remarks": "Remarks", "At hearing": "Hearing", "In bulletin": "Bulletin"}

MENTION_STATUS = cumulative({"hypothetical": 27, "context": 21, "reported": 16, "speculated": 5, "alleged": 4,
                             "confirmed": 2, "denied": 2})
MENTION_CLAUSE = {"hypothetical": ", which could include the {w}", "context": ", citing the {w}",
                  "reported": ", including the {w}", "speculated": ", possibly including the {w}",
                  "alleged": ", allegedly including the {w}", "confirmed": ", confirmed to include the {w}",
                  "denied": ", though not the {w}"}
MENTION_NOTES = {"context": "Named without a transfer: the sentence cites the system as background.",
                 "hypothetical": "Named as a possible transfer; nothing is said to have moved yet.",
                 "reported": "Reported as done on the speaker's authority.",
                 "speculated": "The speaker guesses; no evidence is cited in the sentence.",
                 "alleged": "An accusation by the speaker, not a finding.",
                 "confirmed": "Affirmed by the speaker as an authority.",
                 "denied": "The speaker excludes this system."}
QUALIFIERS = cumulative({"up_to": 2, "approx": 2, "over": 2, "additional": 1, "total": 1, "stated": 1})
SCOPES = cumulative({"in_russia": 4, "deployed_to_russia": 3, "preparing_to_join": 1, "in_combat": 1, "army_size": 1})
SCOPE_PHRASE = {"in_russia": "now in Russia", "deployed_to_russia": "sent to Russia",
                "preparing_to_join": "preparing to join the fighting", "in_combat": "engaged in combat in the Kursk region"}
QUALIFIER_COLUMN = {"stated": 1, "approx": 1, "additional": 1, "total": 1, "up_to": 2, "over": 0}  # low, best, high
ESTIMATE_NOTES = {"additional": "Increment, not a total.", "up_to": "Upper bound only; no point figure is given.",
                  "over": "Lower bound only; no point figure is given.", "total": "A running total, not an increment.",
                  "approx": "Approximate figure as worded.", "stated": "A plain figure as printed."}
RELATIONS = cumulative({"corroborates": 15, "refines": 14, "responds_to": 8, "contradicts": 2, "supersedes": 1})
RELATION_VERBS = {"corroborates": "supports", "refines": "adds detail to", "responds_to": "answers",
                  "contradicts": "cannot be true together with", "supersedes": "replaces"}
QUOTES = ["This is a very, very serious issue: {n} violations so far",
          "We will not accept {n} more provocations",
          "There have been {n} shipments that we know of",
          "The {n} incidents show an immediate danger of war",
          "Our partners delivered {n} consignments",
          "We have documented {n} breaches of the sanctions",
          "We see {n} signs of deepening military ties",
          "We can sell much better weapons than those {n} old guns"]
HEADINGS = ["North Korean Troops Training in Russia", "Technology transfer fears", "Reactions in Seoul", "At a Glance",
            "What the intelligence says", "Weapons and technology", "Diplomatic fallout", "The view from Kyiv",
            "Sanctions and enforcement", "What comes next"]
SOURCE_TITLES = ["Russia could transfer missile tech to North Korea, South Korea warns",
                 "South Korean intelligence says North has sent troops to aid Russia’s war in Ukraine",
                 "U.S. says North Korean troops are in Russia", "Pyongyang denies arms deals with Moscow",
                 "Seoul summons Russian ambassador over troop deployment", "Analysts weigh the cost of the partnership"]

# Weapon catalogue: (category, names, sentence noun, usual origin)
WEAPON_KINDS = [
    ("air_defence", ["S", "Pantsir-S", "Buk-M", "Tor-M"], "air defence system", "RU"),
    ("radar", ["Nebo-M", "Podlet-K", "Kasta-"], "radar", "RU"),
    ("counter_drone", ["Repellent-", "Silok-", "Stupor-"], "counter-drone system", "RU"),
    ("ballistic_missile", ["Hwasong-", "KN-", "Iskander-M"], "ballistic missile", "KP"),
    ("cruise_missile", ["Hwasal-", "Kalibr-", "Kh-"], "cruise missile", "RU"),
    ("missile", ["Pulhwasal-", "Kh-", "Igla-"], "missile", ""),
    ("artillery", ["Koksan M", "2S", "Grad-"], "artillery system", "KP"),
    ("ammunition", ["shell type ", "round type "], "ammunition", "KP"),
    ("conventional_arms", ["small arms lot ", "rifle model "], "conventional arms", ""),
    ("aircraft", ["MiG-", "Su-", "Il-"], "aircraft", "RU"),
    ("submarine", ["Hero Kim Kun Ok class ", "Project "], "submarine", ""),
    ("satellite", ["Malligyong-", "Kondor-"], "satellite", ""),
    ("space_launch", ["Chollima-", "Soyuz-"], "launch vehicle", ""),
    ("drone", ["Saetbyol-", "Geran-", "Lancet-"], "drone", ""),
    ("nuclear_weapon", ["Hwasan-", "warhead design "], "nuclear warhead", "KP"),
    ("military_technology", ["guidance package ", "re-entry vehicle design "], "technology", ""),
]
SPEC_KINDS = ["range", "payload", "speed", "quantity", "calibre"]


def weapon_catalogue(size: int, rng: Random) -> list[tuple]:
    """(id, name, category, aliases, origin, sentence name) for each weapon system."""
    out = []
    for w in range(size):
        category, bases, noun, origin = WEAPON_KINDS[w % len(WEAPON_KINDS)]
        base = rng.choice(bases)
        number = 10 + w  # unique in the catalogue, so names and ids are too
        name = f"{base}{number}" if base.endswith(("-", " ", "M")) else f"{base}-{number}"
        aliases = ""
        if rng.random() < 0.57:
            aliases = f"{name} {noun}" if rng.random() < 0.6 else f"{name} {noun} | {slug(name).upper()}"
        out.append((slug(name), name, category, aliases, origin if rng.random() < 0.13 else "", f"{name} {noun}"))
    return out


# --- actors and claims ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    index: int
    id: str
    name: str
    kind: str
    country: str
    role: str
    label: str  # how a sentence names it
    short: str = ""  # how a sentence names it again in the same document (a person's surname); "" = the label


# How each kind of institution is named (b: the actor's random bits; adj: country adjective).
INSTITUTION_NAMES = {
    "ministry": lambda b, adj, city: f"{adj} {b.pick(DEPARTMENTS)}",
    "armed_forces": lambda b, adj, city: f"{adj} {b.pick(FORCES)}",
    "intelligence_agency": lambda b, adj, city: f"{adj} {b.pick(INTELLIGENCE)}",
    "officials_group": lambda b, adj, city: f"{adj} {b.pick(OFFICIALS)}",
    "news_outlet": lambda b, adj, city: f"{city} {b.pick(PAPERS)}",
    "news_agency": lambda b, adj, city: f"{city} Press Agency",
    "state_media": lambda b, adj, city: f"{adj} state television",
    "expert_group": lambda b, adj, city: f"{adj} {b.pick(['analysts', 'defence experts', 'observers', 'academics'])}",
    "anonymous": lambda b, adj, city: b.pick([f"Unnamed sources in {city}", f"A source close to the {adj} government",
                                              f"Reports from {city}"]),
    "think_tank": lambda b, adj, city: f"{city} {b.pick(THINK_TANKS)}",
    "academic_institution": lambda b, adj, city: b.pick([f"{city} University", f"University of {city}",
                                                         f"{city} National University"]),
}

class World:
    """Actors and claims as pure functions of their index (no table held in memory)."""

    def __init__(self, n: int, sizes: dict, catalogue: list):
        self.salt = mix(n ^ 0x5EED)
        self.n_actors = sizes["actors"]
        self.n_claims = sizes["claims"]
        self.catalogue = catalogue
        # Institutions by country (indices only): persons are affiliated to an earlier one of their country.
        self.institutions = {c: [] for c in COUNTRY_ADJ}
        self.media = []
        for a in range(self.n_actors):
            actor = self.actor(a)
            if actor.kind in MEDIA_KINDS:
                self.media.append(a)
            if actor.kind in INSTITUTION_KINDS and actor.country:
                self.institutions[actor.country].append(a)
        self.actor.cache_clear()

    # actors
    @lru_cache(maxsize=8192)
    def actor(self, a: int) -> Actor:
        if a < len(FIXED_ACTORS):
            return Actor(a, *FIXED_ACTORS[a])
        b = Bits(self.salt ^ (a << 8) ^ 1)
        kind = b.weighted(ACTOR_KINDS)
        country = "" if kind == "international_organisation" else b.weighted(ACTOR_COUNTRIES)
        if kind in INSTITUTION_KINDS | {"state_media"} and not country:
            country = b.pick(GOVERNMENTS)
        adj, city = COUNTRY_ADJ[country], b.pick(CITIES)
        role = ""
        if kind in ("person", "expert"):
            first, last = b.pick(FIRST[country]), b.pick(LAST[country])
            name = f"{last} {first}" if country in ("KP", "KR", "CN") and b.chance(0.2) else f"{first} {last}"
            short = last
            if kind == "person":
                if b.chance(0.7):
                    role = b.pick(PERSON_ROLES)
                    role = f"{adj} {role}" if country else role[0].upper() + role[1:]
                label = f"{role} {name}" if role else name
            else:
                role = b.pick(EXPERT_ROLES).format(city=city)
                label = f"{name}, {role},"
                role = role[0].upper() + role[1:]
            return Actor(a, f"{slug(name)}-{a}", name, kind, country, role, label, short)
        name = INSTITUTION_NAMES.get(kind, lambda b, adj, city: b.pick(ORGANISATIONS))(b, adj, city)
        label = name[0].lower() + name[1:] if kind == "anonymous" else f"the {name}"
        if kind in ("expert_group", "officials_group") and b.chance(0.3):
            role = f"Collective source; the documents do not name the {name.split()[-1]}"
        return Actor(a, f"{slug(name)}-{a}", name, kind, country, role, label)

    def affiliation(self, a: int) -> str:
        actor = self.actor(a)
        if a < len(FIXED_ACTORS) or not actor.country:
            return ""
        government = FIXED_ACTORS[1 + GOVERNMENTS.index(actor.country)][0] if actor.country in GOVERNMENTS else ""
        b = Bits(self.salt ^ (a << 8) ^ 2)
        if actor.kind in INSTITUTION_KINDS or actor.kind == "state_media":
            return government
        if actor.kind in ("person", "expert") and b.chance(0.7):
            earlier = self.institutions[actor.country]
            k = bisect.bisect_left(earlier, a)
            if k and b.chance(0.6):
                return self.actor(earlier[b.below(k)]).id
            return government
        return ""

    def has_excerpt(self, a: int) -> bool:
        return a > 0 and Bits(self.salt ^ (a << 8) ^ 3).chance(ACTOR_EXCERPT_SHARE)

    def actor_row(self, a: int, document_id: str = "", excerpt: str = "") -> tuple:
        x = self.actor(a)
        return (x.id, x.name, x.kind, x.country, x.role, self.affiliation(a),
                "true" if x.country in CONFLICT_PARTIES else "false", document_id, excerpt, "")

    # claims
    @lru_cache(maxsize=65536)
    def claim(self, i: int) -> tuple:
        """(id, proposition, topic, direction, subject actor index or None)."""
        b = Bits(self.salt ^ (i << 8) ^ 4)
        topic = b.weighted(CLAIM_TOPICS)
        direction, subject = "", None
        weapon = b.pick(self.catalogue)[5]
        country = b.pick(["South Korea", "Japan", "Ukraine", "Washington"])
        if topic == "troop_deployment":
            direction = "kp_to_ru"
            text = b.pick([f"North Korea has sent {b.pick(UNITS)} to {b.pick(PLACES)}",
                           f"North Korean {b.pick(UNITS)} are training in {b.pick(PLACES)}",
                           f"North Korean {b.pick(UNITS)} will join the fighting in {b.pick(PLACES)}"])
        elif topic == "weapons_transfer":
            if b.chance(0.7):
                direction, text = "ru_to_kp", f"Russia has supplied North Korea with the {weapon}"
            else:
                direction, text = "kp_to_ru", f"North Korea has shipped the {weapon} to Russia"
        elif topic == "technology_transfer":
            direction = "ru_to_kp"
            text = b.pick([f"Russia may transfer {b.pick(TECH)} technology to North Korea",
                           f"Russia is helping North Korea develop {b.pick(TECH)} technology"])
        elif topic == "munitions_supply":
            direction, text = "kp_to_ru", f"North Korea has supplied Russia with {b.pick(MUNITIONS)}"
        elif topic == "economic_aid":
            direction = "ru_to_kp"
            text = b.pick([f"Russia has sent {b.pick(GOODS)} to North Korea",
                           f"North Korea receives {b.pick(GOODS)} from Russia in exchange for arms"])
        elif topic == "military_agreement":
            text = f"Russia and North Korea signed a {b.pick(PACTS)}"
        elif topic == "diplomacy":
            subject = 1 + b.below(self.n_actors - 1)
            if b.chance(0.4) and self.actor(subject).kind == "person":
                text = f"{self.actor(subject).name} {b.pick(SUBJECT_ACTIONS)}"
            else:
                subject = None
                text = b.pick([f"{country[0].upper() + country[1:]} summoned the Russian ambassador over {b.pick(ISSUES)}",
                               "North Korea pledged full and unconditional support to Russia"])
        elif topic == "security_threat":
            text = b.pick([f"Russian–North Korean cooperation threatens {b.pick(REGIONS)}",
                           f"North Korea’s {b.pick(TECH)} programme poses a threat to {b.pick(REGIONS)}"])
        elif topic == "military_capability":
            text = b.pick([f"North Korean {b.pick(UNITS)} lack {b.pick(CAPABILITIES)}",
                           f"North Korea can now build the {weapon}"])
        elif topic == "alliance_cooperation":
            text = b.pick([f"Russia and North Korea will expand {b.pick(COORDINATION)}",
                           f"Seoul and Washington will expand {b.pick(COORDINATION)}"])
        elif topic == "weapons_test":
            text = f"North Korea tested the {weapon} in {b.pick(MONTHS)}"
        elif topic == "drone_incident":
            text = b.pick([f"South Korean drones flew over {b.pick(['Pyongyang', 'the border', 'Kaesong'])}",
                           "North Korea accused Seoul of flying drones that dropped leaflets"])
        elif topic == "information_control":
            text = f"North Korea is concealing {b.pick(SECRETS)}"
        else:
            text = f"Russian–North Korean arms deals violate UN resolution {b.pick(RESOLUTIONS)}"
        cid = f"{slug(text)[:40].rstrip('-')}-{i}"
        return cid, text, topic, direction, subject

    def claim_row(self, i: int) -> tuple:
        cid, text, topic, direction, subject = self.claim(i)
        return cid, text, topic, direction, "" if subject is None else self.actor(subject).id


# --- dates --------------------------------------------------------------------------------------------

EPOCH = date(2023, 6, 1).toordinal()
SPAN = date(2025, 6, 30).toordinal() - EPOCH


def random_date(rng: Random) -> date:
    return date.fromordinal(EPOCH + rng.randrange(SPAN))


def spoken(d: date) -> str:
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


def stated_date(rng: Random) -> tuple:
    """(text, start, end, precision, inferred, basis) of a statement's date."""
    r = rng.random()
    if r < 0.925:
        return "", "", "", "unknown", "false", ""
    if r < 0.970:
        text = rng.choice(["earlier", "recently", "on Tuesday", "on Friday", "last week"])
        return text, "", "", "unknown", "false", f"Printed only as '{text}': the words fix no date, and the document's own date does not anchor them."
    d = random_date(rng)
    if r < 0.976:
        text = f"on {spoken(d)}"
        return text, d.isoformat(), rng.choice(["", d.isoformat()]), "day", "false", f"Printed '{text}'."
    if r < 0.988:
        text = f"in {MONTHS[d.month - 1]} {d.year}"
        return text, d.isoformat()[:7], "", "month", "false", f"Printed '{text}'."
    if r < 0.994:
        text = f"in {d.year}"
        return text, str(d.year), "", "year", "false", f"Printed '{text}'."
    text = rng.choice(["this week", "last month", "in recent weeks"])
    end = d + timedelta(days=rng.randrange(7, 60))
    start = d.isoformat()[:7] if rng.random() < 0.5 else d.isoformat()
    return (text, start, rng.choice(["", end.isoformat()]), "range", "true",
            f"Printed as '{text}'; bounded by the dated events the document mentions and by its publication date.")


def document_date(rng: Random) -> tuple:
    """(date_text, start, end, precision, inferred, basis) of a publication date."""
    r = rng.random()
    d = random_date(rng)
    if r < 0.55:
        month = rng.random() < 0.5
        start = d.isoformat()[:7] if month else d.isoformat()
        end = ""
        if rng.random() < 0.15:
            end = (d + timedelta(days=rng.randrange(20, 120))).isoformat()
        what = f"in {MONTHS[d.month - 1]} {d.year}" if month else f"on {spoken(d)}"
        basis = f"Not printed. The latest dated event the text mentions took place {what}, so it appeared on or after that"
        basis += f"; it refers to the next event as still to come, so it appeared before {end}." if end else "; it names no later dated event."
        return "", start, end, "range", "true", basis
    if r < 0.75:
        return ("", d.isoformat()[:7], "", "month", "true",
                f"Not printed. The text dates its events to {MONTHS[d.month - 1]} {d.year} and calls them 'this month'.")
    if r < 0.95:
        return "", "", "", "unknown", "true", "Not printed, and the text names no dated event, so no range can be inferred from it."
    return spoken(d), d.isoformat(), "", "day", "false", f"Printed under the headline: '{spoken(d)}'."


# --- the generator ------------------------------------------------------------------------------------

def document_id(d: int, salt: int) -> str:
    # An odd multiplier makes d -> hex a bijection on 64 bits: unique, and it looks like a digest.
    return f"{d % 1000:03d}_{(d * 0x9E3779B97F4A7C15 + salt) & M64:016x}"


def document_sizes(n: int, documents: int, rng: Random) -> list[int]:
    """Appearances per document: about 25 to 47 each in the real data; the total is exactly n."""
    mean = n / documents
    lo, hi = max(1, round(mean * 0.75)), max(1, round(mean * 1.45))
    sizes = [rng.randint(lo, hi) for _ in range(documents)]
    diff = n - sum(sizes)
    step = 1 if diff > 0 else -1
    while diff:
        i = rng.randrange(documents)
        if sizes[i] + step >= 1:
            sizes[i] += step
            diff -= step
    return sizes


class Generator:
    def __init__(self, n: int, out: Path):
        if n < 1:
            raise ValueError("--appearances must be at least 1")
        self.n = n
        self.out = Path(out)
        self.rng = Random(n)
        self.sizes = counts(n)
        self.catalogue = weapon_catalogue(self.sizes["weapon_systems"], self.rng)
        self.world = World(n, self.sizes, self.catalogue)
        self.doc_salt = mix(n ^ 0xD0C)
        self.actor_written = bytearray(self.sizes["actors"])
        self.claims_introduced = 0
        self.actors_introduced = 1  # actor 0, the article's own voice, is picked by share, not introduced
        self.relations_written = 0
        self.mentions_written = 0
        self.remaining = {t: self.sizes[t] for t in ("quotes", "weapon_mentions", "weapon_specs", "troop_estimates")}

    # output files
    def open(self) -> None:
        data, seeds = self.out / "data", self.out / "seeds"
        if (data.exists() or seeds.exists()) and not (self.out / MARKER).exists():
            raise SystemExit(f"{self.out} has data/ or seeds/ that bench.generate did not write; choose an empty --out")
        for d in (data, seeds):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        (self.out / MARKER).write_text(f"{self.n}\n", encoding="utf-8")
        self.seeds = seeds
        shutil.copyfile(SOURCE_PACKAGE, data / "datapackage.json")
        pkg = json.loads(SOURCE_PACKAGE.read_text(encoding="utf-8"))
        self.files, self.w = {}, {}
        for res in pkg["resources"]:
            header = [f["name"] for f in res["schema"]["fields"]]
            if header != COLUMNS[res["name"]]:
                raise SystemExit(f"bench.generate is out of date: {res['name']} has columns {header}, "
                                 f"the generator writes {COLUMNS[res['name']]}")
            f = open(data / res["path"], "w", encoding="utf-8", newline="", buffering=1 << 20)
            self.files[res["name"]] = f
            self.w[res["name"]] = csv.writer(f, lineterminator="\n").writerow
            self.w[res["name"]](header)
        if set(self.files) != set(COLUMNS):
            raise SystemExit(f"bench.generate is out of date: the schema has tables {sorted(self.files)}")

    def close(self) -> None:
        for f in self.files.values():
            f.close()

    def run(self) -> dict:
        self.open()
        try:
            spelled = set()
            for row in self.catalogue:
                self.w["weapon_systems"](row[:5])
                # The spelling variant readers type for hyphenated names (S400 for S-400), once per spelling.
                run_together = row[1].split(" ")[0].replace("-", "")
                if "-" in row[1].split(" ")[0] and run_together.casefold() not in spelled:
                    spelled.add(run_together.casefold())
                    self.w["aliases"]((run_together, "", row[0], "", "spelling"))
            self.sizes["aliases"] = len(spelled)  # follows from the catalogue, not from counts()
            j = 0
            sizes = document_sizes(self.n, self.sizes["documents"], self.rng)
            for d, size in enumerate(sizes):
                self.document(d, j, size)
                j += size
            for a in range(self.sizes["actors"]):  # actors that never got an excerpt
                if not self.actor_written[a]:
                    self.w["actors"](self.world.actor_row(a))
        finally:
            self.close()
        return self.sizes

    # choices with exact totals: take the next item with probability remaining / appearances left
    def take(self, table: str, left: int) -> bool:
        # A sentence carries (1 + PAIRED_SHARE) appearances on average, and these rows attach to sentences.
        if self.remaining[table] and self.rng.random() * left < self.remaining[table] * (1 + PAIRED_SHARE):
            self.remaining[table] -= 1
            return True
        return False

    def next_claim(self, left: int) -> int:
        rng = self.rng
        new = self.sizes["claims"] - self.claims_introduced
        if self.claims_introduced == 0 or (new and rng.random() * left < new):
            i = self.claims_introduced
            self.claims_introduced += 1
            self.w["claims"](self.world.claim_row(i))
            self.maybe_relation(i)
            return i
        if rng.random() < 0.5:  # the same story in nearby documents
            return max(0, self.claims_introduced - 1 - int(rng.expovariate(1 / 200)))
        return int(self.claims_introduced * rng.random() ** 2)  # a few claims recur everywhere

    def maybe_relation(self, i: int) -> None:
        total, rng = self.sizes["claim_relations"], self.rng
        left = self.sizes["claims"] - i  # claims 1..C-1 may each start one relation
        if i == 0 or self.relations_written >= total or rng.random() * left >= total - self.relations_written:
            return
        self.relations_written += 1
        related = rng.randrange(i)
        relation = rng_weighted(rng, RELATIONS)
        cid, rid = self.world.claim(i)[0], self.world.claim(related)[0]
        basis = (f"The appearances of {cid} {RELATION_VERBS[relation]} those of {rid}: "
                 f"recorded by the curators from statements in different documents.")
        self.w["claim_relations"]((f"{relation}-{self.relations_written}", cid, relation, rid, basis))

    def next_speaker(self, left: int, quoted: bool) -> int:
        rng, n_actors = self.rng, self.sizes["actors"]
        new = n_actors - self.actors_introduced
        if new and rng.random() * left < new:
            a = self.actors_introduced
            self.actors_introduced += 1
            return a
        if not quoted and rng.random() < UNATTRIBUTED_SHARE:
            return 0
        if self.actors_introduced == 1:
            a = self.actors_introduced
            self.actors_introduced += 1
            return a
        return 1 + int((self.actors_introduced - 1) * rng.random() ** 1.6)

    def next_weapon(self) -> tuple:
        m = self.mentions_written
        self.mentions_written += 1
        size = len(self.catalogue)
        return self.catalogue[m if m < size else int(size * self.rng.random() ** 2)]

    def unique_number(self, used: set, lo: int, hi: int, step: int, fmt) -> tuple[int, str]:
        """A number whose wording is not used yet in this document."""
        v = self.rng.randrange(lo, hi, step)
        while fmt(v) in used:
            v += step
        used.add(fmt(v))
        return v, fmt(v)

    def document(self, d: int, j0: int, size: int) -> None:
        rng, world, w = self.rng, self.world, self.w
        doc_id = document_id(d, self.doc_salt)
        date_text, date_start, date_end, date_precision, date_inferred, date_basis = document_date(rng)
        used: set = set()  # wordings, value texts and quotes of this document
        named: set = set()  # speakers already introduced in this document
        units, checks = [], []  # sentences; strings that must occur exactly once in the text (self-check)
        count = {"ap": 0, "q": 0, "wm": 0, "ws": 0, "te": 0}
        first_prop = first_speaker = None
        j, k, end, pending = j0, 0, j0 + size, None
        while j < end:
            k += 1  # the sentence number, unique in the document: every excerpt contains "{lead} {k},"
            left = self.n - j
            claim_i = self.next_claim(left) if pending is None else pending
            cid, prop, topic, claim_direction, _ = world.claim(claim_i)
            quoted = self.take("quotes", left)
            mention = self.take("weapon_mentions", left)
            spec = self.take("weapon_specs", left)
            estimate = self.take("troop_estimates", left)
            # Some sentences carry a second claim (a second appearance with the same excerpt); only while every
            # table keeps room for its remaining rows in the appearances left, so that the totals stay exact.
            second = pending = None
            if j + 1 < end and rng.random() < PAIRED_SHARE and all(r <= left - 2 for r in self.remaining.values()):
                other = self.next_claim(left - 1)
                if other == claim_i:
                    pending = other
                else:
                    second = other
            a = self.next_speaker(left, quoted)
            speaker = world.actor(a)
            reporter = world.actor(rng.choice(world.media)) if rng.random() < REPORTED_SHARE and world.media else None
            if a == 0:
                stance = rng_weighted(rng, UNATTRIBUTED_STANCES)
                lead, verb = rng.choice(OWN_LEADS), UNATTRIBUTED_VERBS[stance]
            else:
                stance = rng_weighted(rng, STANCES)
                lead, verb = rng.choice(LEADS), rng.choice(VERBS[stance])
            stated = stated_date(rng)
            if a == 0:  # the article's own voice: "In section 3, North Korea has sent troops to Russia."
                head = f"{lead} {k},"
                s = head + (f" {stated[0]}," if stated[0] else "") + (f" {verb}" if verb else "") + f" {prop}"
            else:
                label = speaker.short if speaker.short and a in named else speaker.label
                named.add(a)
                head = f"{lead} {k}, {label}"
                s = head
                if stated[0]:
                    s += f" speaking {stated[0]}," if head.endswith(",") else f", speaking {stated[0]},"
                s += f" {verb} {prop}"
            if second is not None:
                s += f", and {verb.split()[-1] if verb else ''} {world.claim(second)[1]}".replace("  ", " ")
            if first_prop is None:
                first_prop, first_speaker = prop, speaker
            # weapon mention
            if mention:
                weapon = self.next_weapon()
                status = rng_weighted(rng, MENTION_STATUS)
                s += MENTION_CLAUSE[status].format(w=weapon[5] if rng.random() < 0.4 else weapon[1])
                mention_end = len(s)
            # troop estimate
            if estimate:
                scope = rng_weighted(rng, SCOPES)
                if scope == "army_size":
                    qualifier = "stated"
                    m, wording = self.unique_number(used, 10, 20, 1, lambda v: f"{v / 10:.1f} million-strong")
                    figure = m * 100_000
                    s += f", out of a {wording} army"
                else:
                    qualifier = rng_weighted(rng, QUALIFIERS)
                    word = {"stated": "a force of", "approx": rng.choice(["about", "approximately", "around"]),
                            "up_to": "up to", "over": rng.choice(["over", "more than"]), "additional": "an additional",
                            "total": "the total to"}[qualifier]
                    figure, wording = self.unique_number(used, 500, 20_000, 100, lambda v: f"{word} {v:,}")
                    if qualifier == "total":
                        s += f", bringing {wording} North Korean troops {SCOPE_PHRASE[scope]}"
                    else:
                        s += f", with {wording} North Korean {rng.choice(['soldiers', 'troops'])} {SCOPE_PHRASE[scope]}"
                estimate_end = len(s)
            # weapon specification
            if spec:
                sw = self.catalogue[int(len(self.catalogue) * rng.random() ** 2)]
                kind = rng.choice(SPEC_KINDS)
                if kind == "range":
                    v, value_text = self.unique_number(used, 100, 5000, 10, lambda v: f"{v:,} kilometers ({round(v * 0.621371):,} miles)")
                    attribute, unit, phrase = "range", "km", f"a range of {value_text}"
                elif kind == "payload":
                    v, value_text = self.unique_number(used, 100, 2500, 50, lambda v: f"a payload of {v:,} kilograms")
                    attribute, unit, phrase = "payload", "kg", value_text
                elif kind == "speed":
                    v, value_text = self.unique_number(used, 20, 200, 5, lambda v: f"Mach {v / 10:.1f}")
                    attribute, unit, phrase, v = "top speed", "Mach", f"a top speed of {value_text}", v / 10
                elif kind == "quantity":
                    v, value_text = self.unique_number(used, 1000, 30_000, 500, lambda v: f"over {v:,} containers")
                    attribute, unit, phrase = "quantity delivered, lower bound", "containers", f"been shipped in {value_text}"
                else:
                    v, value_text = self.unique_number(used, 60, 400, 1, lambda v: f"a calibre of {v} millimetres")
                    attribute, unit, phrase = "calibre", "mm", value_text
                s += f", noting that the {sw[5]} has {phrase}"
                spec_end = len(s)
            if reporter is not None:
                s += f", according to {reporter.label}"
            if quoted:
                _, qtext = self.unique_number(used, 2, 1000, 1, lambda v, t=rng.choice(QUOTES): t.format(n=v))
                s += f", adding: “{qtext}”."
            else:
                s += "."
            units.append(s)
            checks.append(s)

            # rows
            count["ap"] += 1
            note = ""
            if rng.random() < 0.59:
                if a == 0:
                    note = "Stated in the article's own voice; no source is named in the sentence."
                elif reporter is not None:
                    note = f"Reported through {reporter.label}; the speaker, not the outlet, is the source of the statement."
                else:
                    note = f"Speaker coded as {speaker.id} from the attribution that opens the sentence; the stance follows '{verb.split()[0]}'."
            w["appearances"]((f"{d:03d}-ap-{count['ap']:02d}", cid, doc_id, speaker.id, reporter.id if reporter else "",
                              stance, *stated, s, "", note))
            first_id = f"{d:03d}-ap-{count['ap']:02d}"
            if second is not None:
                count["ap"] += 1
                w["appearances"]((f"{d:03d}-ap-{count['ap']:02d}", world.claim(second)[0], doc_id, speaker.id,
                                  reporter.id if reporter else "", stance, *stated, s, "",
                                  f"Same sentence as {first_id}, which carries two claims."))
            j += 2 if second is not None else 1
            if not self.actor_written[a] and a:
                self.actor_written[a] = 1
                if world.has_excerpt(a):  # the first mention, so the full name and role
                    excerpt = head.rstrip(",")
                    checks.append(excerpt)
                    w["actors"](world.actor_row(a, doc_id, excerpt))
                else:
                    w["actors"](world.actor_row(a))
            if quoted:
                count["q"] += 1
                occasion = stated[0] if stated[0] else (f"{OCCASION_NOUNS[lead]} {k}" if lead in OCCASION_NOUNS and rng.random() < 0.2 else "")
                checks.append(qtext)
                w["quotes"]((f"{d:03d}-q-{count['q']:02d}", doc_id, speaker.id, reporter.id if reporter else "", cid,
                             qtext, occasion, s, ""))
            if mention:
                count["wm"] += 1
                excerpt = s if rng.random() < 0.25 else s[:mention_end]
                direction = "" if status == "context" else claim_direction or ("ru_to_kp" if rng.random() < 0.75 else "kp_to_ru")
                checks.append(excerpt)
                w["weapon_mentions"]((f"{d:03d}-wm-{count['wm']:02d}", weapon[0], doc_id, cid if rng.random() < 0.98 else "",
                                      speaker.id, direction, status, excerpt, "",
                                      MENTION_NOTES[status] if rng.random() < 0.58 else ""))
            if spec:
                count["ws"] += 1
                excerpt = s if rng.random() < 0.5 else s[:spec_end]
                checks += [excerpt, value_text]
                spec_value = f"{v:.1f}" if isinstance(v, float) else str(v)
                w["weapon_specs"]((f"{d:03d}-ws-{count['ws']:02d}", sw[0], doc_id, attribute, spec_value, unit, value_text, excerpt, ""))
            if estimate:
                count["te"] += 1
                values = ["", "", ""]
                values[QUALIFIER_COLUMN[qualifier]] = str(figure)
                if stated[3] != "unknown":
                    as_of = (stated[0], stated[1], stated[2], stated[3], stated[4], "Date of the statement (see the appearance).")
                elif date_precision in ("range", "month", "day"):
                    as_of = ("currently" if "now" in SCOPE_PHRASE.get(scope, "") and rng.random() < 0.3 else "",
                             date_start, date_end, date_precision, "true",
                             "Not printed. Publication date of the document (see documents); the figure is given as current at that time.")
                else:
                    as_of = ("", "", "", "unknown", "false",
                             "Not printed, and the document's own date is unknown, so no as-of date can be given.")
                excerpt = s if rng.random() < 0.75 else s[:estimate_end]
                checks += [excerpt, wording]
                note = ESTIMATE_NOTES[qualifier] if rng.random() < 0.78 else ""
                if scope == "army_size":
                    note = "Size of North Korea's whole armed forces, not of the force sent to Russia."
                w["troop_estimates"]((f"{d:03d}-te-{count['te']:02d}", doc_id, cid if rng.random() < 0.9 else "", speaker.id,
                                      reporter.id if reporter and rng.random() < 0.5 else "", *values, wording, qualifier,
                                      scope, *as_of, excerpt, "", note))

        # the text: optional headline, byline and dateline; paragraphs of 2-5 sentences; headings; sources
        lines, headline, outlet, url = [], "", "", ""
        if rng.random() < HEADLINE_SHARE:
            headline = f"{first_prop} — dossier {d}"
            lines.append(headline)
            checks.append(headline)
        if rng.random() < 0.1:
            outlet = world.actor(rng.choice(world.media)).name
            url = f"https://news.example.org/{d}/{doc_id}"
            lines.append(f"Published by {outlet}")
        if date_text:
            lines.append(date_text)
        i = 0
        while i < len(units):
            if i and rng.random() < 0.15:
                lines.append(rng.choice(HEADINGS))
            step = rng.randint(2, 5)
            lines.append(" ".join(units[i:i + step]))
            i += step
        if rng.random() < 0.3:
            lines.append("Sources")
            lines += [f"- {t}" for t in rng.sample(SOURCE_TITLES, rng.randint(2, 4))]
        text = "\n".join(lines)
        for needle in checks:  # the guarantee the build relies on, checked as we go
            if text.count(needle) != 1:
                raise AssertionError(f"{doc_id}: {needle!r} occurs {text.count(needle)} times")
        data = text.encode("utf-8")
        (self.seeds / f"{doc_id}.txt").write_bytes(data)
        label = f"{first_prop}; {first_speaker.name} and {size - 1} other statement(s), document {d}"
        w["documents"]((doc_id, label, headline, outlet, url, "", "en", "", "", date_text, date_start, date_end, date_precision,
                        date_inferred, date_basis, hashlib.sha256(data).hexdigest()))


def generate(n: int, out: Path) -> dict:
    """Write out/data and out/seeds for n appearances; returns the rows per table."""
    return Generator(n, out).run()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appearances", type=lambda s: int(float(s)), required=True, help="e.g. 10000 or 1e5")
    parser.add_argument("--out", type=Path, required=True, help="folder to write data/ and seeds/ into (e.g. bench/data-1e4)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    sizes = generate(args.appearances, args.out)
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(", ".join(f"{k} {v}" for k, v in sizes.items()), file=sys.stderr)
    print(f"wrote {args.out}/data and {args.out}/seeds in {elapsed:.1f} s, peak RSS {peak_mb:.0f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
