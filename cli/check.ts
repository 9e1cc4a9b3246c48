/**
 * `challenge check <dir|url>`: everything that can be known about a submission before it costs GPU
 * time — the submission format, the Dockerfile preflight, contamination of its declared training data,
 * and (for a URL, or a directory with --serve) the conformance of its server to the contract. With --serve, a
 * conforming server is then probed (issue 26): the open suite's stratified probe sample (and the closed suite's,
 * where this machine has it) at the harness's production concurrency, and the stage's predicted wall time
 * against the track's limit.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSubmission } from '../domain/submission.js';
import { loadSuite } from '../domain/harness/suite.js';
import { preflightSubmission, renderPreflight, type PreflightResult } from '../domain/preflight/dockerfile.js';
import { checkConformance, renderConformance, type ConformanceResult } from '../domain/harness/conformance.js';
import { evaluateSuite, MemoryAnswerStore, waitForReadiness } from '../domain/harness/evaluate.js';
import { describePrediction, predictStage, probeSample, type ProbeMeasurement, type StagePrediction } from '../domain/harness/throughput.js';
import { renderContaminationReport, scanContamination, type ContaminationReport } from '../domain/reports/contamination.js';
import { HARNESS_DEFAULTS, TRACKS, type TrackId } from '../temporal.config.js';
import { type RuntimeConfig } from '../infra/runtime-config.js';
import * as dockerRuntime from '../infra/docker.js';
import { blockContainersToHost, unblockContainersToHost } from '../infra/firewall.js';
import { defaultSuiteFiles } from '../infra/paths.js';
import { buildFailureReason, classifyBuildFailure } from '../domain/build-failures.js';

export interface CheckResult {
  ok: boolean;
  preflight: PreflightResult | null;
  contamination: ContaminationReport | null;
  conformance: ConformanceResult | null;
  /** --serve on a conforming server: the probe's predictions (closed: null where this machine has no closed suite) */
  predictions: { open: StagePrediction; closed: StagePrediction | null } | null;
  text: string;
}

/**
 * Asks the probe sample of each suite (only it) at HARNESS_DEFAULTS' concurrency and predicts the stage against the
 * track's limit. The answers are thrown away: this is a speed check, not a score.
 */
export async function probeServer(url: string, track: TrackId, suiteFiles: { open: string; closed: string }): Promise<{ open: StagePrediction; closed: StagePrediction | null }> {
  const predict = async (file: string, limitMs: number): Promise<StagePrediction> => {
    const suite = loadSuite(file);
    let measurement: ProbeMeasurement | null = null;
    await evaluateSuite({
      baseUrl: url,
      suite,
      store: new MemoryAnswerStore(),
      ...HARNESS_DEFAULTS, // the production harness settings
      probe: { sample: probeSample(suite), only: true, onMeasured: (m) => (measurement = m) },
    });
    if (!measurement) throw new Error(`the throughput probe on ${file} got no answer from ${url}`);
    return predictStage(measurement, suite, { limitMs });
  };
  const limits = TRACKS[track].limits;
  return {
    open: await predict(suiteFiles.open, limits.openEval),
    closed: existsSync(suiteFiles.closed) ? await predict(suiteFiles.closed, limits.closedEval) : null,
  };
}

/** The probe's lines for people. */
export function renderPredictions(predictions: { open: StagePrediction; closed: StagePrediction | null }): string {
  const lines = [
    `throughput probe (${predictions.open.sample} items of the open suite at concurrency ${HARNESS_DEFAULTS.concurrency}; 90% interval):`,
    `  ${describePrediction('open suite', predictions.open)}`,
  ];
  if (predictions.closed) lines.push(`  ${describePrediction('closed suite', predictions.closed)}`);
  else lines.push('  closed suite: not on this machine (the operator runs it)');
  return lines.join('\n');
}

export async function checkUrl(url: string): Promise<CheckResult> {
  const conformance = await checkConformance(url.replace(/\/+$/, ''));
  return { ok: conformance.ok, preflight: null, contamination: null, conformance, predictions: null, text: renderConformance(url, conformance) };
}

/**
 * Builds the inference image in the pipeline's build sandbox (infra/docker.ts openBuildSandbox: its own network
 * behind the firewall, the track's step limits, the process limit), then serves it sandboxed (internal network,
 * isolated from the host). A build the sandbox stops here fails the same way in the pipeline.
 */
type Served = { conformance: ConformanceResult; predictions: CheckResult['predictions'] };

async function serveAndCheck(config: RuntimeConfig, directory: string, artifacts: string, track: TrackId): Promise<Served> {
  const tag = `challenge-check/${path.basename(directory).toLowerCase().replace(/[^a-z0-9._-]/g, '-')}:inference`;
  const sandbox = await dockerRuntime.openBuildSandbox({
    name: `${dockerRuntime.BUILD_SANDBOX_PREFIX}check-${process.pid}`,
    limits: TRACKS[track].build,
    egressAllow: config.buildEgressAllow,
    secrets: {},
  });
  let build: dockerRuntime.BuildResult;
  try {
    build = await dockerRuntime.buildImage({
      context: directory,
      dockerfile: path.join(directory, 'Dockerfile'),
      tag,
      labels: { stage: 'check' },
      sandbox: sandbox.spec,
      buildArgs: sandbox.buildArgs,
    });
  } finally {
    await sandbox.close();
  }
  if (!build.ok) {
    const classification = build.classification ?? classifyBuildFailure(build.log);
    return {
      conformance: { ok: false, violations: [`${buildFailureReason('Dockerfile', classification)} (in the build sandbox: ${sandbox.notes.join(' ')})`], checks: [] },
      predictions: null,
    };
  }
  const network = `${config.evalNetwork}-check-${process.pid}`;
  const name = dockerRuntime.containerName('ch-check', String(process.pid));
  await dockerRuntime.ensureNetwork(network, true);
  const bridge = await dockerRuntime.bridgeInterface(network);
  if (bridge) await blockContainersToHost(bridge);
  try {
    const spec = TRACKS[track];
    await dockerRuntime.runDetached({
      name, image: tag, labels: { stage: 'check' }, memory: spec.containerMemory, cpus: spec.containerCpus, pids: spec.containerPids,
      network, mounts: [{ host: artifacts, container: '/artifacts', readOnly: true }], gpu: spec.gpu === null ? null : 0, readOnlyRoot: true,
    });
    const ip = (await dockerRuntime.inspectContainer(name)).ipAddresses[network];
    const url = `http://${ip}:80`;
    const ready = await waitForReadiness({ baseUrl: url, deadline: Date.now() + 60_000, isAlive: async () => (await dockerRuntime.inspectContainer(name)).running });
    if (!ready.ready) return { conformance: { ok: false, violations: [`the server never gave a valid /process answer: ${ready.reason}`], checks: [] }, predictions: null };
    const conformance = await checkConformance(url);
    return { conformance, predictions: conformance.ok ? await probeServer(url, track, defaultSuiteFiles(track)) : null };
  } finally {
    await dockerRuntime.removeContainer(name);
    if (bridge) await unblockContainersToHost(bridge);
    await dockerRuntime.removeNetwork(network);
  }
}

export async function checkDirectory(config: RuntimeConfig, directory: string, options: { serve?: boolean; artifacts?: string } = {}): Promise<CheckResult> {
  const loaded = loadSubmission(directory); // throws SubmissionError listing every format problem
  const preflight = preflightSubmission(loaded.directory);
  const files = loaded.manifest.trainingData.map((d) => path.resolve(loaded.directory, d.path));
  const suites = defaultSuiteFiles(loaded.manifest.track);
  const contamination = files.length > 0 ? await scanContamination({ files, suites: [loadSuite(suites.open), loadSuite(suites.closed)] }) : null;
  const served = options.serve
    ? await serveAndCheck(config, loaded.directory, options.artifacts ?? mkdtempSync(path.join(os.tmpdir(), 'check-artifacts-')), loaded.manifest.track)
    : null;
  const conformance = served?.conformance ?? null;
  const predictions = served?.predictions ?? null;
  const text = [
    `submission ${loaded.submissionId} (${loaded.directory}): format ok`,
    renderPreflight(preflight),
    contamination ? renderContaminationReport(contamination) : 'contamination: no declared training data to scan',
    conformance ? renderConformance('the inference server', conformance) : 'conformance: not checked (add --serve to build and serve the inference image)',
    ...(predictions ? [renderPredictions(predictions)] : []),
  ].join('\n\n');
  return { ok: preflight.ok && (conformance?.ok ?? true), preflight, contamination, conformance, predictions, text };
}
