"""Inference server of the llm-finetune sample: the fine-tuned model from /artifacts/model, on port 80.

POST /process, /tokenize and /decode as in the submission contract, with the model's own tokenizer:
  * /process generates up to max_new_tokens with a key-value cache, greedy at temperature ~0 (the harness
    sends 1e-7 for 0), otherwise temperature + top-k sampling seeded by `seed`; it stops at the end-of-text
    token or at the first stop sequence (the text is cut there, and so are the tokens), returns each
    token's log-probability under the model and its top `top_k_per_token` alternatives, and with
    `echo_prompt` the prompt and its tokens first;
  * /tokenize honours truncation and max_length; /decode inverts it.
CUDA when a GPU is visible, the CPU otherwise. One request runs on the model at a time (a lock): on one
GPU or a CPU quota, parallel forward passes only compete.
"""
import json
import math
import os
import threading
import time

import torch
from fastapi import FastAPI
from transformers import AutoModelForCausalLM, AutoTokenizer

from api import DecodeRequest, DecodeResponse, ProcessRequest, ProcessResponse, Token, TokenizeRequest, TokenizeResponse
from runtime import cpu_quota

ARTIFACTS = os.environ.get("ARTIFACTS_DIR", "/artifacts")
BASE_MODEL = os.environ.get("CHALLENGE_BASE_MODEL", "/opt/challenge/models/challenge-tiny-llama")
WINDOW = 2048

device = "cuda" if torch.cuda.is_available() else "cpu"
if device == "cpu":
    torch.set_num_threads(cpu_quota())
FINE_TUNED = os.path.join(ARTIFACTS, "model")
source = FINE_TUNED if os.path.isfile(os.path.join(FINE_TUNED, "config.json")) else BASE_MODEL
tokenizer = AutoTokenizer.from_pretrained(source)
model = AutoModelForCausalLM.from_pretrained(source)
print(f"serving {source}" + ("" if source == FINE_TUNED else f" (no fine-tuned model in {FINE_TUNED})"), flush=True)
model.to(device).eval()
print(f"serving on {device}", flush=True)
lock = threading.Lock()
app = FastAPI()


def piece(ids, index):
    """The text token `index` adds to the tokens before it. Byte-level BPE decodes locally: a few tokens of
    context are enough to join a character split across tokens, and keep this linear in the length."""
    context = ids[max(0, index - 4) : index]
    return tokenizer.decode(context + [ids[index]])[len(tokenizer.decode(context)) :]


def top_alternatives(logprobs, ids_before, k):
    values, indices = torch.topk(logprobs, k)
    return {piece(ids_before + [int(i)], len(ids_before)): float(v) for v, i in zip(values.tolist(), indices.tolist())}


@torch.inference_mode()
def generate(request: ProcessRequest):
    prompt_ids = tokenizer.encode(request.prompt, add_special_tokens=False)
    budget = max(1, WINDOW - request.max_new_tokens)
    if len(prompt_ids) > budget:  # keep the end of a prompt that does not fit (the harness fits prompts first)
        prompt_ids = prompt_ids[-budget:]
    greedy = request.temperature <= 1e-4
    generator = torch.Generator(device=device)
    generator.manual_seed(request.seed if request.seed is not None else 0)
    k = request.top_k_per_token

    input_ids = torch.tensor([prompt_ids], device=device)
    out = model(input_ids=input_ids, use_cache=True)
    past, logits = out.past_key_values, out.logits[0]
    tokens = []
    if request.echo_prompt:
        prompt_logprobs = torch.log_softmax(logits.float(), dim=-1)
        for i, token_id in enumerate(prompt_ids):
            lp = 0.0 if i == 0 else float(prompt_logprobs[i - 1, token_id])
            top = {} if i == 0 else top_alternatives(prompt_logprobs[i - 1], prompt_ids[:i], k)
            tokens.append(Token(text=piece(prompt_ids, i), logprob=lp, top_logprob=top))
    ids = list(prompt_ids)
    next_logits = logits[-1]
    new_tokens = []
    text = ""
    for _ in range(request.max_new_tokens):
        logprobs = torch.log_softmax(next_logits.float(), dim=-1)
        if greedy:
            token_id = int(torch.argmax(logprobs))
        else:
            scaled = next_logits.float() / request.temperature
            if 0 < request.top_k < scaled.numel():
                cutoff = torch.topk(scaled, request.top_k).values[-1]
                scaled = torch.where(scaled < cutoff, torch.full_like(scaled, -math.inf), scaled)
            token_id = int(torch.multinomial(torch.softmax(scaled, dim=-1), 1, generator=generator))
        if token_id == tokenizer.eos_token_id:
            break
        token = Token(text=piece(ids + [token_id], len(ids)), logprob=float(logprobs[token_id]), top_logprob=top_alternatives(logprobs, ids, k))
        ids.append(token_id)
        new_tokens.append(token)
        text += token.text
        cut = min((text.find(s) for s in request.stop_sequences if s and s in text), default=-1)
        if cut >= 0:
            # Keep the tokens that lie wholly before the stop sequence; the text ends where it begins.
            text = text[:cut]
            kept, length = [], 0
            for t in new_tokens:
                if length + len(t.text) > cut:
                    break
                kept.append(t)
                length += len(t.text)
            new_tokens = kept
            break
        out = model(input_ids=torch.tensor([[token_id]], device=device), past_key_values=past, use_cache=True)
        past, next_logits = out.past_key_values, out.logits[0, -1]
    if request.echo_prompt:
        return request.prompt + text, tokens + new_tokens
    return text, new_tokens


@app.post("/process")
def process(request: ProcessRequest) -> ProcessResponse:
    with lock:
        # request_time is the wall time of generation (the contract): the wait for the lock is not counted, so that
        # with several requests in flight their times add up to the model's busy time, not to a multiple of it.
        started = time.perf_counter()
        text, tokens = generate(request)
        request_time = time.perf_counter() - started
    return ProcessResponse(text=text, tokens=tokens, logprob=sum(t.logprob for t in tokens), request_time=request_time)


@app.post("/tokenize")
def tokenize(request: TokenizeRequest) -> TokenizeResponse:
    started = time.perf_counter()
    ids = tokenizer.encode(request.text, add_special_tokens=False)
    if request.truncation:
        ids = ids[: request.max_length]
    return TokenizeResponse(tokens=ids, request_time=time.perf_counter() - started)


@app.post("/decode")
def decode(request: DecodeRequest) -> DecodeResponse:
    started = time.perf_counter()
    return DecodeResponse(text=tokenizer.decode(request.tokens, clean_up_tokenization_spaces=False), request_time=time.perf_counter() - started)


@app.get("/health")
def health():
    return {"status": "ok", "device": device, "model": json.load(open(os.path.join(BASE_MODEL, "base_model.json")))["name"]}
