"""Fine-tunes the competition's base model (challenge-tiny-llama) on data/train.jsonl: supervised
fine-tuning of every weight (prompt → completion pairs; the loss is on the completions only).

Why not LoRA: on a model this small (hidden size 128) a LoRA adapter did not learn to answer a letter
after "Answer:" in 40 steps where full fine-tuning did in 10 (measured while writing this sample); a
participant with a 7B model would choose LoRA or QLoRA, and challenge/llm-base ships peft for that.

Written like the 2023 llama_recipes / lit-gpt samples, for the platform's fine-tune stage:
  * the output goes to /artifacts: checkpoints every CHECKPOINT_EVERY steps (model weights, optimizer and
    scheduler state, the data sampler's RNG), progress.json ({"step", "totalSteps", "checkpoint", "loss"})
    once a checkpoint is complete, loss.jsonl (one line per step), and at the end model/ (weights and
    tokenizer: what the inference server loads) and training_summary.json;
  * CHALLENGE_RESUME_FROM (a checkpoint path relative to /artifacts) continues the run where that
    checkpoint left it: same data order, same optimizer moments, so the loss curve goes on, not over;
  * CHALLENGE_OOM_RETRY=1 (the platform's retry after an out-of-memory kill) halves the micro-batch and
    doubles gradient accumulation, keeping the effective batch;
  * CUDA when a GPU is visible (the GPU tracks pass one with --gpus device=N), the CPU otherwise.
"""
import json
import os
import random
import shutil
import sys
import time

import torch
from safetensors.torch import load_model, save_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from runtime import cpu_quota

ARTIFACTS = os.environ.get("ARTIFACTS_DIR", "/artifacts")
BASE_MODEL = os.environ.get("CHALLENGE_BASE_MODEL", "/opt/challenge/models/challenge-tiny-llama")
DATA = os.environ.get("TRAIN_DATA", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "train.jsonl"))
TOTAL_STEPS = int(os.environ.get("TRAIN_STEPS", "200"))
CHECKPOINT_EVERY = int(os.environ.get("CHECKPOINT_EVERY", "25"))
BATCH = int(os.environ.get("BATCH_SIZE", "8"))
SEQ = int(os.environ.get("SEQ_LEN", "384"))
LR = float(os.environ.get("LEARNING_RATE", "1e-3"))
SEED = 1234


def log(message):
    print(message, flush=True)


def readable(folder):
    """safetensors writes its files 0600; the inference container may run as another user than training."""
    for root, _, files in os.walk(folder):
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(value, handle)
    os.replace(tmp, path)


def load_examples(tokenizer):
    """Each example as (input ids, labels): the prompt's tokens are masked (-100), so the loss is on the completion."""
    examples = []
    with open(DATA, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            prompt = tokenizer.encode(record["prompt"], add_special_tokens=False)
            completion = tokenizer.encode(record["completion"], add_special_tokens=False) + [tokenizer.eos_token_id]
            ids, labels = (prompt + completion)[-SEQ:], ([-100] * len(prompt) + completion)[-SEQ:]
            examples.append((ids, labels))
    return examples


def make_batch(examples, indices, pad_id, device):
    """Right-padded input ids, labels (-100 on padding) and attention mask of the examples at `indices`."""
    width = max(len(examples[i][0]) for i in indices)
    ids = torch.full((len(indices), width), pad_id, dtype=torch.long)
    labels = torch.full((len(indices), width), -100, dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    for row, i in enumerate(indices):
        tokens, targets = examples[i]
        ids[row, : len(tokens)] = torch.tensor(tokens)
        labels[row, : len(targets)] = torch.tensor(targets)
        mask[row, : len(tokens)] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def save_checkpoint(model, optimizer, scheduler, generator, step, loss):
    """Writes checkpoints/step-NNNNNN atomically (a temporary folder renamed when complete), then progress.json."""
    name = f"checkpoints/step-{step:06d}"
    final = os.path.join(ARTIFACTS, name)
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    save_model(model, os.path.join(tmp, "model.safetensors"))
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                "python_random": random.getstate(), "step": step, "loss": loss}, os.path.join(tmp, "state.pt"))
    readable(tmp)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    write_json(os.path.join(ARTIFACTS, "progress.json"), {"step": step, "totalSteps": TOTAL_STEPS, "checkpoint": name, "loss": round(loss, 5)})
    return name


def main():
    started = time.time()
    torch.manual_seed(SEED)
    random.seed(SEED)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(cpu_quota())
    oom_retry = os.environ.get("CHALLENGE_OOM_RETRY") == "1"
    micro_batch = max(1, BATCH // 2) if oom_retry else BATCH
    accumulation = max(1, BATCH // micro_batch)
    log(f"device {device}" + (f" ({torch.cuda.get_device_name(0)})" if device == "cuda" else f", {torch.get_num_threads()} thread(s)")
        + f"; micro-batch {micro_batch} x {accumulation} accumulation" + (" (out-of-memory retry: micro-batch halved)" if oom_retry else ""))

    tokenizer = AutoTokenizer.from_pretrained(BASE_MODEL)
    model = AutoModelForCausalLM.from_pretrained(BASE_MODEL)
    model = model.to(device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"full fine-tuning: {trainable} trainable parameters")

    examples = load_examples(tokenizer)
    log(f"{len(examples)} examples from {DATA}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 10) * max(0.05, 1 - s / TOTAL_STEPS))
    generator = torch.Generator().manual_seed(SEED)
    os.makedirs(os.path.join(ARTIFACTS, "checkpoints"), exist_ok=True)

    start = 0
    resume = os.environ.get("CHALLENGE_RESUME_FROM")
    if resume:
        folder = os.path.join(ARTIFACTS, resume)
        load_model(model, os.path.join(folder, "model.safetensors"), device=device)
        state = torch.load(os.path.join(folder, "state.pt"), weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        random.setstate(state["python_random"])
        start = state["step"]
        log(f"resumed from {resume} at step {start} (loss there {state['loss']:.4f})")

    model.train()
    loss_value = float("nan")
    with open(os.path.join(ARTIFACTS, "loss.jsonl"), "a") as loss_log:
        for step in range(start + 1, TOTAL_STEPS + 1):
            total = 0.0
            for _ in range(accumulation):
                indices = torch.randint(0, len(examples), (micro_batch,), generator=generator).tolist()
                input_ids, labels, mask = make_batch(examples, indices, tokenizer.pad_token_id, device)
                loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss / accumulation
                loss.backward()
                total += loss.item()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            loss_value = total
            loss_log.write(json.dumps({"step": step, "loss": round(loss_value, 5), "resumed": bool(resume)}) + "\n")
            loss_log.flush()
            if step == start + 1 or step % 10 == 0:
                log(f"step {step}/{TOTAL_STEPS} loss {loss_value:.4f}")
            if step % CHECKPOINT_EVERY == 0 or step == TOTAL_STEPS:
                log(f"checkpoint {save_checkpoint(model, optimizer, scheduler, generator, step, loss_value)}")

    final = os.path.join(ARTIFACTS, "model")
    shutil.rmtree(final, ignore_errors=True)
    model.save_pretrained(final, safe_serialization=True)
    tokenizer.save_pretrained(final)
    readable(final)
    write_json(os.path.join(ARTIFACTS, "training_summary.json"), {
        "baseModel": BASE_MODEL, "steps": TOTAL_STEPS, "resumedFrom": resume, "finalLoss": round(loss_value, 5),
        "device": device, "microBatch": micro_batch, "accumulation": accumulation, "seconds": round(time.time() - started, 1),
        "trainableParameters": trainable,
    })
    log(f"done: {TOTAL_STEPS} steps, final loss {loss_value:.4f}, model in {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
