"""Fixture news for the integration tests: German feeds and article pages, written for the
tests (modelled on real reporting, no publisher's text), rendered with dates relative to now
so a first poll counts them as new."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape


@dataclass(frozen=True)
class Item:
    title: str
    path: str
    summary: str
    guid: str | None = None
    age: timedelta = timedelta(hours=1)
    updated: datetime | None = None


@dataclass
class Story:
    headline: str
    paragraphs: list[str]
    sidebar: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    canonical: str | None = None
    stamp: str = "Stand: 21.11.2026, 09:12 Uhr"


def rss(base: str, title: str, items: list[Item], *, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    entries = []
    for item in items:
        guid = f"<guid isPermaLink=\"false\">{escape(item.guid)}</guid>" if item.guid else ""
        updated = (f"<atom:updated>{item.updated.isoformat()}</atom:updated>"
                   if item.updated else "")
        entries.append(
            f"<item><title>{escape(item.title)}</title><link>{escape(base + item.path)}</link>"
            f"{guid}<pubDate>{format_datetime(now - item.age)}</pubDate>{updated}"
            f"<description>{escape(item.summary)}</description></item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            f"<title>{escape(title)}</title><link>{escape(base)}/</link>"
            "<description>Wirtschaftsnachrichten</description><language>de</language>"
            + "".join(entries) + "</channel></rss>")


def page(story: Story, *, site: str = "Wirtschaftskurier") -> str:
    canonical = f'<link rel="canonical" href="{escape(story.canonical)}">' if story.canonical \
        else ""
    body = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
    sidebar = "".join(f'<li><a href="/weiter/{i}">{escape(s)}</a></li>'
                      for i, s in enumerate(story.sidebar))
    comments = "".join(f'<div class="comment"><p>{escape(c)}</p></div>' for c in story.comments)
    return f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">
<title>{escape(story.headline)} | {site}</title>{canonical}
<meta property="og:site_name" content="{site}"></head><body>
<header><nav><a href="/">Startseite</a> <a href="/wirtschaft">Wirtschaft</a>
<a href="/maerkte">Märkte</a> <a href="/abo">Abo</a></nav></header>
<main><article><h1>{escape(story.headline)}</h1>
<p class="byline">Von Redaktion {site}</p><p class="date">{escape(story.stamp)}</p>
{body}</article>
<aside class="sidebar"><h2>Meistgelesen</h2><ul>{sidebar}</ul></aside>
<section class="comments"><h2>Kommentare</h2>{comments}</section></main>
<footer><p>Impressum · Datenschutz · Kontakt · © {site}</p></footer></body></html>"""


LAYOFFS = Story(
    headline="AliExpress Russland streicht bis zu 40 Prozent der Stellen",
    paragraphs=[
        "Das russische Gemeinschaftsunternehmen um die Handelsplattform AliExpress baut "
        "massiv Personal ab. Wie aus Unternehmenskreisen in Moskau verlautete, sollen bis zu "
        "40 Prozent der Beschäftigten gehen.",
        "Als Grund nennt das Management die Folgen der westlichen Sanktionen gegen Russland. "
        "Internationale Zahlungsdienstleister hätten sich zurückgezogen, der Versand aus "
        "China sei teurer und langsamer geworden, und die Zahl der Bestellungen sei deutlich "
        "gesunken.",
        "Der chinesische Konzern Alibaba hält an dem Joint Venture die größte Einzelbeteiligung. "
        "Beobachter in Moskau rechnen damit, dass sich die Partner neu sortieren werden.",
        "Von dem Abbau betroffen sind vor allem Verwaltung, Marketing und die Betreuung von "
        "Händlern. Die Logistikzentren im Umland der Hauptstadt sollen vorerst weiterarbeiten, "
        "hieß es. Eine offizielle Stellungnahme lag zunächst nicht vor.",
    ],
    sidebar=["Ölpreis steigt nach Opec-Beschluss", "Bahn-Streik: Was Pendler wissen müssen"],
    comments=["Das war absehbar, seit die Zahlungswege gesperrt sind."],
)

JV_PARAGRAPH = (
    "Zum Gemeinschaftsunternehmen gehören neben Alibaba auch der Mobilfunker MegaFon, die "
    "Internetgruppe VK, früher Mail.ru, und der staatliche Russische Direktinvestitionsfonds "
    "RDIF. Die Partner hatten das Bündnis 2019 besiegelt, um den russischen Onlinehandel "
    "gemeinsam zu erobern.")

TRAP = Story(
    headline="Mittelständler setzen auf Wasserstoff in der Produktion",
    paragraphs=[
        "Immer mehr mittelständische Industriebetriebe in Baden-Württemberg stellen ihre "
        "Öfen auf Wasserstoff um. Das geht aus einer Umfrage des Branchenverbands hervor.",
        "Die Unternehmen erhoffen sich stabilere Energiekosten und bessere Chancen bei "
        "Kunden, die klimaneutrale Zulieferer verlangen. Allerdings fehle es noch an "
        "Leitungen und an bezahlbarem Wasserstoff in ausreichender Menge.",
        "Der Verband fordert deshalb ein schnelleres Genehmigungsverfahren für Elektrolyseure "
        "und Pipelines. Die Landesregierung kündigte ein Förderprogramm an.",
    ],
    sidebar=["Alibaba-Tochter AliExpress: Rückzug aus Russland?",
             "Russland-Sanktionen treffen Onlinehändler"],
    comments=["Und was ist mit Alibaba in Russland? Darüber liest man hier nichts."],
)

OTHER = Story(
    headline="Dax schließt nach Zinsentscheid fester",
    paragraphs=[
        "Der deutsche Leitindex hat den Handelstag mit Gewinnen beendet. Anleger reagierten "
        "erleichtert auf die Entscheidung der Notenbank, die Zinsen unverändert zu lassen.",
        "Besonders gefragt waren Aktien von Versorgern und Autoherstellern. Der Euro gab "
        "gegenüber dem Dollar leicht nach.",
    ],
)


# A wire report (dpa-style) of the LAYOFFS story, run by a second outlet under its own headline:
# the same paragraphs, a dateline and a different closing sentence.
WIRE_LAYOFFS = Story(
    headline="Sanktionen treffen Onlinehandel: AliExpress-Ableger in Russland baut Personal ab",
    paragraphs=[
        "Moskau (dpa-AFX) - " + LAYOFFS.paragraphs[0],
        LAYOFFS.paragraphs[1],
        LAYOFFS.paragraphs[2],
        LAYOFFS.paragraphs[3].replace("Eine offizielle Stellungnahme lag zunächst nicht vor.",
                                      "Das Unternehmen äußerte sich auf Anfrage zunächst nicht."),
    ],
    sidebar=["Rubel fällt auf Jahrestief", "Maschinenbauer senken Prognose"],
    stamp="21.11.2026 – 10:03 Uhr",
)

# LAYOFFS after the publisher's edit: a paragraph about the joint venture added.
LAYOFFS_WITH_JV = Story(
    headline=LAYOFFS.headline,
    paragraphs=[*LAYOFFS.paragraphs[:3], JV_PARAGRAPH, LAYOFFS.paragraphs[3]],
    sidebar=LAYOFFS.sidebar, comments=LAYOFFS.comments,
)

# LAYOFFS after a cosmetic touch: the "Aktualisiert" line, the sidebar and the comments.
LAYOFFS_RESTAMPED = Story(
    headline=LAYOFFS.headline,
    paragraphs=LAYOFFS.paragraphs,
    sidebar=["Gaspreis sinkt deutlich", *LAYOFFS.sidebar],
    comments=[*LAYOFFS.comments, "Wer bestellt da eigentlich noch?"],
    stamp="Aktualisiert am 21.11.2026, 11:40 Uhr",
)
