#!/usr/bin/env python3
"""Minimal contract-conforming inference server (pure Python stdlib).

Valid on its own: POST /process answers " A" to multiple-choice prompts and
" Paris." otherwise; /tokenize and /decode are byte-level; GET /health -> 200.
It is never reached in practice: this submission's training runs out of memory.
"""
import json
import os
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "80"))
ARTIFACTS_DIR = os.environ.get("ARTIFACTS_DIR", "/artifacts")
DELAY_S = float(os.environ.get("PROCESS_DELAY_S", "0"))
MODEL = {"letter": "A", "completion": " Paris."}


class BadRequest(Exception):
    pass


def get_int(body, key, default, lo):
    v = body.get(key, default)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise BadRequest("%s must be an integer >= %d" % (key, lo))
    return v


def process(body):
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise BadRequest("prompt must be a string")
    max_new_tokens = get_int(body, "max_new_tokens", 50, 0)
    if DELAY_S > 0:
        time.sleep(DELAY_S)
    if max_new_tokens == 0:
        pieces = []
    elif prompt.rstrip().endswith("Answer:"):
        pieces = [" " + MODEL["letter"]]
    else:
        pieces = re.findall(r"\s*\S+", MODEL["completion"])[:max_new_tokens]
    lp = -0.6931471805599453  # log(1/2): "half sure" of every token
    tokens = [{"text": p, "logprob": lp, "top_logprob": {p: lp}} for p in pieces]
    completion = "".join(pieces)
    return {"text": (prompt + completion) if body.get("echo_prompt") else completion,
            "tokens": tokens, "logprob": lp * len(tokens)}


def tokenize(body):
    text = body.get("text")
    if not isinstance(text, str):
        raise BadRequest("text must be a string")
    ids = list(text.encode("utf-8"))
    max_length = get_int(body, "max_length", 2048, 0)
    if body.get("truncation", True) is not False and len(ids) > max_length:
        ids = ids[:max_length]
    return {"tokens": ids}


def decode(body):
    ids = body.get("tokens")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 256 for i in ids):
        raise BadRequest("tokens must be a list of integers in [0, 256)")
    return {"text": bytes(ids).decode("utf-8", errors="replace")}


ROUTES = {"/process": process, "/tokenize": tokenize, "/decode": decode}


class Handler(BaseHTTPRequestHandler):
    def send_json(self, status, obj):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?")[0] in ("/health", "/"):
            self.send_json(200, {"status": "ok"})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        start = time.time()
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        except ValueError:
            return self.send_json(400, {"error": "bad Content-Length"})
        route = ROUTES.get(self.path.split("?")[0])
        if route is None:
            return self.send_json(404, {"error": "not found"})
        try:
            body = json.loads(raw.decode("utf-8"))
            if not isinstance(body, dict):
                raise BadRequest("request body must be a JSON object")
            out = route(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            return self.send_json(400, {"error": "invalid JSON: %s" % e})
        except BadRequest as e:
            return self.send_json(400, {"error": str(e)})
        out["request_time"] = time.time() - start
        self.send_json(200, out)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))


def main():
    path = os.path.join(ARTIFACTS_DIR, "model.json")
    try:
        with open(path, encoding="utf-8") as f:
            MODEL.update(json.load(f))
        print("loaded %s" % path, flush=True)
    except (OSError, ValueError) as e:
        print("warning: no usable %s (%s); using built-in defaults" % (path, e), file=sys.stderr, flush=True)
    ThreadingHTTPServer.request_queue_size = 128  # default 5 resets bursts of parallel clients
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    print("serving on 0.0.0.0:%d" % PORT, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
