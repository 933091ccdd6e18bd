"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.7098, "phrase": 6.3632, "matched": 2.7330, "unknown": 0.0076, "length": 1.2395, "lead": 4.9277, "relative": 5.8816, "others": 5.2532},
        -11.9214, 0.43, 0.2),
    "use-m3": ({"coverage": -0.5021, "phrase": 3.0007, "matched": 2.9846, "unknown": -0.8483, "length": -0.1792, "lead": 3.5262, "relative": 3.6648, "others": 4.8534, "near": 5.1176, "klass": 0.2303, "near_lead": 4.9209, "klass_lead": 5.8929},
        -10.0872, 0.40, 0.2),
}
