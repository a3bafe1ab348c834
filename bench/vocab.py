"""Shared deterministic vocabulary for the corpus and query generators.

Words are synthetic (syllable strings) so the corpus has no licensing
question, and their frequencies follow a Zipf law, as natural text does:
that is what makes FTS5 posting lists long for common words and short for
rare ones, which is what the search benchmark has to exercise.
"""

import bisect
import itertools
import random

VOCAB_SIZE = 20000
ZIPF_S = 1.07

_ONSETS = ["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "z",
           "br", "cr", "dr", "gr", "pl", "st", "tr", "ch", "sh", "th", "k", "qu"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
_CODAS = ["", "", "", "n", "r", "s", "l", "m", "x", "nt", "st", "ck"]

SUBJECTS = [
    "Computer Science", "Data Analysis", "Engineering", "Mathematics", "Physics",
    "Chemistry", "Biology", "Medicine", "Economics", "Finance", "Business",
    "Management", "Law", "History", "Philosophy", "Literature", "Language",
    "Art", "Music", "Architecture", "Education", "Environment", "Energy",
    "Health", "Psychology", "Sociology", "Political Science", "Communication",
    "Design", "Statistics",
]
LEVELS = ["Introductory", "Intermediate", "Advanced"]
LANGUAGES = ["en", "en", "en", "en", "es", "fr", "zh-Hans", "de"]


def slugify(text):
    return "-".join(text.lower().split())


class Vocabulary:
    """VOCAB_SIZE distinct words, rank 0 most frequent, drawn Zipf-wise."""

    def __init__(self, seed):
        rng = random.Random(seed * 7919 + 1)
        seen = set()
        words = []
        while len(words) < VOCAB_SIZE:
            n = rng.choice((1, 2, 2, 2, 3, 3, 4))
            w = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                        for _ in range(n))
            if len(w) >= 3 and w not in seen and w not in ("and", "not", "or"):
                seen.add(w)
                words.append(w)
        # Short words are common in real text: sort by length, stable.
        words.sort(key=len)
        self.words = words
        weights = [1.0 / (r + 1) ** ZIPF_S for r in range(VOCAB_SIZE)]
        self.cum = list(itertools.accumulate(weights))

    def sample(self, rng, k, top=None, skip=0):
        """k words, Zipf-distributed; only ranks skip <= r < top."""
        cum = self.cum if top is None else self.cum[:top]
        low = cum[skip - 1] if skip > 0 else 0.0
        total = cum[-1]
        words = self.words
        return [words[bisect.bisect_left(cum, low + rng.random() * (total - low))]
                for _ in range(k)]
