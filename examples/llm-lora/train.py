"""Fine-tunes the competition's base model (challenge-tiny-llama) with a LoRA adapter on data/train.jsonl
(prompt → completion pairs; the loss is on the completions only).

Written like the 2023 llama_recipes / lit-gpt samples, for the platform's fine-tune stage:
  * the output goes to /artifacts: checkpoints every CHECKPOINT_EVERY steps (adapter weights, optimizer and
    scheduler state, the data sampler's RNG), progress.json ({"step", "totalSteps", "checkpoint", "loss"})
    once a checkpoint is complete, loss.jsonl (one line per step), and at the end adapter/ (what the
    inference server loads) and training_summary.json;
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
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from runtime import cpu_quota

ARTIFACTS = os.environ.get("ARTIFACTS_DIR", "/artifacts")
BASE_MODEL = os.environ.get("CHALLENGE_BASE_MODEL", "/opt/challenge/models/challenge-tiny-llama")
DATA = os.environ.get("TRAIN_DATA", os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "train.jsonl"))
TOTAL_STEPS = int(os.environ.get("TRAIN_STEPS", "120"))
CHECKPOINT_EVERY = int(os.environ.get("CHECKPOINT_EVERY", "20"))
BATCH = int(os.environ.get("BATCH_SIZE", "8"))
SEQ = int(os.environ.get("SEQ_LEN", "384"))
LR = float(os.environ.get("LEARNING_RATE", "2e-3"))
SEED = 1234


def log(message):
    print(message, flush=True)


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
    save_file({k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()}, os.path.join(tmp, "adapter.safetensors"))
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                "python_random": random.getstate(), "step": step, "loss": loss}, os.path.join(tmp, "state.pt"))
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
    config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    model = get_peft_model(model, config).to(device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"LoRA adapter: {trainable} trainable parameters of {sum(p.numel() for p in model.parameters())}")

    examples = load_examples(tokenizer)
    log(f"{len(examples)} examples from {DATA}")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 10) * max(0.05, 1 - s / TOTAL_STEPS))
    generator = torch.Generator().manual_seed(SEED)
    os.makedirs(os.path.join(ARTIFACTS, "checkpoints"), exist_ok=True)

    start = 0
    resume = os.environ.get("CHALLENGE_RESUME_FROM")
    if resume:
        folder = os.path.join(ARTIFACTS, resume)
        set_peft_model_state_dict(model, load_file(os.path.join(folder, "adapter.safetensors"), device=device))
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

    adapter = os.path.join(ARTIFACTS, "adapter")
    shutil.rmtree(adapter, ignore_errors=True)
    model.save_pretrained(adapter, safe_serialization=True)
    write_json(os.path.join(ARTIFACTS, "training_summary.json"), {
        "baseModel": BASE_MODEL, "steps": TOTAL_STEPS, "resumedFrom": resume, "finalLoss": round(loss_value, 5),
        "device": device, "microBatch": micro_batch, "accumulation": accumulation, "seconds": round(time.time() - started, 1),
        "trainableParameters": trainable,
    })
    log(f"done: {TOTAL_STEPS} steps, final loss {loss_value:.4f}, adapter in {adapter}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
