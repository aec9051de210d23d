"""Learning from the desk's verdicts in the article stage: a new story very like stories marked
not relevant for a topic is held back from immediate alerts.

Owns ``VerdictJudge``: per topic a model of the verdicts (``monitor.match.learn``: TF-IDF
over the judged stories' texts, the topic's own words left out, recent stories as the
background), refitted only when the topic's verdicts changed (looked up at most every
``CHECK_EVERY``). A topic without a story marked not relevant has no model, and then
scikit-learn is never imported: a desk that judges nothing costs nothing. The judgement is
data: the reason ("ähnlich wie „…“ (als nicht relevant markiert, Ähnlichkeit 0.52)") travels
with the event to the store, which queues no alert for it, and to the digest, which lists it
under "Wahrscheinlich nicht relevant".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from monitor.match.learn import Example, TermSuggestion, VerdictModel, fit, suggest
from monitor.match.normalise import Normaliser
from monitor.store.learning import JudgedStory

log = logging.getLogger(__name__)
CHECK_EVERY = 30.0     # seconds between looks at a topic's verdicts


class LearningStore(Protocol):
    def verdict_version(self, topic: str) -> tuple[int, int]: ...

    def verdict_texts(self, topic: str) -> list[JudgedStory]: ...

    def background_texts(self, limit: int = 200) -> list[str]: ...


@dataclass
class _Fitted:
    version: tuple[int, int]
    model: VerdictModel | None
    checked: float


@dataclass
class VerdictJudge:
    """Judges new stories by the verdicts of their topic; ``topic_words``: each topic's own
    words (query terms and alias entries), which say nothing about a verdict; ``lemmas``:
    the normaliser that gives words their base forms (the matcher's, so one word cache)."""

    store: LearningStore
    topic_words: Mapping[str, Sequence[str]]
    clock: Callable[[], float] = time.monotonic
    lemmas: Normaliser = field(default_factory=Normaliser)   # the matcher's, when shared
    _fitted: dict[str, _Fitted] = field(default_factory=dict)

    def held_back(self, topic: str, title: str, text: str, section: str = "") -> str:
        """The reason to hold this story back from alerts, or "" to alert as usual."""
        model = self._model(topic)
        if model is None:
            return ""
        judgement = model.judge(f"{title}\n{text}", section=section)
        if judgement.held_back:
            log.info("held_back topic=%s similarity=%.2f like=%r", topic,
                     judgement.similarity, judgement.like)
        return judgement.reason

    def _model(self, topic: str) -> VerdictModel | None:
        now = self.clock()
        fitted = self._fitted.get(topic)
        if fitted is not None and now - fitted.checked < CHECK_EVERY:
            return fitted.model
        version = self.store.verdict_version(topic)
        if fitted is not None and fitted.version == version:
            fitted.checked = now
            return fitted.model
        self._fitted[topic] = _Fitted(version, self._fit(topic), now)
        return self._fitted[topic].model

    def _fit(self, topic: str) -> VerdictModel | None:
        judged = self.store.verdict_texts(topic)
        if not any(not story.relevant for story in judged):
            return None
        examples = verdict_examples(judged)
        log.info("verdict_model topic=%s verdicts=%d", topic, len(examples))
        return fit(examples, background=self.store.background_texts(),
                   topic_words=self.topic_words.get(topic, ()), lemmas=self.lemmas)


def verdict_examples(judged: Sequence[JudgedStory]) -> list[Example]:
    """The desk's judged stories as examples for ``match.learn``."""
    return [Example(f"{s.title}\n{s.text}", s.relevant, name=s.title, section=s.source,
                    matched=s.matched) for s in judged]


def suggestions(store: LearningStore, topic: str) -> list[TermSuggestion]:
    """Query changes the topic's verdicts propose (``match.learn.suggest``)."""
    return suggest(verdict_examples(store.verdict_texts(topic)))
