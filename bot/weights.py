"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.0050, "phrase": 6.2375, "matched": 3.3317, "unknown": -0.1033, "length": 0.7232, "lead": 5.2154, "relative": 5.4774, "other_fit": -0.0216, "other_miss": 0.6371},
        -11.0452, 0.48, 0.2),
    "use-m3": ({"coverage": -0.7094, "phrase": 4.0549, "matched": 3.4748, "unknown": -0.7762, "length": -0.0517, "lead": 3.7933, "relative": 4.1364, "other_fit": -0.0866, "other_miss": 0.6246, "near": 2.2732, "near_other": 0.1260, "klass": 0.7021, "near_lead": 3.0361, "klass_lead": 5.5403},
        -9.3942, 0.41, 0.2),
}
