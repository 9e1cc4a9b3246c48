"""Makes challenge-tiny-llama, the competition's base model, reproducibly and offline.

No model hub is reachable from the platform, so the base model every LLM submission fine-tunes is made
here, while challenge/llm-base builds: a byte-level BPE tokenizer and a 4-layer LlamaForCausalLM
(hidden 128, vocabulary 2048, window 2048), pretrained for a few hundred steps on a corpus made from
  * the docstrings of the Python standard library of this image (PSF-2.0 licence, which allows derived
    works), for general English, and
  * sentences generated from templates written for this project (CC0-1.0): counting, arithmetic,
    comparisons and short statements about made-up people, places and things.
Nothing of any evaluation data set is read. Seeds are fixed and torch runs on one thread, so the same
image (same Python, torch and CPU kind) makes the same weights; the build prints their SHA-256.

    python make_base_model.py --out DIR [--steps 300] [--corpus-out corpus.txt]
"""
import argparse
import hashlib
import importlib
import inspect
import json
import os
import pkgutil
import random
import sys
import time
import warnings

SEED = 2023
VOCAB = 2048
WINDOW = 2048
SEQ = 128
BATCH = 8

MODULES = [
    "abc", "argparse", "array", "base64", "bisect", "calendar", "collections", "colorsys", "contextlib", "copy",
    "csv", "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools", "gettext", "glob",
    "gzip", "hashlib", "heapq", "hmac", "html", "http.client", "http.server", "inspect", "io", "ipaddress",
    "itertools", "json", "logging", "math", "mimetypes", "numbers", "operator", "os", "pathlib", "pickle",
    "platform", "pprint", "queue", "random", "re", "sched", "secrets", "shlex", "shutil", "socket", "sqlite3",
    "statistics", "string", "struct", "subprocess", "tarfile", "tempfile", "textwrap", "threading", "time",
    "timeit", "tokenize", "traceback", "typing", "unittest", "urllib.parse", "urllib.request", "uuid",
    "warnings", "weakref", "zipfile", "zlib",
]

NAMES = ["Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Milo", "Nia",
         "Omar", "Pia", "Quin", "Rosa", "Sami", "Tess", "Umar", "Vera", "Wes", "Xia", "Yara", "Zed"]
THINGS = ["apples", "books", "coins", "pencils", "marbles", "stamps", "shells", "cards", "cups", "boxes",
          "tickets", "plants", "bottles", "stones", "ribbons", "candles"]
PLACES = ["the market", "the library", "the station", "the garden", "the harbour", "the school",
          "the bakery", "the museum", "the farm", "the park"]
ADJECTIVES = ["small", "large", "quiet", "busy", "old", "new", "bright", "dark", "warm", "cold", "tall", "short"]
VERBS = ["buys", "finds", "sells", "gives away", "collects", "counts", "paints", "packs"]


def docstring_corpus():
    warnings.simplefilter("ignore")
    texts = []
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        doc = inspect.getdoc(module)
        if doc:
            texts.append(doc)
        for attr in sorted(dir(module)):
            if attr.startswith("_"):
                continue
            try:
                doc = inspect.getdoc(getattr(module, attr))
            except Exception:
                continue
            if doc and len(doc) > 80:
                texts.append(doc)
    seen, unique = set(), []
    for text in texts:
        if text not in seen:
            seen.add(text)
            unique.append(text)
    return unique


def template_corpus(rng, count):
    lines = []
    for _ in range(count):
        kind = rng.randrange(6)
        a, b = rng.randrange(2, 60), rng.randrange(2, 40)
        who, other = rng.sample(NAMES, 2)
        thing, place, adj = rng.choice(THINGS), rng.choice(PLACES), rng.choice(ADJECTIVES)
        if kind == 0:
            lines.append(f"{who} has {a} {thing}. {who} {rng.choice(VERBS)} {b} more. Now {who} has {a + b} {thing}.")
        elif kind == 1:
            lines.append(f"{a} plus {b} is {a + b}. {a} times {b} is {a * b}. {max(a, b)} minus {min(a, b)} is {abs(a - b)}.")
        elif kind == 2:
            bigger = who if a > b else other
            lines.append(f"{who} walks {a} miles and {other} walks {b} miles. {bigger} walks farther.")
        elif kind == 3:
            lines.append(f"The {adj} house near {place} belongs to {who}. {other} visits it every week.")
        elif kind == 4:
            lines.append(f"Counting: {', '.join(str(n) for n in range(a, a + 6))}. The next number is {a + 6}.")
        else:
            lines.append(f"{who} said to {other}: \"Meet me at {place} at {a % 12 + 1} o'clock.\" {other} agreed.")
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--corpus-out")
    args = parser.parse_args()

    rng = random.Random(SEED)
    corpus = docstring_corpus() + template_corpus(rng, 6000)
    rng.shuffle(corpus)
    text = "\n\n".join(corpus)
    if args.corpus_out:
        with open(args.corpus_out, "w", encoding="utf-8") as handle:
            handle.write(text)
    if args.steps == 0:
        return 0

    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    started = time.time()
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                        model_max_length=WINDOW, clean_up_tokenization_spaces=False)

    ids = []
    for doc in corpus:
        ids.extend(tokenizer.encode(doc) + [tokenizer.eos_token_id])
    data = torch.tensor(ids, dtype=torch.long)
    print(f"corpus: {len(corpus)} documents, {len(text)} characters, {len(ids)} tokens "
          f"({len(text) / len(ids):.2f} characters per token)", flush=True)

    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=128, intermediate_size=352, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=WINDOW,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 30) * max(0.1, 1 - s / args.steps))
    generator = torch.Generator().manual_seed(SEED)
    model.train()
    for step in range(1, args.steps + 1):
        starts = torch.randint(0, len(data) - SEQ - 1, (BATCH,), generator=generator)
        batch = torch.stack([data[s:s + SEQ] for s in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        if step == 1 or step % 50 == 0:
            print(f"pretraining step {step}/{args.steps} loss {loss.item():.3f}", flush=True)

    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    with open(os.path.join(args.out, "model.safetensors"), "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    card = {
        "name": "challenge-tiny-llama",
        "architecture": "LlamaForCausalLM",
        "parameters": sum(p.numel() for p in model.parameters()),
        "layers": 4, "hidden": 128, "vocabulary": len(tokenizer), "window": WINDOW,
        "pretrainingSteps": args.steps, "finalLoss": round(loss.item(), 4), "seed": SEED,
        "corpus": {"documents": len(corpus), "characters": len(text), "tokens": len(ids),
                   "sources": ["Python standard library docstrings (PSF-2.0)", "template sentences written for this project (CC0-1.0)"]},
        "weightsSha256": digest,
        "seconds": round(time.time() - started, 1),
        "python": sys.version.split()[0], "torch": torch.__version__,
    }
    with open(os.path.join(args.out, "base_model.json"), "w") as handle:
        json.dump(card, handle, indent=1)
    print(json.dumps(card), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
