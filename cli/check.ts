/**
 * `challenge check <dir|url>`: everything that can be known about a submission before it costs GPU
 * time — the submission format, the Dockerfile preflight, contamination of its declared training data,
 * and (for a URL, or a directory with --serve) the conformance of its server to the contract.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSubmission } from '../domain/submission.js';
import { loadSuite } from '../domain/harness/suite.js';
import { preflightSubmission, renderPreflight, type PreflightResult } from '../domain/preflight/dockerfile.js';
import { checkConformance, renderConformance, type ConformanceResult } from '../domain/harness/conformance.js';
import { waitForReadiness } from '../domain/harness/evaluate.js';
import { renderContaminationReport, scanContamination, type ContaminationReport } from '../domain/reports/contamination.js';
import { TRACKS } from '../temporal.config.js';
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
  text: string;
}

export async function checkUrl(url: string): Promise<CheckResult> {
  const conformance = await checkConformance(url.replace(/\/+$/, ''));
  return { ok: conformance.ok, preflight: null, contamination: null, conformance, text: renderConformance(url, conformance) };
}

/**
 * Builds the inference image in the pipeline's build sandbox (infra/docker.ts openBuildSandbox: its own network
 * behind the firewall, the track's step limits, the process limit), then serves it sandboxed (internal network,
 * isolated from the host). A build the sandbox stops here fails the same way in the pipeline.
 */
async function serveAndCheck(config: RuntimeConfig, directory: string, artifacts: string, track: keyof typeof TRACKS): Promise<ConformanceResult> {
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
    return { ok: false, violations: [`${buildFailureReason('Dockerfile', classification)} (in the build sandbox: ${sandbox.notes.join(' ')})`], checks: [] };
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
    if (!ready.ready) return { ok: false, violations: [`the server never gave a valid /process answer: ${ready.reason}`], checks: [] };
    return await checkConformance(url);
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
  const conformance = options.serve
    ? await serveAndCheck(config, loaded.directory, options.artifacts ?? mkdtempSync(path.join(os.tmpdir(), 'check-artifacts-')), loaded.manifest.track)
    : null;
  const text = [
    `submission ${loaded.submissionId} (${loaded.directory}): format ok`,
    renderPreflight(preflight),
    contamination ? renderContaminationReport(contamination) : 'contamination: no declared training data to scan',
    conformance ? renderConformance('the inference server', conformance) : 'conformance: not checked (add --serve to build and serve the inference image)',
  ].join('\n\n');
  return { ok: preflight.ok && (conformance?.ok ?? true), preflight, contamination, conformance, text };
}
