"""A paced, single-threaded contract server: about 0.15 s per /process answer, always "A".

Prints one line per /process request, `REQUEST <sha1 of the prompt>`, so tests can count on the server
side how often each instance was asked.
"""
import hashlib
import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

ARTIFACTS = os.environ.get("ARTIFACTS_DIR", "/artifacts")
PACE = float(os.environ.get("PROCESS_DELAY_S", "0.15"))


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.reply(400, {"error": "body is not JSON"})
        started = time.time()
        if self.path == "/process":
            prompt = body.get("prompt", "")
            print("REQUEST " + hashlib.sha1(prompt.encode()).hexdigest(), flush=True)
            time.sleep(PACE)
            token = {"text": " A", "logprob": -1.0, "top_logprob": {" A": -1.0}}
            return self.reply(200, {"text": " A", "tokens": [token], "logprob": -1.0, "request_time": time.time() - started})
        if self.path == "/tokenize":
            tokens = list(body.get("text", "").encode())[: int(body.get("max_length", 2048))]
            return self.reply(200, {"tokens": tokens, "request_time": time.time() - started})
        if self.path == "/decode":
            text = bytes(t % 256 for t in body.get("tokens", [])).decode("utf-8", "replace")
            return self.reply(200, {"text": text, "request_time": time.time() - started})
        return self.reply(404, {"error": "unknown path"})


if __name__ == "__main__":
    if not os.path.exists(os.path.join(ARTIFACTS, "model.json")):
        print("no model.json in artifacts", flush=True)
    HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "80"))), Handler).serve_forever()
