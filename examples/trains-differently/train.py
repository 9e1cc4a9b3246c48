#!/usr/bin/env python3
"""Train a word co-occurrence + trigram model from data/corpus.txt.

Pure Python standard library. Writes to $ARTIFACTS_DIR (default /artifacts):
  model.json     the model read by server.py
  vocab.json     the vocabulary (token id = list index; id 0 is <unk>)
  progress.json  {"step", "totalSteps", "checkpoint"} updated after every step
"""
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS_DIR = os.environ.get("ARTIFACTS_DIR", "/artifacts")
CORPUS = os.environ.get("CORPUS_PATH", os.path.join(HERE, "data", "corpus.txt"))
TOKEN_RE = re.compile(r"[a-z0-9']+|[^\sa-z0-9]")
WORD_RE = re.compile(r"^[a-z0-9']+$")
UNK = "<unk>"
TOTAL_STEPS = 5
STEP_SLEEP_S = 0.2  # keeps progress observable; the real work takes milliseconds


def tokenize(text):
    return TOKEN_RE.findall(text.lower())


def write_json_atomic(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, separators=(",", ":"), sort_keys=True)
    os.replace(tmp, path)


def progress(step, checkpoint=None):
    write_json_atomic(
        os.path.join(ARTIFACTS_DIR, "progress.json"),
        {"step": step, "totalSteps": TOTAL_STEPS, "checkpoint": checkpoint},
    )
    print("step %d/%d%s" % (step, TOTAL_STEPS, " checkpoint=" + checkpoint if checkpoint else ""), flush=True)
    time.sleep(STEP_SLEEP_S)


def main():
    if not os.path.isdir(ARTIFACTS_DIR):
        print("error: artifacts directory %s does not exist" % ARTIFACTS_DIR, file=sys.stderr)
        return 2
    if os.environ.get("CHALLENGE_OOM_RETRY") == "1":
        print("note: CHALLENGE_OOM_RETRY=1 (this model is tiny; nothing to change)", flush=True)

    progress(0)

    # Step 1: read the corpus.
    with open(CORPUS, encoding="utf-8") as f:
        sentences = [line.strip() for line in f if line.strip()]
    print("read %d sentences from %s" % (len(sentences), CORPUS), flush=True)
    progress(1)

    # Step 2: tokenize.
    tokenized = [tokenize(s) for s in sentences]
    progress(2)

    # Step 3: unigram counts and sentence-level co-occurrence counts.
    unigram = Counter()
    cooc = defaultdict(Counter)
    for toks in tokenized:
        unigram.update(toks)
        words = Counter(t for t in toks if WORD_RE.match(t))
        types = sorted(words)
        for w in types:
            if words[w] > 1:  # a word co-occurs with itself if it appears twice
                cooc[w][w] += 1
            for o in types:
                if o != w:
                    cooc[w][o] += 1
    progress(3)

    # Step 4: bigram and trigram counts over the running token stream
    # (sentences concatenated, so "." is followed by the next sentence start).
    stream = [t for toks in tokenized for t in toks]
    bigram = defaultdict(Counter)
    trigram = defaultdict(Counter)
    for i in range(len(stream) - 1):
        bigram[stream[i]][stream[i + 1]] += 1
    for i in range(len(stream) - 2):
        trigram[stream[i] + " " + stream[i + 1]][stream[i + 2]] += 1
    progress(4)

    # Step 5: write vocabulary and model.
    vocab = [UNK] + sorted(unigram)
    model = {
        "format": "cooccurrence-v1",
        "tokenPattern": TOKEN_RE.pattern,
        "vocab": vocab,
        "unigram": dict(unigram),
        "cooc": {w: dict(c) for w, c in cooc.items()},
        "bigram": {w: dict(c) for w, c in bigram.items()},
        "trigram": {k: dict(c) for k, c in trigram.items()},
        "sentences": len(sentences),
    }
    write_json_atomic(os.path.join(ARTIFACTS_DIR, "vocab.json"), vocab)
    write_json_atomic(os.path.join(ARTIFACTS_DIR, "model.json"), model)
    print("vocabulary: %d tokens, %d co-occurring words, %d trigram contexts"
          % (len(vocab), len(cooc), len(trigram)), flush=True)
    progress(5, "model.json")
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
