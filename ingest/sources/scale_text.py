"""Item texts of the SYNTHETIC scale dataset (:mod:`ingest.sources.scale`): a vocabulary with latent topics.

Each latent topic owns a list of English words no other topic uses; an item's title and description
draw most of their words from its topic, one word from another topic and a few from a shared filler
vocabulary, so that texts of the same topic share words (and meaning, for a BERT encoder) far more than
texts of different topics. Scenarios name their kind of item ("film", "novel", ...). Nothing here is real.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Latent topics: name -> its own words (no word belongs to two topics).
_TOPIC_WORDS = dict(
    space="starship galaxy astronaut alien orbit planet comet nebula rocket asteroid satellite cosmos",
    crime="detective murder heist police mystery gangster robbery suspect alibi smuggler fraud prison",
    romance="love wedding heartbreak affair passion letters courtship kiss bride suitor sweetheart flirt",
    war="soldier battle resistance trenches general siege army invasion regiment sniper bombing veteran",
    magic="wizard dragon spell kingdom quest sorcery witch enchanted potion elf prophecy amulet",
    sports="coach champion team underdog marathon boxing stadium trophy athlete tournament football league",
    horror="haunted ghost curse vampire nightmare asylum zombie demon possession graveyard werewolf exorcist",
    family="childhood siblings granny parents inheritance reunion twins adoption farmhouse cousins nephew uncle",
    ocean="sailor shipwreck island pirate voyage whale submarine lighthouse harbor storm coral captain",
    cooking="chef recipe kitchen restaurant baking feast spices bakery vineyard dinner flavors cuisine",
    politics="election senator president campaign scandal parliament diplomat vote congress candidate ballot governor",
    medicine="doctor hospital surgeon nurse epidemic disease patient virus cure clinic diagnosis pandemic",
    technology="computer robot hacker algorithm software internet startup virtual android cyber engineer laptop",
    travel="journey road trip backpacker train passport desert expedition tourist hotel map highway",
    nature="forest wildlife wolves jungle river mountain safari birds bear wilderness hiking glacier",
    history="empire pharaoh ancient medieval knight castle emperor dynasty roman crusade throne archaeology",
    western="cowboy sheriff outlaw ranch saloon frontier gunslinger horses bandit cattle prairie rodeo",
    spy="agent espionage informant mission undercover traitor embassy codebreaker cipher defector spymaster mole",
    comedy="jokes laughter prank clown comedian sitcom satire parody farce hilarious slapstick mishaps",
    art="painter museum gallery sculpture canvas artist portrait masterpiece studio forgery exhibition poet",
    finance="money banker stocks fortune investor billionaire bankrupt market hedge wealth tycoon merger",
    school="student teacher college campus classroom exam graduation professor dormitory homework principal tuition",
    music="band concert guitar singer orchestra rockstar jazz melody drummer opera songwriter piano",
    faith="church monk priest pilgrim miracle temple prayer saint gospel convent heaven sermon",
)
TOPICS: dict[str, tuple[str, ...]] = {name: tuple(words.split()) for name, words in _TOPIC_WORDS.items()}
#: Scenarios in order of size: name, item id prefix, words for the kind of item.
SCENARIOS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("movies", "m", ("film", "movie", "drama", "picture")),
    ("books", "b", ("novel", "book", "story", "memoir")),
    ("games", "g", ("game", "videogame", "adventure", "puzzle")),
    ("podcasts", "p", ("podcast", "show", "series", "episode")),
)
#: Words every topic's texts may use.
_FILLER = (
    "old new young lost last great little long dark bright strange quiet wild broken hidden final first golden "
    "silent endless city night day life world time people years heart dream light shadow edge way truth"
)
FILLER: tuple[str, ...] = tuple(_FILLER.split())
_TITLE_WORDS = "Silent Lost Last Hidden Golden Broken Dark Final Endless Wild Strange Little Great"
TITLE_WORDS: tuple[str, ...] = tuple(_TITLE_WORDS.split())
TOPIC_WORDS_PER_TEXT = 6  # of the topic's own words, in title + description
FILLER_PER_TEXT = 4


def topic_names(count: int) -> tuple[str, ...]:
    """The first ``count`` topic names (the order of :data:`TOPICS`)."""
    return tuple(list(TOPICS)[:count])


def item_texts(
    rng: np.random.Generator, topics: np.ndarray, n_topics: int, kinds: tuple[str, ...]
) -> Iterator[tuple[str, str]]:
    """``(title, description)`` per item, in order.

    Args:
        rng: The generator to draw words from (consumed in a fixed order: same state, same texts).
        topics: Latent topic index (``0..n_topics-1``) of each item.
        n_topics: How many topics are in use (another topic's word is drawn among these).
        kinds: Words naming the scenario's kind of item.

    Yields:
        A title (an adjective and two of the topic's words) and a description (a kind word, the topic's
        words, one word of another topic and filler words) per item; no tab or line break in either.
    """
    words = [TOPICS[t] for t in topic_names(n_topics)]
    per_topic = len(words[0])
    n = len(topics)
    own = np.argsort(rng.random((n, per_topic)), axis=1)[:, :TOPIC_WORDS_PER_TEXT].tolist()
    other_topic = ((topics + rng.integers(1, n_topics, size=n)) % n_topics).tolist()
    other_word = rng.integers(0, per_topic, size=n).tolist()
    filler = rng.integers(0, len(FILLER), size=(n, FILLER_PER_TEXT)).tolist()
    adjective = rng.integers(0, len(TITLE_WORDS), size=n).tolist()
    kind = rng.integers(0, len(kinds), size=n).tolist()
    order = np.argsort(rng.random((n, TOPIC_WORDS_PER_TEXT - 2 + FILLER_PER_TEXT + 1)), axis=1).tolist()
    for i, t in enumerate(topics.tolist()):
        mine = [words[t][j] for j in own[i]]
        title = f"The {TITLE_WORDS[adjective[i]]} {mine[0].title()} and the {mine[1].title()}"
        rest = [*mine[2:], words[other_topic[i]][other_word[i]], *(FILLER[j] for j in filler[i])]
        body = " ".join(rest[j] for j in order[i])
        yield title, f"A {kinds[kind[i]]} of {mine[0]} and {mine[1]}: {body}."
