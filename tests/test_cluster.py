"""Story clustering: wire copy across outlets has alike signatures, other stories do not,
and the comparison of one signature with the recent ones picks the most similar
(``monitor.deltas.cluster`` makes the signatures, ``monitor.signatures`` compares them; the
store's use of it is in test_store_clusters.py)."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from monitor.deltas.cluster import MIN_CLUSTER_WORDS, NO_SIGNATURE, shingles, signature
from monitor.signatures import NUM_PERM, SignatureTable, most_similar, similarity

# A dpa-style story, written for these tests (modelled on, not copied from, real reporting).
WIRE_INTRO = (
    'Moskau (dpa) - Das russische Gemeinschaftsunternehmen rund um die Handelsplattform '
    'AliExpress streicht einem Medienbericht zufolge einen großen Teil seiner Arbeitsplätze.'
)


WIRE_BODY = (
    'Betroffen seien bis zu 40 Prozent der rund 1500 Beschäftigten, schrieb die Moskauer '
    'Wirtschaftszeitung „Kommersant“ am Dienstag unter Berufung auf zwei mit den Plänen '
    'vertraute Personen. Der Abbau habe bereits im April begonnen und solle bis zum Sommer '
    'abgeschlossen sein.\n'
    'Hinter AliExpress Russland stehen der chinesische Onlinehändler Alibaba, der '
    'Internetkonzern VK – der frühere Mail.ru-Konzern –, der Mobilfunkanbieter Megafon sowie '
    'der staatliche Direktinvestitionsfonds RDIF. Ein Sprecher des Unternehmens wollte die '
    'Angaben nicht kommentieren. Alibaba hält nach früheren Angaben knapp die Hälfte der '
    'Anteile.\n'
    'Nach Angaben aus Branchenkreisen trifft der Stellenabbau vor allem Abteilungen, die für '
    'das grenzüberschreitende Geschäft zuständig waren. Seit Beginn des Krieges in der Ukraine '
    'und den westlichen Sanktionen gegen Russland sind Zahlungen ins Ausland schwierig '
    'geworden, zahlreiche Logistikfirmen haben ihre Verbindungen eingestellt. Chinesische '
    'Händler berichten, dass ihre Bestellungen aus Russland um mehr als die Hälfte eingebrochen'
    ' seien.\n'
    'Noch im vergangenen Jahr hatte AliExpress Russland einen Börsengang in Moskau erwogen. '
    'Analysten hatten den Wert des Gemeinschaftsunternehmens damals auf mehrere Milliarden '
    'Dollar geschätzt. Diese Pläne gelten inzwischen als vom Tisch.\n'
    'Die großen chinesischen Technologiekonzerne halten sich seit Kriegsbeginn mit Äußerungen '
    'zu Russland zurück. Sie fürchten, selbst ins Visier amerikanischer Sanktionen zu geraten, '
    'und fahren ihre Aktivitäten in dem Land leise zurück. Westliche Onlinehändler wie Amazon '
    'spielen auf dem russischen Markt ohnehin kaum eine Rolle, heimische Anbieter wie '
    'Wildberries und Ozon gewinnen dagegen weiter Marktanteile.'
)


OUTLET_A = "\n".join([
    "Von dpa-Korrespondent Stefan Wolff",
    "Aktualisiert am 17.05.2022, 11:42 Uhr",
    WIRE_INTRO,
    WIRE_BODY,
    "Mehr zum Thema",
    "AliExpress: Chinas Händler verlieren ihre russischen Kunden",
    "Sanktionen: Wie westliche Konzerne Russland verlassen",
    "Ozon und Wildberries profitieren vom Rückzug",
])

OUTLET_B = "\n".join([
    "Von unserer Wirtschaftsredaktion, mit Material von dpa",
    "Stand: 17.05.2022 13:10 Uhr",
    "Die Folgen der Russland-Sanktionen erreichen jetzt auch den Onlinehandel: Das Joint "
    "Venture um AliExpress baut nach einem Zeitungsbericht massiv Personal ab.",
    WIRE_BODY.replace("„", "»").replace("“", "«"),
    "Lesen Sie auch: Alibaba-Chef äußert sich zu Russland",
    "Das könnte Sie auch interessieren",
    "Wie chinesische Exporteure neue Wege nach Russland suchen",
    "Megafon meldet Rückgang beim Umsatz",
])

# Another story on the same subject: the founding of the joint venture (2019).
JV_FOUNDING = (
    'Moskau (Reuters) - Der chinesische Handelskonzern Alibaba bündelt sein Russland-Geschäft '
    'in einem neuen Gemeinschaftsunternehmen mit drei russischen Partnern. Der Internetkonzern '
    'Mail.ru, der Mobilfunker Megafon und der staatliche Fonds für Direktinvestitionen RDIF '
    'bringen Kapital und eigene Dienste ein, teilten die Beteiligten am Donnerstag in Sankt '
    'Petersburg mit.\n'
    'Alibaba soll 48 Prozent an AliExpress Russland halten, Megafon 24 Prozent, Mail.ru 15 '
    'Prozent und der RDIF 13 Prozent. Megafon tauscht dafür seinen Anteil an Mail.ru gegen '
    'Aktien des neuen Unternehmens, der Fonds steuert rund 100 Millionen Dollar bei.\n'
    'Die Partner wollen die Plattform zum führenden Marktplatz des Landes ausbauen und '
    'verstärkt russische Händler gewinnen, die bisher vor allem über eigene Läden verkaufen. '
    'Ein Sprecher von Alibaba sprach von einem wichtigen Schritt für das Geschäft in Osteuropa.'
    ' Wettbewerbshüter müssen der Transaktion noch zustimmen.'
)


def test_wire_copy_from_two_outlets_joins_one_cluster() -> None:
    sig_a, sig_b = signature(OUTLET_A), signature(OUTLET_B)
    assert similarity(sig_a, sig_b) >= 0.75
    assert most_similar(sig_b, [sig_a]) == 0


def test_other_story_on_same_subject_gets_its_own_cluster() -> None:
    sig_jv = signature(JV_FOUNDING)
    assert similarity(signature(OUTLET_A), sig_jv) < 0.1
    recent = [signature(OUTLET_A), signature(OUTLET_B)]
    assert most_similar(sig_jv, recent) is None
    recent.append(sig_jv)
    assert most_similar(signature(JV_FOUNDING + "\nMehr zum Thema\nAlibaba in Russland"),
                        recent) == 2


def test_shingles_ignore_case_punctuation_quotes_and_teaser_blocks() -> None:
    plain = "Alibaba hält knapp die Hälfte der Anteile an AliExpress Russland."
    styled = ("ALIBABA hält „knapp“ die Hälfte der Anteile an AliExpress-Russland!\n"
              "Mehr zum Thema\nOzon wächst")
    assert shingles(plain) == shingles(styled)
    assert "alibaba hält knapp die hälfte" in shingles(plain)
    assert shingles("Kurze Meldung", k=5) == {"kurze meldung"}
    assert shingles("") == set()


def test_short_texts_never_cluster() -> None:
    teaser = "AliExpress Russland streicht bis zu 40 Prozent der Stellen, berichtet eine Zeitung."
    assert len(teaser.split()) < MIN_CLUSTER_WORDS
    assert signature(teaser) == NO_SIGNATURE
    assert most_similar(signature(teaser), [signature(teaser)]) is None
    assert most_similar(signature(OUTLET_A), [NO_SIGNATURE]) is None
    assert similarity(NO_SIGNATURE, NO_SIGNATURE) == 0.0


def test_signature_size_and_identity() -> None:
    sig = signature(OUTLET_A)
    assert len(sig) == NUM_PERM * 8 == 128 * 8
    assert len(signature(OUTLET_A, num_perm=64)) == 64 * 8
    assert similarity(sig, sig) == 1.0
    restamped = OUTLET_A.replace("Aktualisiert am 17.05.2022, 11:42",
                                 "Aktualisiert am 18.05.2022, 08:03")
    assert signature(restamped) == sig


def test_signatures_are_the_same_bytes_in_another_process() -> None:
    code = (
        "import sys; from monitor.deltas.cluster import signature; "
        "sys.stdout.write(signature(sys.stdin.read()).hex())"
    )
    for hash_seed in ("0", "4711"):
        out = subprocess.run(
            [sys.executable, "-c", code], input=OUTLET_B, capture_output=True, text=True,
            check=True, env={"PYTHONHASHSEED": hash_seed, "PATH": ""}, timeout=60,
        )
        assert bytes.fromhex(out.stdout) == signature(OUTLET_B)


def test_the_most_similar_wins_and_equal_ones_go_to_the_earliest() -> None:
    paragraphs = OUTLET_A.splitlines()
    half_rewritten = "\n".join([*paragraphs[:7], JV_FOUNDING])
    recent = [signature(half_rewritten), signature(OUTLET_A)]
    probe = signature(OUTLET_B)
    assert similarity(probe, recent[0]) >= 0.3
    assert most_similar(probe, recent, threshold=0.3) == 1
    assert most_similar(recent[0], recent, threshold=0.99) == 0
    assert most_similar(probe, [recent[1], recent[0], recent[1]]) == 0


def test_threshold_is_inclusive_and_low_thresholds_find_weak_matches() -> None:
    paragraphs = WIRE_BODY.splitlines()
    weak = "\n".join([paragraphs[0], JV_FOUNDING, JV_FOUNDING.replace("Alibaba", "der Konzern")])
    score = similarity(signature(weak), signature(OUTLET_A))
    assert 0.05 < score < 0.3
    recent = [signature(OUTLET_A)]
    assert most_similar(signature(weak), recent, threshold=0.05) == 0
    assert most_similar(signature(weak), recent, threshold=score) == 0
    assert most_similar(signature(weak), recent, threshold=0.5) is None


def test_one_comparison_agrees_with_the_pairwise_estimate() -> None:
    texts = [OUTLET_A, OUTLET_B, JV_FOUNDING, WIRE_BODY, WIRE_INTRO + "\n" + JV_FOUNDING]
    recent = [signature(t) for t in texts]
    for probe in (signature(OUTLET_B), signature(JV_FOUNDING + "\nMehr zum Thema")):
        scores = [similarity(probe, sig) for sig in recent]
        for threshold in (0.0, 0.2, 0.5, 0.9):
            best = max(scores)
            expected = scores.index(best) if best >= threshold else None
            assert most_similar(probe, recent, threshold=threshold) == expected


def test_a_table_of_signatures_answers_as_one_comparison_of_its_live_rows() -> None:
    """The table the store keeps between saves: a row put again is replaced, rows seen
    before ``since`` and the excluded key take no part, equal rows go to the lowest key
    whatever order they came in, and it grows past its first capacity."""
    copy, other = signature(OUTLET_A), signature(JV_FOUNDING)
    table = SignatureTable()
    for key in range(300, 100, -1):          # 200 rows, highest key first
        table.put(key, key, other, seen=key)
    table.put(90, 7, copy, seen=50)          # the copy, seen before the window below
    probe = signature(OUTLET_B)
    assert len(table) == 201
    assert table.best(probe, since=0, threshold=0.5) == 7
    assert table.best(probe, since=51, threshold=0.5) is None
    assert table.best(probe, since=0, threshold=0.5, exclude=90) is None
    table.put(90, 7, other, seen=50)         # its text changed: compared by the new one
    assert table.best(probe, since=0, threshold=0.5) is None
    assert table.best(other, since=150, threshold=0.9) == 150
    assert table.best(other, since=150, threshold=0.9, exclude=150) == 151
    assert table.best(NO_SIGNATURE, since=0, threshold=0.0) is None


def test_signature_of_another_size_is_skipped_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    small = signature(OUTLET_A, num_perm=64)
    with caplog.at_level(logging.WARNING, logger="monitor.signatures"):
        assert most_similar(signature(OUTLET_A), [small]) is None
    assert "signatures skipped count=1 num_perm=128" in caplog.text
    assert most_similar(small, [signature(OUTLET_A)]) is None
    assert most_similar(signature(OUTLET_B), [small, signature(OUTLET_A)]) == 1
    assert similarity(small, signature(OUTLET_A)) == 0.0


def test_signature_is_datasketch_own_minhash_of_the_shingles() -> None:
    """The signature hashes shingles in one pass (``shingle_hashes``); its bytes are those of
    datasketch's MinHash fed the UTF-8 shingles with its default SHA-1 hash, so signatures
    stored before compare with new ones."""
    from datasketch import MinHash

    from monitor.deltas.cluster import SCHEME, SEED
    from monitor.signatures import encode

    for text in (OUTLET_A, WIRE_BODY, WIRE_BODY.upper() + " Übernahme ß € 😀"):
        reference = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
        reference.update_batch([s.encode("utf-8") for s in shingles(text)])
        assert signature(text) == encode(reference.hashvalues) != NO_SIGNATURE
