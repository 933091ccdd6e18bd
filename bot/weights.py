"""The ranker's fitted weights: written by bench/fit_ranker.py, not by hand."""

from __future__ import annotations

# fitted on 50 cards (knowledge) and bench/dev, hard and out-of-scope questions
# mode -> (weights by feature name, bias, confident threshold, plausible threshold)
FITTED: dict[str, tuple[dict[str, float], float, float, float]] = {
    "words": ({"coverage": 0.8404, "phrase": 6.2930, "matched": 2.8664, "unknown": 0.0800, "length": 1.0231, "lead": 4.4106, "relative": 5.8560, "others": 5.9883},
        -11.8012, 0.44, 0.2),
    "use-m3": ({"coverage": -0.3117, "phrase": 3.1112, "matched": 3.1364, "unknown": -0.7305, "length": -0.4366, "lead": 3.0485, "relative": 3.7715, "others": 5.4084, "near": 4.9986, "klass": 0.4343, "near_lead": 5.1347, "klass_lead": 5.7604},
        -10.1007, 0.42, 0.2),
}
