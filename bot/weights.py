"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": -0.0267, "phrase": 6.2253, "matched": 3.3214, "unknown": -0.1295, "length": 0.7357, "lead": 5.2291, "relative": 5.4696},
        -11.0106, 0.48, 0.2),
    "use-m3": ({"coverage": -1.0404, "phrase": 3.2525, "matched": 3.5143, "unknown": -0.8291, "length": -0.4328, "lead": 3.6784, "relative": 4.0700, "near": 3.8055, "klass": 0.6843, "near_lead": 3.8089, "klass_lead": 5.6841},
        -9.6179, 0.37, 0.18),
}
