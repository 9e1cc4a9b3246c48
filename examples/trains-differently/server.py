#!/usr/bin/env python3
"""Inference server for the co-occurrence model (pure Python standard library).

Implements the submission contract: POST /process, /tokenize, /decode with JSON
bodies, plus GET /health. Listens on 0.0.0.0:$PORT (default 80) and loads
$ARTIFACTS_DIR/model.json (default /artifacts/model.json) written by train.py.
"""
import json
import math
import os
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "80"))
ARTIFACTS_DIR = os.environ.get("ARTIFACTS_DIR", "/artifacts")
MODEL_PATH = os.path.join(ARTIFACTS_DIR, "model.json")
TOKEN_RE = re.compile(r"[a-z0-9']+|[^\sa-z0-9]")
WORD_RE = re.compile(r"^[a-z0-9']+$")
OPTION_RE = re.compile(r"^([A-Z])\.\s+(.*)$")
ALPHA = 0.1
MAX_BODY = 8 * 1024 * 1024
MAX_NEW_TOKENS_CAP = 2048
STOPWORDS = frozenset("""
a an the of to in on at by for from with about as into is are was were be been being am
what which who whom whose where when why how does do did done doing make makes made
this that these those it its it's and or but if then than so not no yes
can could would should will shall may might must has have had having
you your i me my we our they their them he she his her one following
question questions answer answers multiple choice
""".split())
NO_SPACE_BEFORE = set(".,!?;:)]}%")
NO_SPACE_AFTER = set("([{$")


def tokenize(text):
    return TOKEN_RE.findall(text.lower())


def token_text(tok, prev):
    """Surface text of a token given the previous token (None at start)."""
    if prev is None or tok in NO_SPACE_BEFORE or prev in NO_SPACE_AFTER or tok == "'" or prev == "'":
        return tok
    return " " + tok


class Model:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
        self.vocab = m["vocab"]
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        self.unk_id = self.ids["<unk>"]
        self.unigram = m["unigram"]
        self.cooc = m["cooc"]
        self.bigram = m["bigram"]
        self.trigram = m["trigram"]
        self.V = len(self.vocab)
        self.total = float(sum(self.unigram.values()))
        self.candidates = sorted(self.unigram)  # every predictable token (no <unk>)
        self.bigram_tot = {w: float(sum(c.values())) for w, c in self.bigram.items()}
        self.trigram_tot = {k: float(sum(c.values())) for k, c in self.trigram.items()}

    # ---------- tokenizer ----------
    def encode(self, text):
        return [self.ids.get(t, self.unk_id) for t in tokenize(text)]

    def decode(self, ids):
        out, prev = [], None
        for i in ids:
            tok = self.vocab[i]
            out.append(token_text(tok, prev))
            prev = tok
        return "".join(out)

    # ---------- generation ----------
    def next_distribution(self, u, v):
        """Interpolated trigram/bigram/unigram distribution P(w | u, v)."""
        tri = self.trigram.get("%s %s" % (u, v)) if u is not None and v is not None else None
        bi = self.bigram.get(v) if v is not None else None
        if tri:
            lams = (0.7, 0.2, 0.1) if bi else (0.9, 0.0, 0.1)
        elif bi:
            lams = (0.0, 0.8, 0.2)
        else:
            lams = (0.0, 0.0, 1.0)
        tri_tot = self.trigram_tot.get("%s %s" % (u, v), 1.0)
        bi_tot = self.bigram_tot.get(v, 1.0)
        dist = {}
        for w in self.candidates:
            p = lams[2] * self.unigram[w] / self.total
            if lams[1] and bi:
                p += lams[1] * bi.get(w, 0) / bi_tot
            if lams[0] and tri:
                p += lams[0] * tri.get(w, 0) / tri_tot
            dist[w] = p
        return dist

    def generate(self, prompt, max_new_tokens, stop_sequences):
        ctx = tokenize(prompt)
        u = ctx[-2] if len(ctx) >= 2 else None
        v = ctx[-1] if ctx else None
        prev = v
        tokens, text = [], ""
        for _ in range(max_new_tokens):
            dist = self.next_distribution(u, v)
            best = max(dist, key=lambda w: (dist[w], w))
            lp = math.log(dist[best])
            t = token_text(best, prev)
            if text == "" and prompt and prompt[-1].isspace() and t.startswith(" "):
                t = t[1:]  # the prompt already ends with whitespace
            new_text = text + t
            cut = first_stop(new_text, stop_sequences)
            if cut is not None:
                break  # drop the token that completes a stop sequence
            tokens.append({"text": t, "logprob": lp, "top_logprob": {t: lp}})
            text = new_text
            u, v, prev = v, best, best
        return text, tokens

    # ---------- multiple choice ----------
    def assoc(self, w, o):
        c_wo = self.cooc.get(w, {}).get(o, 0)
        c_o = self.unigram.get(o, 0)
        return math.log((c_wo + ALPHA) / (c_o + ALPHA * self.V))

    def score_options(self, question, options):
        qwords = [w for w in tokenize(question)
                  if WORD_RE.match(w) and w not in STOPWORDS and w in self.unigram]
        scores = []
        for _, opt in options:
            owords = [w for w in tokenize(opt) if WORD_RE.match(w)]
            content = [w for w in owords if w not in STOPWORDS] or owords
            if not content or not qwords:
                scores.append(0.0)
                continue
            per_word = [sum(self.assoc(w, o) for w in qwords) for o in content]
            scores.append(sum(per_word) / len(per_word))
        m = max(scores)
        log_z = m + math.log(sum(math.exp(s - m) for s in scores))
        return [s - log_z for s in scores]


def first_stop(text, stop_sequences):
    cut = None
    for s in stop_sequences:
        if s:
            i = text.find(s)
            if i >= 0 and (cut is None or i < cut):
                cut = i
    return cut


def parse_multiple_choice(prompt):
    """Return (question, [(letter, option_text)]) for the last question of a
    HELM multiple_choice_joint prompt ending in "Answer:", else None."""
    text = prompt.rstrip()
    if not text.endswith("Answer:"):
        return None
    block = re.split(r"\n[ \t]*\n", text)[-1]
    lines = [l.strip() for l in block.split("\n")]
    if not lines or lines[-1] != "Answer:":
        return None
    lines = lines[:-1]
    starts = [i for i, l in enumerate(lines) if l.startswith("Question:")]
    if starts:
        lines = lines[starts[-1]:]
    question, options = [], []
    for line in lines:
        m = OPTION_RE.match(line)
        if m:
            options.append([m.group(1), m.group(2)])
        elif options:
            options[-1][1] += " " + line  # continuation of a long option
        else:
            question.append(line[len("Question:"):] if line.startswith("Question:") else line)
    if len(options) < 2 or not " ".join(question).strip():
        return None
    return " ".join(question).strip(), options


class BadRequest(Exception):
    pass


def get_int(body, key, default, lo, hi=None):
    v = body.get(key, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int):
        raise BadRequest("%s must be an integer" % key)
    if v < lo or (hi is not None and v > hi):
        raise BadRequest("%s out of range" % key)
    return v


MODEL = None


def handle_process(body):
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise BadRequest("prompt must be a string")
    max_new_tokens = get_int(body, "max_new_tokens", 50, 0, MAX_NEW_TOKENS_CAP)
    get_int(body, "num_samples", 1, 1)
    get_int(body, "num_return_sequences", 1, 1)
    stops = body.get("stop_sequences") or []
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise BadRequest("stop_sequences must be a list of strings")
    echo = bool(body.get("echo_prompt") or False)

    mc = parse_multiple_choice(prompt) if max_new_tokens > 0 else None
    if mc is not None:
        question, options = mc
        logps = MODEL.score_options(question, options)
        best = max(range(len(options)), key=lambda i: logps[i])
        t = " " + options[best][0]
        if prompt.endswith((" ", "\t")):
            t = t.lstrip()
        tokens = [{"text": t, "logprob": logps[best], "top_logprob": {t: logps[best]}}]
        completion = t
    else:
        completion, tokens = MODEL.generate(prompt, max_new_tokens, stops)
    return {
        "text": (prompt + completion) if echo else completion,
        "tokens": tokens,
        "logprob": sum(t["logprob"] for t in tokens),
    }


def handle_tokenize(body):
    text = body.get("text")
    if not isinstance(text, str):
        raise BadRequest("text must be a string")
    truncation = body.get("truncation", True)
    max_length = get_int(body, "max_length", 2048, 0)
    ids = MODEL.encode(text)
    if truncation is not False and truncation is not None and len(ids) > max_length:
        ids = ids[:max_length]
    return {"tokens": ids}


def handle_decode(body):
    ids = body.get("tokens")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise BadRequest("tokens must be a list of integers")
    if any(i < 0 or i >= MODEL.V for i in ids):
        raise BadRequest("token id out of range (vocabulary size %d)" % MODEL.V)
    return {"text": MODEL.decode(ids)}


ROUTES = {"/process": handle_process, "/tokenize": handle_tokenize, "/decode": handle_decode}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cooccurrence-v1"

    def send_json(self, status, obj):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in ("/health", "/"):
            self.send_json(200, {"status": "ok", "model": "cooccurrence-v1", "vocabSize": MODEL.V})
        else:
            self.send_json(404, {"error": "not found: %s" % path})

    def do_POST(self):
        start = time.time()
        path = self.path.split("?")[0]
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            return self.send_json(400, {"error": "bad or missing Content-Length"})
        raw = self.rfile.read(length)
        route = ROUTES.get(path)
        if route is None:
            return self.send_json(404, {"error": "not found: %s" % path})
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            return self.send_json(400, {"error": "invalid JSON: %s" % e})
        if not isinstance(body, dict):
            return self.send_json(400, {"error": "request body must be a JSON object"})
        try:
            out = route(body)
        except BadRequest as e:
            return self.send_json(400, {"error": str(e)})
        except Exception as e:  # never let one request kill the server
            return self.send_json(500, {"error": "internal error: %r" % e})
        out["request_time"] = time.time() - start
        self.send_json(200, out)

    def log_message(self, fmt, *args):
        if os.environ.get("SERVER_VERBOSE") == "1":
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))


def main():
    global MODEL
    if not os.path.isfile(MODEL_PATH):
        print("error: model file %s not found; did training write to %s?" % (MODEL_PATH, ARTIFACTS_DIR),
              file=sys.stderr)
        return 1
    try:
        MODEL = Model(MODEL_PATH)
    except (OSError, ValueError, KeyError) as e:
        print("error: cannot load model %s: %r" % (MODEL_PATH, e), file=sys.stderr)
        return 1
    ThreadingHTTPServer.request_queue_size = 128  # default 5 resets bursts of parallel clients
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    print("cooccurrence-v1 serving on 0.0.0.0:%d (vocabulary %d)" % (PORT, MODEL.V), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
