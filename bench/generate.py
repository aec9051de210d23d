"""The benchmark corpus: German-style RSS feeds and article pages, generated from a fixed seed.

Owns the bytes every benchmark works on. ``generate`` builds ``feeds`` RSS 2.0 documents of
``items`` entries each and ``pages`` article pages of 40 to 120 KB (navigation, teaser
sidebars, an inline script blob, reader comments around a 3 to 8 KB article); items link
to pages, so one page is shared by several items and feeds. About one page in twelve
reports on the default topic (Alibaba and Russia), some more are near misses, so matching
does real work. ``with_new_items`` gives the next version of the feeds, with a share of
new items that link to new pages. The same seed and base URL always give the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

SEED = 20240521
REFERENCE = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)
SENTENCE_POOL = 4000
TOPIC_EVERY = 12            # every 12th page is about Alibaba in Russia
NEAR_MISS_EVERY = 9         # every 9th page mentions Alibaba without Russia

FIRMEN = ["Siemens", "BASF", "Bayer", "Daimler Truck", "Volkswagen", "Thyssenkrupp", "Henkel",
          "Zalando", "Otto Group", "Deutsche Bank", "Commerzbank", "Allianz", "Lufthansa",
          "Uniper", "RWE", "Metro", "Rheinmetall", "SAP", "Infineon", "Continental", "Beiersdorf",
          "Hapag-Lloyd", "Vonovia", "Fresenius", "Merck", "Deutsche Post", "Evonik", "Covestro"]
ORTE = ["Frankfurt", "München", "Hamburg", "Düsseldorf", "Stuttgart", "Berlin", "Köln",
        "Leipzig", "Hannover", "Essen", "Wolfsburg", "Ludwigshafen", "Peking", "Schanghai",
        "Brüssel", "Wien", "Zürich", "Warschau", "Istanbul", "Singapur"]
BRANCHEN = ["Chemieindustrie", "Autozulieferer", "Maschinenbau", "Einzelhandel", "Logistik",
            "Energiewirtschaft", "Stahlbranche", "Halbleiterfertigung", "Versicherungswirtschaft",
            "Pharmabranche", "Baugewerbe", "Onlinehandel"]
PERSONEN = ["Vorstandschefin Katrin Albers", "Finanzvorstand Jens Hollmann",
            "Analystin Miriam Seidler", "Gewerkschafter Uwe Brandt", "Ökonom Felix Terhorst",
            "Branchenkenner Tobias Renner", "Aufsichtsratschef Gerd Wolters",
            "Marktbeobachterin Sabine Kühn"]
THEMEN = ["Umsatz", "operative Marge", "Auftragseingang", "Nettogewinn", "Investitionsbudget",
          "Personalbestand", "Exportanteil", "Lagerbestand", "Kapitalquote", "Dividende"]
SATZMUSTER = [
    "{firma} hat im {quartal} einen {richtung} {thema} von {zahl} Millionen Euro gemeldet.",
    "Nach Angaben von {person} bleibt die Lage in der {branche} angespannt.",
    "In {ort} rechnen Beobachter mit weiteren Einschnitten bei {firma}.",
    "Der {thema} stieg gegenüber dem Vorjahr um {prozent} Prozent, hieß es am {tag}.",
    "{person} sagte, man sehe für das Gesamtjahr {ausblick}.",
    "Die Aktie von {firma} schloss am {tag} in {ort} {bewegung} Prozent {lage}.",
    "Die {branche} leidet weiter unter hohen Energiepreisen und schwacher Nachfrage.",
    "Bis Ende {jahr} sollen rund {zahl} Stellen in der Verwaltung wegfallen.",
    "Ein Sprecher von {firma} wollte sich zu den Berichten nicht äußern.",
    "Die Bundesregierung prüft nach eigenen Angaben Hilfen für die {branche}.",
    "Mehrere Großkunden hätten ihre Bestellungen zuletzt deutlich reduziert.",
    "Im Werk {ort} läuft die Produktion seit Wochen nur im Zweischichtbetrieb.",
    "Ratingagenturen bewerten die Verschuldung von {firma} inzwischen kritischer.",
    "Für den {thema} erwartet {person} eine Stabilisierung frühestens im {quartal}.",
    "Der Betriebsrat kündigte Widerstand gegen die Pläne in {ort} an.",
    "Zugleich investiert {firma} {zahl} Millionen Euro in ein neues Forschungszentrum.",
]
THEMA_SAETZE = [
    "Das Gemeinschaftsunternehmen AliExpress Russland von Alibaba, Mail.ru und MegaFon "
    "streicht nach Medienberichten bis zu {prozent} Prozent der Stellen.",
    "Alibaba hält nach Angaben aus Moskau weiter an seinem Anteil am russischen "
    "Joint Venture mit dem Staatsfonds RDIF fest.",
    "Wegen der Sanktionen gegen Russland hat die Alibaba-Tochter AliExpress ihre "
    "Expansionspläne in Russland vorerst auf Eis gelegt.",
    "Chinesische Händler, die über AliExpress nach Russland verkaufen, berichten von "
    "eingebrochenen Umsätzen und ausbleibenden Aufträgen.",
    "Der russische Direktinvestitionsfonds RDIF und VK wollten einen Börsengang des "
    "Gemeinschaftsunternehmens mit Alibaba prüfen.",
]
NAHE_SAETZE = [
    "Alibaba meldete für das Cloud-Geschäft ein Umsatzplus, die Aktie legte in Hongkong zu.",
    "Der Onlinehändler AliExpress baut sein Lagernetz in Polen und Spanien aus.",
    "Russland hat die Einfuhrzölle für Haushaltsgeräte erneut angehoben.",
]
KOMMENTARE = ["Typisch, erst Milliarden verdienen und dann Stellen streichen.",
              "Wer hätte das gedacht? Das war doch seit Jahren absehbar.",
              "Der Artikel lässt leider offen, was mit den Zulieferern passiert.",
              "Ich arbeite selbst in der Branche, die Stimmung ist im Keller.",
              "Die Politik schaut wie immer nur zu.", "Endlich berichtet mal jemand darüber.",
              "Bitte mehr Hintergründe statt Pressemitteilungen abschreiben!"]
RUBRIKEN = ["Wirtschaft", "Unternehmen", "Finanzen", "Märkte", "Technologie", "Politik",
            "Karriere", "Immobilien", "Energie", "Handel", "Auto", "Meinung", "Podcast"]


@dataclass(frozen=True)
class Corpus:
    """Everything the local server publishes: URL path -> (bytes, content type)."""

    base_url: str
    feeds: dict[str, bytes]
    pages: dict[str, bytes]
    extra: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def feed_urls(self) -> list[tuple[str, str]]:
        """(name, url) of every feed, in order."""
        return [(f"Kurier {path.split('/')[-1].removesuffix('.xml')}", self.base_url + path)
                for path in self.feeds]

    def resources(self) -> dict[str, tuple[bytes, str]]:
        feeds = {p: (b, "application/rss+xml; charset=utf-8") for p, b in self.feeds.items()}
        pages = {p: (b, "text/html; charset=utf-8") for p, b in self.pages.items()}
        robots = {"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain")}
        return {**feeds, **pages, **robots, **self.extra}


@dataclass(frozen=True)
class ItemSpec:
    guid: str
    title: str
    summary: str
    page: int
    published: datetime


class Writer:
    """Sentences and page parts from one seeded random source."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pool = [self._sentence() for _ in range(SENTENCE_POOL)]

    def _sentence(self) -> str:
        rng = self.rng
        return rng.choice(SATZMUSTER).format(
            firma=rng.choice(FIRMEN), ort=rng.choice(ORTE), branche=rng.choice(BRANCHEN),
            person=rng.choice(PERSONEN), thema=rng.choice(THEMEN),
            quartal=rng.choice(["ersten Quartal", "zweiten Quartal", "dritten Quartal",
                                "vierten Quartal"]),
            richtung=rng.choice(["höheren", "niedrigeren", "stabilen"]),
            zahl=rng.randint(12, 4800), prozent=rng.randint(2, 45), jahr=rng.randint(2025, 2028),
            tag=rng.choice(["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"]),
            ausblick=rng.choice(["keine Erholung", "eine leichte Belebung", "Rückenwind"]),
            bewegung=f"{rng.randint(0, 9)},{rng.randint(0, 99):02d}",
            lage=rng.choice(["im Plus", "im Minus"]))

    def sentences(self, count: int) -> list[str]:
        return self.rng.choices(self.pool, k=count)

    def paragraphs(self, count: int, extra: list[str]) -> list[str]:
        paras = [" ".join(self.sentences(self.rng.randint(3, 6))) for _ in range(count)]
        for sentence in extra:
            index = self.rng.randrange(len(paras))
            paras[index] = f"{paras[index]} {sentence}"
        return paras

    def headline(self) -> str:
        rng = self.rng
        return (f"{rng.choice(FIRMEN)}: {rng.choice(THEMEN).capitalize()} "
                f"{rng.choice(['bricht ein', 'zieht an', 'enttäuscht', 'überrascht'])}"
                f" – {rng.choice(BRANCHEN)} unter Druck")


def topic_sentences(writer: Writer, index: int) -> tuple[str, list[str]]:
    """A headline prefix and the sentences that make page ``index`` on- or near-topic."""
    rng = writer.rng
    if index % TOPIC_EVERY == 0:
        picks = rng.sample(THEMA_SAETZE, 2)
        return "AliExpress Russland: ", [s.format(prozent=rng.randint(10, 40)) for s in picks]
    if index % NEAR_MISS_EVERY == 0:
        return "", [rng.choice(NAHE_SAETZE)]
    return "", []


def page_html(writer: Writer, index: int, base_url: str) -> tuple[str, bytes]:
    """Article page ``index``: its headline and HTML of 40 to 120 KB."""
    rng = writer.rng
    prefix, extra = topic_sentences(writer, index)
    headline = prefix + writer.headline()
    body = "".join(f"<p>{escape(p)}</p>" for p in writer.paragraphs(rng.randint(8, 16), extra))
    target = rng.randint(40_000, 120_000)
    parts = [_head(headline, index, base_url), _nav(writer), "<main><article>",
             f"<h1>{escape(headline)}</h1><p class='meta'>Von Redaktion Wirtschaft, "
             f"{REFERENCE:%d.%m.%Y}</p>", body, "</article>"]
    size = sum(len(p) for p in parts) + 2000
    parts.append(_sidebar(writer, max(3000, (target - size) // 3)))
    parts.append(_comments(writer, max(2000, (target - size) // 3)))
    parts.append(_script(writer, max(1000, target - sum(len(p) for p in parts) - 500)))
    parts.append("</main><footer><p>© Wirtschaftskurier Verlag GmbH · Impressum · "
                 "Datenschutz · Cookie-Einstellungen</p></footer></body></html>")
    return headline, "".join(parts).encode("utf-8")


def _head(headline: str, index: int, base_url: str) -> str:
    return (f'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>'
            f"{escape(headline)} | Wirtschaftskurier</title><link rel='canonical' "
            f"href='{base_url}/artikel/{index}.html'><meta property='og:site_name' "
            f"content='Wirtschaftskurier'><meta name='date' content='{REFERENCE.isoformat()}'>"
            "</head><body>")


def _nav(writer: Writer) -> str:
    links = "".join(f"<li><a href='/{r.lower()}/{i}'>{r} {i}</a></li>"
                    for i in range(12) for r in RUBRIKEN)
    return f"<header><nav class='main-nav'><ul>{links}</ul></nav></header>"


def _sidebar(writer: Writer, size: int) -> str:
    out, length = ["<aside class='sidebar'><h2>Das könnte Sie auch interessieren</h2><ul>"], 0
    while length < size:
        teaser = f"<li class='teaser'><a href='/artikel/{writer.rng.randint(0, 9999)}.html'>" \
                 f"{escape(writer.headline())}</a><p>{escape(writer.sentences(1)[0])}</p></li>"
        out.append(teaser)
        length += len(teaser)
    return "".join(out) + "</ul></aside>"


def _comments(writer: Writer, size: int) -> str:
    out, length, n = ["<section id='kommentare' class='comments'><h2>Kommentare</h2>"], 0, 0
    while length < size:
        n += 1
        text = " ".join(writer.rng.choices(KOMMENTARE, k=writer.rng.randint(1, 3)))
        one = (f"<div class='comment'><span class='user'>Leser{n}</span>"
               f"<p>{escape(text)}</p></div>")
        out.append(one)
        length += len(one)
    return "".join(out) + "</section>"


def _script(writer: Writer, size: int) -> str:
    blob = ",".join(f'{{"id":{i},"slot":"ad-{i}","w":{writer.rng.randint(100, 999)}}}'
                    for i in range(size // 34))
    return f"<script>window.__ADS__=[{blob}];</script>"


def item_specs(writer: Writer, feed: int, items: int, pages: int, headlines: list[str],
               *, first_page: int = 0, tag: str = "") -> list[ItemSpec]:
    specs = []
    for n in range(items):
        page = first_page + writer.rng.randrange(pages)
        published = REFERENCE - timedelta(minutes=7 * n + feed % 7 + (0 if tag else 60))
        summary = " ".join(writer.sentences(2))
        specs.append(ItemSpec(f"kurier-{feed}-{tag}{n}", headlines[page], summary, page,
                              published))
    return specs


def render_feed(feed: int, specs: list[ItemSpec], base_url: str) -> bytes:
    items = "".join(
        f"<item><title>{escape(s.title)}</title><link>{base_url}/artikel/{s.page}.html</link>"
        f"<guid isPermaLink=\"false\">{s.guid}</guid><pubDate>{format_datetime(s.published)}"
        f"</pubDate><dc:creator>Redaktion</dc:creator><category>Wirtschaft</category>"
        f"<description>{escape(s.summary)}</description></item>" for s in specs)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>Wirtschaftskurier {feed}</title><link>{base_url}/</link>"
            "<description>Nachrichten aus Wirtschaft und Finanzen</description>"
            f"<language>de-de</language>{items}</channel></rss>").encode()


@dataclass
class Generated:
    """A corpus plus what is needed to derive its next version."""

    corpus: Corpus
    specs: list[list[ItemSpec]]
    headlines: list[str]
    seed: int


def generate(base_url: str, *, feeds: int = 200, items: int = 50, pages: int = 500,
             seed: int = SEED) -> Generated:
    """The corpus for ``base_url`` (no trailing slash)."""
    writer = Writer(seed)
    built = [page_html(writer, i, base_url) for i in range(pages)]
    headlines = [h for h, _ in built]
    specs = [item_specs(writer, f, items, pages, headlines) for f in range(feeds)]
    corpus = Corpus(base_url, {f"/feeds/{f}.xml": render_feed(f, s, base_url)
                               for f, s in enumerate(specs)},
                    {f"/artikel/{i}.html": html for i, (_, html) in enumerate(built)})
    return Generated(corpus, specs, headlines, seed)


def with_new_items(gen: Generated, fraction: float = 0.1) -> Corpus:
    """The next version: each feed gets ``fraction`` new items (on new pages), oldest dropped."""
    return advance(gen, max(1, round(len(gen.corpus.pages) * fraction)), fraction).corpus


def advance(gen: Generated, new_pages: int, fraction: float = 0.1, step: int = 1) -> Generated:
    """Version ``step`` after ``gen``: ``new_pages`` new pages, and each feed ``fraction``
    new items linking to them (newer than every earlier one), its oldest items dropped.
    Chained (``step`` 1, 2, ...) it gives the soak's versions."""
    writer = Writer(gen.seed + step)
    old_pages = len(gen.corpus.pages)
    built = [page_html(writer, old_pages + i, gen.corpus.base_url) for i in range(new_pages)]
    headlines = gen.headlines + [h for h, _ in built]
    tag = "neu-" if step == 1 else f"neu{step}-"
    specs = []
    for f, old in enumerate(gen.specs):
        fresh = item_specs(writer, f, max(1, round(len(old) * fraction)), new_pages, headlines,
                           first_page=old_pages, tag=tag)
        fresh = [ItemSpec(s.guid, s.title, s.summary, s.page,
                          REFERENCE + timedelta(minutes=5 * step)) for s in fresh]
        specs.append((fresh + old)[:len(old)])
    feeds = {f"/feeds/{f}.xml": render_feed(f, feed_specs, gen.corpus.base_url)
             for f, feed_specs in enumerate(specs)}
    pages = {**gen.corpus.pages, **{f"/artikel/{old_pages + i}.html": html
                                    for i, (_, html) in enumerate(built)}}
    return Generated(Corpus(gen.corpus.base_url, feeds, pages), specs, headlines, gen.seed)
