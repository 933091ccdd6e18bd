"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.2605, "phrase": 6.7473, "matched": 2.8748, "unknown": 0.0175, "length": 0.9119, "lead": 4.6746, "relative": 5.8563, "others": 6.2189},
        -11.4377, 0.45, 0.2),
    "use-m3": ({"coverage": -1.0159, "phrase": 3.7760, "matched": 3.0802, "unknown": -0.8277, "length": -0.5193, "lead": 2.9505, "relative": 4.0332, "others": 5.3915, "near": 4.3968, "klass": 0.4286, "near_lead": 4.4817, "klass_lead": 6.7159},
        -9.5576, 0.46, 0.2),
}
