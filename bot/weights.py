"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": -0.0267, "phrase": 6.2253, "matched": 3.3214, "unknown": -0.1295, "length": 0.7357, "lead": 5.2291, "relative": 5.4696},
        -11.0106, 0.48, 0.2),
    "use-m3": ({"coverage": -0.7336, "phrase": 4.0390, "matched": 3.4686, "unknown": -0.8009, "length": -0.0192, "lead": 3.7937, "relative": 4.1379, "near": 2.2897, "klass": 0.7239, "near_lead": 3.0438, "klass_lead": 5.5318},
        -9.3524, 0.40, 0.2),
}
