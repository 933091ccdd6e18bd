"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.0015, "phrase": 6.2073, "matched": 3.3034, "unknown": -0.0708, "length": 0.7583, "lead": 5.1179, "relative": 5.3604},
        -10.9404, 0.48, 0.2),
    "use-m3": ({"coverage": -0.9995, "phrase": 3.2096, "matched": 3.5100, "unknown": -0.7458, "length": -0.4038, "lead": 3.5374, "relative": 3.9570, "near": 3.8356, "klass": 0.7884, "near_lead": 4.0275, "klass_lead": 5.4249},
        -9.5929, 0.38, 0.19),
}
