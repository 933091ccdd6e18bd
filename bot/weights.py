"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.2518, "phrase": 6.5213, "matched": 2.9462, "unknown": 0.0238, "length": 0.7530, "lead": 4.4563, "relative": 5.9109, "others": 6.4035},
        -11.3912, 0.46, 0.2),
    "use-m3": ({"coverage": -0.8301, "phrase": 3.3222, "matched": 3.1660, "unknown": -0.5117, "length": -0.7795, "lead": 2.9501, "relative": 3.9799, "others": 5.6464, "near": 4.7432, "klass": 0.4138, "near_lead": 4.6671, "klass_lead": 6.2735},
        -9.6806, 0.47, 0.2),
}
