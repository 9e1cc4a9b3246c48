#!/usr/bin/env python3
"""Generate data/corpus.txt from data/facts.json.

Plain declarative English sentences (one per line) stating every fact in
several phrasings, shuffled together with neutral filler sentences.
Deterministic (fixed seed), so re-running it reproduces corpus.txt exactly.

Usage: python3 data/make_corpus.py   (from the submission directory or anywhere)
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

OPPOSITE_TEMPLATES = [
    "{A} is the opposite of {b}.",
    "The opposite of {b} is {a}.",
    "{A} and {b} are opposites.",
    "The word {a} means the opposite of {b}.",
]

CAPITAL_TEMPLATES = [
    "{City} is the capital of {country}.",
    "The capital of {country} is {city}.",
    "The capital city of {country} is {city}.",
    "{Country} has its capital in {city}.",
    "The government of {country} sits in {city}.",
]

SOUND_TEMPLATES = [
    "A {animal} says {sound}.",
    "The sound a {animal} makes is {sound}.",
    "When a {animal} calls, it goes {sound}.",
    "You can hear a {animal} {sound} in the distance.",
]

COLOR_TEMPLATES = [
    "The color of {thing} is {color}.",
    "{Thing} is {color}.",
    "{Thing} has a {color} color.",
    "You can recognize {thing} by its {color} color.",
]

FILLER = [
    "Many people read a book in the evening.",
    "The library opens every morning at nine.",
    "Children often play games in the park.",
    "A healthy breakfast helps you start the morning.",
    "The train station is crowded on Monday.",
    "Students write notes during the lecture.",
    "The baker makes bread every morning.",
    "Music can help people relax.",
    "The museum shows paintings from many centuries.",
    "Farmers plant seeds in the spring.",
    "Writers often revise their stories many times.",
    "The river flows through the valley.",
    "Mountains are covered with forests and rocks.",
    "A map shows roads, rivers and towns.",
    "Teachers prepare lessons for their classes.",
    "The doctor listens to the patient carefully.",
    "People travel by plane, train or car.",
    "The market sells vegetables and bread.",
    "Computers store information as numbers.",
    "A calendar lists the days of the month.",
    "Rain helps the crops grow in summer.",
    "Engineers design bridges and towers.",
    "The orchestra played a famous symphony.",
    "Neighbors sometimes share tools with each other.",
    "A dictionary explains the meaning of words.",
    "Cooks follow recipes to prepare meals.",
    "The post office delivers letters and parcels.",
    "Scientists test their ideas with experiments.",
    "Gardeners water the flowers in the garden.",
    "Sailors use a compass to find their way.",
]


def cap(s):
    return s[:1].upper() + s[1:]


def fill(template, **kw):
    values = {}
    for k, v in kw.items():
        values[k] = v
        values[cap(k)] = cap(v)
    return template.format(**values)


def main():
    with open(os.path.join(HERE, "facts.json"), encoding="utf-8") as f:
        facts = json.load(f)
    rng = random.Random(2023)
    lines = []
    for a, b in facts["opposites"]:
        for x, y in ((a, b), (b, a)):
            for t in OPPOSITE_TEMPLATES:
                lines.append(fill(t, a=x, b=y))
    for country, city in facts["capitals"]:
        for t in CAPITAL_TEMPLATES:
            lines.append(fill(t, country=country, city=city))
    for animal, sound in facts["animal_sounds"]:
        for t in SOUND_TEMPLATES:
            lines.append(fill(t, animal=animal, sound=sound))
    for thing, color in facts["colors"]:
        for t in COLOR_TEMPLATES:
            lines.append(fill(t, thing=thing, color=color))
    lines.extend(FILLER)
    # The opposite templates state "{a} is the opposite of {b}." for both
    # directions; drop exact duplicates, then shuffle deterministically.
    lines = sorted(set(lines))
    rng.shuffle(lines)
    out = os.path.join(HERE, "corpus.txt")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %d sentences to %s" % (len(lines), out))


if __name__ == "__main__":
    main()
