"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.7050, "phrase": 6.2989, "matched": 2.7493, "unknown": -0.0498, "length": 1.2302, "lead": 4.8919, "relative": 5.8475, "others": 5.8665},
        -11.8485, 0.43, 0.2),
    "use-m3": ({"coverage": -0.5350, "phrase": 2.9682, "matched": 3.0052, "unknown": -0.9433, "length": -0.1949, "lead": 3.4762, "relative": 3.6485, "others": 5.3864, "near": 5.1313, "klass": 0.3090, "near_lead": 4.7696, "klass_lead": 6.0148},
        -10.0322, 0.42, 0.2),
}
