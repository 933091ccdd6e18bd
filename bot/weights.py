"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.8405, "phrase": 6.2931, "matched": 2.8668, "unknown": 0.0801, "length": 1.0228, "lead": 4.4099, "relative": 5.8586, "others": 5.9872},
        -11.8038, 0.46, 0.2),
    "use-m3": ({"coverage": -0.3118, "phrase": 3.1112, "matched": 3.1366, "unknown": -0.7304, "length": -0.4368, "lead": 3.0483, "relative": 3.7729, "others": 5.4086, "near": 4.9989, "klass": 0.4346, "near_lead": 5.1343, "klass_lead": 5.7604},
        -10.1021, 0.44, 0.2),
}
