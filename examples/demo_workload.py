"""A small, realistic workload profiled into demo.prof (the README's example).

Regenerate: python3 -m cProfile -o examples/demo.prof examples/demo_workload.py
"""
import json
import re
import random
from collections import Counter

WORD = re.compile(r"[a-z]+")


def make_records(n, rng):
    return [{"id": i, "name": "".join(rng.choice("abcdefgh") for _ in range(8)),
             "score": rng.random(), "tags": [rng.choice("xyz") for _ in range(3)]} for i in range(n)]


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def tokenize(text):
    return WORD.findall(text.lower())


def word_counts(records):
    counts = Counter()
    for r in records:
        counts.update(tokenize(json.dumps(r)))
    return counts


def rank(records):
    return sorted(records, key=lambda r: (-r["score"], r["name"]))


def roundtrip(records):
    return json.loads(json.dumps(records))


def main():
    rng = random.Random(42)
    records = make_records(4000, rng)
    for _ in range(3):
        records = roundtrip(records)
    counts = word_counts(records)
    top = rank(records)[:10]
    total = sum(fib(k) for k in range(18))
    print(len(counts), top[0]["name"], total)


if __name__ == "__main__":
    main()
