/**
 * The real CPU LLM sample's inference server for the benchmarks that measure against it (llm-share, probe-llm):
 * the image (BENCH_LLM_IMAGE, else built from examples/llm-finetune: seconds from the layer cache when the sample's
 * base image challenge/llm-base is there, so the server measured is the sample as it is now), one container on the
 * default bridge reached at its address, its readiness, its removal; and BENCH_LLM_PER_SCENARIO, the knob that
 * shortens a run on a slow machine (at most that many instances per scenario).
 */
import { execa } from 'execa';
import path from 'node:path';
import { waitForReadiness } from '../domain/harness/evaluate.js';
import type { Suite } from '../domain/harness/suite.js';
import { PROJECT_ROOT } from '../infra/paths.js';
import { fmt, log } from './support.js';

const IMAGE = process.env.BENCH_LLM_IMAGE;
const READINESS_MS = 300_000;
/** at most this many instances per scenario (all by default): a shorter run on a slow machine */
export const PER_SCENARIO = Number(process.env.BENCH_LLM_PER_SCENARIO ?? Infinity);

export interface LlmSampleServer {
  baseUrl: string;
  image: string;
  /** from the container's start until /health said ready */
  readyAfterMs: number;
  close: () => Promise<void>;
}

/** BENCH_LLM_IMAGE, else the sample's inference image built from examples/llm-finetune; `label` names the benchmark in the log. */
export async function ensureLlmSampleImage(label: string): Promise<string> {
  if (IMAGE !== undefined) return IMAGE;
  const tag = 'challenge-bench/llm-finetune:inference';
  log(`${label}: building ${tag} from examples/llm-finetune`);
  await execa('docker', ['build', '-t', tag, path.join(PROJECT_ROOT, 'examples', 'llm-finetune')]);
  return tag;
}

/** Starts the sample's server (CPU track) and waits until it is ready; close() removes the container. */
export async function startLlmSampleServer(label: string): Promise<LlmSampleServer> {
  const image = await ensureLlmSampleImage(label);
  const name = `challenge-bench-${label}-${process.pid}`;
  const close = async () => {
    await execa('docker', ['rm', '-f', name], { reject: false });
  };
  await execa('docker', ['run', '-d', '--rm', '--name', name, '-e', 'CHALLENGE_TRACK=cpu', image]);
  try {
    const ip = (await execa('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name])).stdout.trim();
    const baseUrl = `http://${ip}:80`;
    const isAlive = async () => (await execa('docker', ['inspect', '-f', '{{.State.Running}}', name], { reject: false })).stdout.trim() === 'true';
    const readiness = await waitForReadiness({ baseUrl, deadline: Date.now() + READINESS_MS, isAlive });
    if (!readiness.ready) throw new Error(`${label}: the LLM sample's server (${image}, container ${name}) did not become ready: ${readiness.reason}`);
    log(`${label}: ${image} ready after ${fmt(readiness.afterMs / 1000)} s at ${baseUrl}`);
    return { baseUrl, image, readyAfterMs: readiness.afterMs, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The suite with at most `perScenario` instances in each scenario. */
export function trimmedTo(suite: Suite, perScenario: number): Suite {
  return {
    ...suite,
    scenarios: suite.scenarios.map((scenario) => ({ ...scenario, instances: scenario.instances.slice(0, perScenario) })) as Suite['scenarios'],
  };
}

/** The suite as BENCH_LLM_PER_SCENARIO asks (whole by default). */
export const trimmed = (suite: Suite): Suite => (Number.isFinite(PER_SCENARIO) ? trimmedTo(suite, PER_SCENARIO) : suite);
