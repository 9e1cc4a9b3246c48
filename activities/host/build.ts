/**
 * The build stage: the Dockerfile preflight, then both images built in the build's own sandbox, next to the
 * GPU host that will run them; a retry reuses images whose source digest matches. An upload's sources may
 * come from its stored archive (build-source.ts).
 */
import { Context } from '@temporalio/activity';
import path from 'node:path';
import { ACTIVITY_POLICY } from '../../temporal.config.js';
import { logExcerpt } from '../../domain/failures.js';
import { preflightSubmission, renderPreflight } from '../../domain/preflight/dockerfile.js';
import { buildFailureCategory, buildFailureReason, classifyBuildFailure, cleanBuildLog } from '../../domain/build-failures.js';
import { hostBuildPrefix, readBuildSecrets, type OpenBuildSandbox } from '../../infra/docker.js';
import { sourceDigest } from '../../infra/source-digest.js';
import { submissionImages } from '../../contract/pipeline.js';
import type { BuildInput, BuiltImages } from '../../contract/types.js';
import { resolveBuildContext } from './build-source.js';
import { failure, saveLog, shortHash, type HostContext } from './context.js';
import { beginStage, heartbeatEvery } from './stage-control.js';

export function createBuildActivity(host: HostContext) {
  const { config, spec, runtime } = host;

  return async function buildImages(input: BuildInput): Promise<BuiltImages> {
    // docker build writes into Docker's root folder: on a host short of disk the stage does not start.
    await host.ensureFreeDisk('build');
    const started = Date.now();
    const signal = Context.current().cancellationSignal;
    let beatDetails: Record<string, unknown> = { phase: 'preflight' };
    const beat = heartbeatEvery(() => beatDetails);
    try {
      const stageStartedAt = await beginStage('build', null);
      beatDetails = { phase: 'preflight', stageStartedAt };
      // The sources: the given directory, or an upload's stored archive unpacked on this host.
      const source = await resolveBuildContext({ dataDir: config.dataDir, artifacts: host.artifacts }, input);
      const directory = source.directory;
      // Dockerfile preflight first: unpinned installs and planted secrets stop here, before any build or GPU.
      // An inference-only run (a phase without fine-tune) builds the Dockerfile alone; Dockerfile.train may be absent.
      const inferenceOnly = input.inferenceOnly === true;
      const preflight = preflightSubmission(directory, { inferenceOnly });
      if (!preflight.ok) {
        throw failure(
          'InvalidSubmission',
          `the Dockerfile preflight found ${preflight.errors.length} error(s): ${preflight.errors.map((f) => `${f.file}:${f.line} ${f.message}`).join('; ')}`,
          {
            step: 'preflight',
            logExcerpt: renderPreflight(preflight),
          },
        );
      }
      const images = submissionImages(input.submissionId);
      const digest = source.digest ?? (await sourceDigest(directory));
      const built = { ...images, preflightWarnings: preflight.warnings.map((f) => `${f.file}:${f.line} ${f.message}`), sourceDigest: digest, hostId: config.hostId };
      if (input.reuseIfPresent) {
        const present = await Promise.all((inferenceOnly ? [images.inferenceImage] : [images.trainImage, images.inferenceImage]).map((image) => runtime.imageLabel(image, 'source-digest')));
        if (present.every((label) => label === digest)) return { ...built, reused: true, durationMs: Date.now() - started };
      }
      beatDetails = { phase: 'building', stageStartedAt };
      // The build sandbox (infra/docker.ts openBuildSandbox): a network of this build's own from which RUN steps reach
      // the internet only (infra/firewall.ts), the track's step limits (TRACKS[track].build), a cgroup parent bounding
      // the build's processes, and the team's build secrets served on the network's gateway while it runs.
      const team = input.submissionId.split('.')[0]!;
      let sandbox: OpenBuildSandbox;
      try {
        sandbox = await runtime.openBuildSandbox({
          // Named with the host's prefix, so that the next worker of this host reaps it should this one die (infra/build-reaper.ts).
          name: `${hostBuildPrefix(config.hostId, config.dataDir)}${shortHash(`${input.workflowId}|${path.resolve(config.dataDir)}`)}`,
          limits: spec.build,
          egressAllow: config.buildEgressAllow,
          secrets: readBuildSecrets(config.buildSecretsDir, team),
        });
      } catch (error) {
        throw failure('BuildInfrastructure', `the build sandbox could not be set up on ${config.hostId}: ${(error as Error).message}`);
      }
      const logs: string[] = source.note ? [`===== sources =====\n${source.note}`] : [];
      try {
        const dockerfiles = [
          ['Dockerfile.train', images.trainImage],
          ['Dockerfile', images.inferenceImage],
        ] as const;
        for (const [dockerfile, tag] of dockerfiles.filter(([file]) => !inferenceOnly || file === 'Dockerfile')) {
          const result = await runtime.buildImage({
            context: directory,
            dockerfile: path.join(directory, dockerfile),
            tag,
            labels: { workflow: input.workflowId, stage: 'build', submission: input.submissionId, 'source-digest': digest },
            signal,
            sandbox: sandbox.spec,
            output: ACTIVITY_POLICY.buildOutput,
            buildArgs: sandbox.buildArgs,
            mask: sandbox.secretValues,
          });
          // Each Dockerfile's log is bounded (ACTIVITY_POLICY.buildOutput), so the stored build log is too.
          logs.push(`===== docker build -f ${dockerfile} =====\n${sandbox.notes.join('\n')}\n${result.log}`);
          saveLog(host.logFile(input.submissionId, 'build'), logs.join('\n'));
          if (result.cancelled || signal.aborted) {
            if (Context.current().cancellationDetails?.workerShutdown) host.handBack();
            throw failure('Cancelled', `build of ${dockerfile} was stopped`);
          }
          if (!result.ok) {
            // The domain names the cause and the decisive line (domain/build-failures.ts): the platform's
            // (BuildInfrastructure, retried by ACTIVITY_POLICY.buildRetry, not charged) or the participant's
            // (BuildFailed; OutOfMemory for a step killed at the track's build memory; the output cap).
            const classification = result.classification ?? classifyBuildFailure(result.log);
            throw failure(buildFailureCategory(classification), buildFailureReason(dockerfile, classification), {
              ...(classification.step ? { step: classification.step } : {}),
              logExcerpt: logExcerpt(cleanBuildLog(result.log)),
            });
          }
        }
      } finally {
        await sandbox.close();
      }
      return { ...built, reused: false, durationMs: Date.now() - started };
    } finally {
      beat.stop();
      await host.publishLogs(input.submissionId);
    }
  };
}
