"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.7258, "phrase": 6.3086, "matched": 2.7594, "unknown": -0.0258, "length": 1.2174, "lead": 4.8256, "relative": 5.9156, "others": 5.6716},
        -11.9243, 0.43, 0.2),
    "use-m3": ({"coverage": -0.4693, "phrase": 3.0166, "matched": 2.9961, "unknown": -0.8845, "length": -0.1810, "lead": 3.4262, "relative": 3.8037, "others": 5.1513, "near": 5.0959, "klass": 0.3241, "near_lead": 4.8230, "klass_lead": 5.9013},
        -10.2225, 0.41, 0.2),
}
