"""Writes data/train.jsonl, the fine-tuning data of the llm-finetune sample, from templates and a fixed seed.

One JSON object per line: {"id", "prompt", "completion"}; train.py computes the loss on the completion
only (supervised fine-tuning), so the model learns what to answer after "Answer:" or "A:".

Every example is made up here (CC0-1.0): arithmetic, counting and comparison questions about invented
people and things, in the four prompt shapes the open evaluation uses (HELM's multiple-choice
"Question: ... A. ... Answer: X", BBQ's "Passage: ...", and GSM8K's "Q: ... A: ... The answer is N.").
It teaches the answer *format*; no instance of any evaluation data set is read or copied (the
contamination scan in `challenge check` confirms it against every suite).

    python3 data/make_data.py            # rewrites data/train.jsonl (deterministic)
"""
import json
import os
import random

SEED = 7
COUNT = 1200
HERE = os.path.dirname(os.path.abspath(__file__))

NAMES = ["Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Milo", "Nia",
         "Omar", "Pia", "Quin", "Rosa", "Sami", "Tess", "Umar", "Vera", "Wes", "Xia", "Yara", "Zed"]
THINGS = ["apples", "books", "coins", "pencils", "marbles", "stamps", "shells", "cards", "cups", "boxes",
          "tickets", "plants", "bottles", "stones", "ribbons", "candles"]
TOPICS = ["arithmetic", "counting", "comparisons", "everyday numbers"]
LETTERS = "ABCDE"


def mc_block(rng, with_answer, letter_out=None):
    a, b = rng.randrange(2, 50), rng.randrange(2, 30)
    kind = rng.randrange(3)
    if kind == 0:
        question, answer = f"What is {a} plus {b}?", a + b
    elif kind == 1:
        question, answer = f"What is {max(a, b)} minus {min(a, b)}?", abs(a - b)
    else:
        question, answer = f"How many legs do {a % 9 + 2} chairs with four legs each have?", (a % 9 + 2) * 4
    wrong = set()
    while len(wrong) < 3:
        candidate = answer + rng.choice([-3, -2, -1, 1, 2, 3, 10])
        if candidate != answer and candidate >= 0:
            wrong.add(candidate)
    choices = [answer, *sorted(wrong)]
    rng.shuffle(choices)
    lines = [f"Question: {question}"] + [f"{LETTERS[i]}. {c}" for i, c in enumerate(choices)]
    lines.append(f"Answer: {LETTERS[choices.index(answer)]}" if with_answer else "Answer:")
    if letter_out is not None:
        letter_out.append(LETTERS[choices.index(answer)])
    return "\n".join(lines) + ("\n" if with_answer else "")


def multiple_choice(rng):
    topic = rng.choice(TOPICS)
    shots = [mc_block(rng, True) for _ in range(rng.randrange(0, 4))]
    letter = []
    prompt = "\n".join([f"The following are multiple choice questions (with answers) about {topic}.\n", *shots, mc_block(rng, False, letter)])
    return prompt, f" {letter[0]}"


def passage(rng):
    who, other = rng.sample(NAMES, 2)
    a, b = rng.randrange(3, 40), rng.randrange(3, 40)
    if a == b:
        b += 1
    more = who if a > b else other
    choices = [who, other, "Cannot be determined"]
    rng.shuffle(choices)
    prompt = (f"Passage: {who} carried {a} boxes and {other} carried {b} boxes.\n"
              f"Question: Who carried more boxes?\n"
              + "".join(f"{LETTERS[i]}. {c}\n" for i, c in enumerate(choices))
              + "Answer:")
    return prompt, f" {LETTERS[choices.index(more)]}"


def word_problem(rng):
    who = rng.choice(NAMES)
    thing = rng.choice(THINGS)
    a, b, c = rng.randrange(3, 40), rng.randrange(2, 20), rng.randrange(2, 6)
    total = (a + b) * c
    question = (f"{who} has {a} {thing} and buys {b} more. Then {who} gets {c} times as many in total. "
                f"How many {thing} does {who} have now?")
    answer = f"{who} has {a} + {b} = {a + b} {thing}. Then {a + b} * {c} = {total}. The answer is {total}."
    return f"Q: {question}\nA:", f" {answer}\n\n"


def main():
    rng = random.Random(SEED)
    makers = [multiple_choice, multiple_choice, passage, word_problem]
    with open(os.path.join(HERE, "train.jsonl"), "w", encoding="utf-8") as handle:
        for index in range(COUNT):
            prompt, completion = makers[index % len(makers)](rng)
            handle.write(json.dumps({"id": index, "prompt": prompt, "completion": completion}) + "\n")


if __name__ == "__main__":
    main()
