/**
 * HELM's own runner against the real sample server, instance by instance. The inference server of
 * examples/baked-weights (pure Python standard library, run directly; its weights made by its train.py) answers
 * two clients on the same instances, the unperturbed instances of suites/neurips2023/open-small.json:
 * - crfm-helm's `helm-run` (the version scripts/ensure-helm.sh pins) with its `neurips/local` HTTP client,
 *   offline, on the project's data files (scripts/helm/run.py);
 * - the harness (evaluateSuite) with the suite's own rule, `not-cut`: 2023's HELM client never cut at stop
 *   sequences, so both score the completion as the server returned it.
 * Per instance, the prompt, the request settings, the completion and the score of the scenario's metric must be
 * the same. No HELM is a failure, not a skip: the sample server needs only python3.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { MemoryAnswerStore, evaluateSuite, type InstanceAnswer } from '../../domain/harness/evaluate.js';
import { PoolSubmissionClient, ProcessRequest, type SubmissionClient } from '../../domain/harness/contract.js';
import { loadSuite, stopSequenceRule, type Scenario, type Suite } from '../../domain/harness/suite.js';
import { neurips2023HelmEntries } from '../../domain/suites/neurips2023.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { helmPython } from '../../scripts/generate-suites.js';
import { freePort } from '../support/stack.js';

const SAMPLE = path.join(PROJECT_ROOT, 'examples', 'baked-weights');
const HELM_WINDOW = 2048; // HELM's HTTPModelWindowServce.max_request_length for neurips/local

const HelmInstance = z.object({
  id: z.string(),
  prompt: z.string(),
  completion: z.string().nullable(),
  request: z.object({
    temperature: z.number(),
    num_completions: z.number(),
    max_tokens: z.number(),
    top_p: z.number(),
    echo_prompt: z.boolean(),
    top_k_per_token: z.number(),
    stop_sequences: z.array(z.string()),
  }),
  stats: z.record(z.string(), z.number()),
});
const HelmRunOutput = z.object({
  helm: z.string(),
  runs: z.array(z.object({ description: z.string(), runSpec: z.string(), instances: z.array(HelmInstance) })),
});
type HelmInstance = z.infer<typeof HelmInstance>;

/** open-small's scenario for a HELM run description. */
function scenarioName(description: string): string {
  const subject = /^mmlu:subject=([a-z_]+),/.exec(description)?.[1];
  if (subject !== undefined) return `mmlu-${subject.replaceAll('_', '-')}`;
  const name = { truthful_qa: 'truthfulqa', gsm: 'gsm8k', bbq: 'bbq' }[description.split(':')[0] ?? ''];
  if (name === undefined) throw new Error(`no open-small scenario for HELM run ${description}`);
  return name;
}

/** Waits for the sample's GET /health. */
async function healthy(url: string, server: ChildProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`${SAMPLE}/server.py exited with ${server.exitCode} before it was ready`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${SAMPLE}/server.py did not answer ${url}/health within ${deadlineMs} ms`);
}

const suite: Suite = loadSuite(path.join(PROJECT_ROOT, 'suites', 'neurips2023', 'open-small.json'));
// The unperturbed instances: HELM's dialect map and name list are downloads (docs/suites.md).
const originals: Suite = { ...suite, scenarios: suite.scenarios.map((s) => ({ ...s, perturbations: [] }) as Scenario) };
const entries = [
  ...new Map(
    neurips2023HelmEntries(['openSmall']).map((e) => {
      const description = e.description.replace(',data_augmentation=canonical', '');
      return [description, { description, maxEvalInstances: e.maxEvalInstances }];
    }),
  ).values(),
];

let work = '';
let server: ChildProcess | undefined;
let helm: Map<string, HelmInstance>; // `${scenario}/${id}`
const harness = new Map<string, InstanceAnswer>();
const sentPrompts = new Map<string, ProcessRequest>(); // prompt -> /process body the harness sent

beforeAll(async () => {
  const python = helmPython(PROJECT_ROOT);
  work = mkdtempSync(path.join(tmpdir(), 'helm-run-'));
  const weights = path.join(work, 'weights');
  mkdirSync(weights);
  const trained = spawnSync('python3', [path.join(SAMPLE, 'train.py')], { env: { ...process.env, ARTIFACTS_DIR: weights }, encoding: 'utf8' });
  if (trained.status !== 0) throw new Error(`${SAMPLE}/train.py failed (exit ${trained.status}): ${trained.stderr}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  server = spawn('python3', [path.join(SAMPLE, 'server.py')], { env: { ...process.env, PORT: String(port), ARTIFACTS_DIR: weights }, stdio: 'ignore' });
  await healthy(url, server, 20_000);

  const run = spawnSync(python, [path.join(PROJECT_ROOT, 'scripts', 'helm', 'run.py')], {
    input: JSON.stringify({ dataDir: path.join(PROJECT_ROOT, 'suites', 'data'), baseUrl: url, outputPath: path.join(work, 'helm'), entries }),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (run.status !== 0) throw new Error(`scripts/helm/run.py failed (exit ${run.status}):\n${run.stderr.split('\n').slice(-30).join('\n')}`);
  const output = HelmRunOutput.parse(JSON.parse(run.stdout));
  helm = new Map(output.runs.flatMap((r) => r.instances.map((i) => [`${scenarioName(r.description)}/${i.id}`, i] as const)));

  const store = new MemoryAnswerStore();
  const recording = (baseUrl: string, connections: number): SubmissionClient => {
    const pool = new PoolSubmissionClient(baseUrl, { connections });
    return {
      post: (endpoint, body, schema, options) => {
        if (endpoint === '/process') {
          const sent = ProcessRequest.parse(body);
          sentPrompts.set(sent.prompt, sent);
        }
        return pool.post(endpoint, body, schema, options);
      },
      close: () => pool.close(),
    };
  };
  await evaluateSuite({
    baseUrl: url,
    suite: originals,
    store,
    concurrency: 2,
    requestTimeoutMs: 30_000,
    maxAttempts: 1,
    retryBackoffMs: 0,
    maxPromptTokens: HELM_WINDOW,
    client: recording,
  });
  for (const answer of store.all()) harness.set(`${answer.scenario}/${answer.instanceId}`, answer);
}, 300_000);

afterAll(() => {
  server?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("HELM's helm-run and the harness against the sample server", () => {
  it('run the same instances: every unperturbed instance of open-small, 100 of them', () => {
    expect(stopSequenceRule(suite)).toBe('not-cut');
    expect([...helm.keys()].sort()).toEqual([...harness.keys()].sort());
    expect(helm.size).toBe(100);
  });

  it('send the same prompt and the same request settings for every instance', () => {
    let compared = 0;
    for (const [key, theirs] of helm) {
      const ours = harness.get(key);
      expect([key, ours?.errorKind ?? null]).toEqual([key, null]);
      const body = sentPrompts.get(theirs.prompt);
      expect([key, body === undefined ? 'the harness sent another prompt' : 'same prompt']).toEqual([key, 'same prompt']);
      if (body === undefined) continue;
      // HELM's HTTPModelClient body (helm/proxy/clients/http_model_client.py) from HELM's Request
      const r = theirs.request;
      expect([key, body]).toEqual([
        key,
        {
          prompt: theirs.prompt,
          temperature: r.temperature === 0 ? 1e-7 : r.temperature,
          num_return_sequences: r.num_completions,
          max_new_tokens: r.max_tokens,
          top_p: r.top_p,
          echo_prompt: r.echo_prompt,
          top_k_per_token: r.top_k_per_token,
          stop_sequences: r.stop_sequences,
        },
      ]);
      compared++;
    }
    expect(compared).toBe(100);
  });

  it('get the same completion and give it the same score of the scenario metric, instance by instance', () => {
    const scored = new Map<string, { instances: number; right: number }>();
    for (const [key, theirs] of helm) {
      const scenario = suite.scenarios.find((s) => s.name === key.split('/')[0]) as Scenario;
      const ours = harness.get(key) as InstanceAnswer;
      expect([key, ours.completion]).toEqual([key, theirs.completion]);
      const helmScore = theirs.stats[scenario.metric];
      expect([key, scenario.metric, ours.score]).toEqual([key, scenario.metric, helmScore]);
      const tally = scored.get(scenario.metric) ?? { instances: 0, right: 0 };
      scored.set(scenario.metric, { instances: tally.instances + 1, right: tally.right + ours.score });
    }
    // MMLU and TruthfulQA (exact_match), BBQ (quasi_exact_match), GSM8K (exact_match_indicator)
    expect(Object.fromEntries([...scored].map(([metric, t]) => [metric, t.instances]))).toEqual({ exact_match: 86, quasi_exact_match: 7, exact_match_indicator: 7 });
  });
});
