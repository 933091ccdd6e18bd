"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.1956, "phrase": 6.6148, "matched": 2.9685, "unknown": 0.0076, "length": 0.7597, "lead": 4.5661, "relative": 5.8265, "others": 6.4126},
        -11.3294, 0.46, 0.2),
    "use-m3": ({"coverage": -0.9088, "phrase": 3.4917, "matched": 3.2049, "unknown": -0.5040, "length": -0.7599, "lead": 3.0407, "relative": 3.9245, "others": 5.6433, "near": 4.6624, "klass": 0.3193, "near_lead": 4.6027, "klass_lead": 6.2743},
        -9.6072, 0.47, 0.2),
}
