/**
 * A results database holding two teams of the participants' door (alpha, bravo) with their intakes,
 * stages, scores, answers and logs, for the tests of the team pages (unit, via route()) and of the team
 * pages in a real browser. Alpha's evaluated submission had a server that echoed a closed-suite prompt into
 * its closed-eval reason, log excerpt, answers and the pipeline reason: none of it may reach a team page.
 */
import { loadCompetition } from '../../domain/competition/index.js';
import { newToken } from '../../domain/teams/tokens.js';
import { FsArtifactStore } from '../../infra/artifact-store-fs.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import type { ResultsDb, StageRecord } from '../../infra/results-db.js';
import type { QuotaRule } from '../../domain/teams/quota.js';
import type { PipelineStarter, TeamDoorOptions } from '../../web/team-context.js';
import path from 'node:path';

/** Inside the demo competition's development phase (2026–2036, 3 a day per track). */
export const NOW = Date.parse('2026-03-01T12:00:00.000Z');
export const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
export const PHASE = 'development';
export const RULE: QuotaRule = { perWindow: 3, window: 24 * HOUR };

/** What a server echoing the hidden suite would put everywhere it could. */
export const CLOSED_PROMPT = 'Question: Which hidden capital is the CLOSEDSUITE-7731 answer?';
export const CLOSED_COMPLETION = 'CLOSEDSUITE-COMPLETION-5150';
export const OPEN_COMPLETION = 'open answer: Paris (alpha)';
export const BUILD_LOG = 'Step 1/3 : FROM challenge/base:bookworm-python3\nStep 3/3 : CMD ["python3", "/app/server.py"]\nSuccessfully built alpha-image';
export const OPEN_EVAL_LOG = 'serving on :8080\nopen-eval: 60 requests answered';
export const BRAVO_SECRET = 'BRAVO-PRIVATE-REASON-9090';

export const ID = {
  evaluated: 'alpha.first',
  running: 'alpha.second',
  refunded: 'alpha.host-lost',
  bravo: 'bravo.secret',
} as const;

export const ACCEPTED = { evaluated: NOW - 2 * HOUR, refunded: NOW - 90 * 60_000, running: NOW - 30 * 60_000, bravo: NOW - HOUR } as const;

export interface SeededTeams {
  tokens: { alpha: string; bravo: string };
}

/** The stand-in starter: the pages never start a pipeline, the API's uploads would. */
export const standInStarter: PipelineStarter = {
  start: (input) => Promise.resolve({ workflowId: `submission-${input.team}`, runId: null, url: 'http://temporal.invalid' }),
};

export function doorOptions(dir: string, now: () => number = () => NOW): TeamDoorOptions {
  return {
    competition: loadCompetition(path.join(PROJECT_ROOT, 'competitions', 'demo.json')),
    starter: standInStarter,
    stagingDir: path.join(dir, 'staging'),
    artifacts: new FsArtifactStore(path.join(dir, 'artifacts')),
    now,
  };
}

function stage(submissionId: string, name: string, outcome: StageRecord['outcome'], from: number, to: number, extra: Partial<StageRecord> = {}): StageRecord {
  return { submissionId, stage: name, outcome, failureCategory: null, reason: null, startedAt: iso(from), endedAt: iso(to), limitMs: null, details: null, ...extra };
}

const evalDetails = (answered: number, failed: number, total: number) => ({ durationMs: 60_000, answered, failed, unanswered: total - answered, total });

async function accept(db: ResultsDb, team: string, submissionId: string, at: number): Promise<void> {
  const result = await db.reserveIntake({
    intakeId: `intake-${submissionId}`,
    team,
    track: 'cpu',
    phase: PHASE,
    submissionId,
    archiveKey: `archives/${submissionId}.tar.gz`,
    archiveSha256: '0'.repeat(64),
    at: iso(at),
    rule: RULE,
  });
  if (result.kind !== 'accepted') throw new Error(`seed: the intake of ${submissionId} was ${result.kind}`);
  const [, name] = submissionId.split('.') as [string, string];
  await db.registerRun({ submissionId, team, name, track: 'cpu', directory: `/staging/${submissionId}`, workflowId: `submission-${submissionId}`, runId: `run-${name}`, submittedAt: iso(at) });
}

export async function seedTeams(db: ResultsDb): Promise<SeededTeams> {
  const alpha = await newToken();
  const bravo = await newToken();
  await db.createTeam({ name: 'alpha', tracks: ['cpu'], webhook: null, at: iso(NOW - 48 * HOUR) }, alpha.stored);
  await db.createTeam({ name: 'bravo', tracks: ['cpu'], webhook: null, at: iso(NOW - 48 * HOUR) }, bravo.stored);

  // alpha.first: evaluated; the closed evaluation crashed with the server quoting a hidden prompt
  const e = ACCEPTED.evaluated;
  await accept(db, 'alpha', ID.evaluated, e);
  db.recordStage(stage(ID.evaluated, 'build', 'succeeded', e, e + 60_000, { limitMs: 20 * 60_000, details: { durationMs: 60_000, logExcerpt: BUILD_LOG } }));
  db.recordStage(stage(ID.evaluated, 'fine-tune', 'succeeded', e + 60_000, e + 600_000, { limitMs: 600_000, details: { durationMs: 540_000, artifactFiles: 2 } }));
  db.recordStage(stage(ID.evaluated, 'open-eval', 'succeeded', e + 600_000, e + 660_000, { limitMs: 600_000, details: { ...evalDetails(60, 0, 60), logExcerpt: OPEN_EVAL_LOG } }));
  db.recordStage(
    stage(ID.evaluated, 'closed-eval', 'partial', e + 660_000, e + 700_000, {
      limitMs: 600_000,
      failureCategory: 'ServerCrashed',
      reason: `the server exited with status 139 after answering ${CLOSED_PROMPT}`,
      details: { ...evalDetails(9, 1, 44), logExcerpt: `got prompt: ${CLOSED_PROMPT}\nSegmentation fault` },
    }),
  );
  db.recordStage(stage(ID.evaluated, 'score', 'succeeded', e + 700_000, e + 701_000));
  db.saveScenarioScores(ID.evaluated, 'open', [
    { scenario: 'opposites', column: 'opposites - EM', score: 0.9, instances: 30, answered: 30, failed: 0 },
    { scenario: 'capitals', column: 'capitals - EM', score: 0.8, instances: 30, answered: 30, failed: 0 },
  ]);
  db.saveScenarioScores(ID.evaluated, 'closed', [{ scenario: 'animal-sounds', column: 'animal-sounds - EM', score: 0.1, instances: 20, answered: 9, failed: 1 }]);
  const open = db.answerStore(ID.evaluated, 'open');
  open.save({ scenario: 'capitals', instanceId: '1', completion: OPEN_COMPLETION, score: 1, errorKind: null, error: null, attempts: 1, latencyMs: 12 });
  open.save({ scenario: 'opposites', instanceId: '2', completion: null, score: 0, errorKind: 'timeout', error: 'no answer in 30s', attempts: 3, latencyMs: 30_000 });
  db.answerStore(ID.evaluated, 'closed').save({
    scenario: 'animal-sounds',
    instanceId: '7',
    completion: CLOSED_COMPLETION,
    score: 0,
    errorKind: null,
    error: `echo: ${CLOSED_PROMPT}`,
    attempts: 1,
    latencyMs: 15,
  });
  db.recordPipeline({ submissionId: ID.evaluated, outcome: 'completed', failureCategory: 'ServerCrashed', reason: `crashed on ${CLOSED_PROMPT}`, updatedAt: iso(e + 702_000) });

  // alpha.host-lost: our GPU host went away in the closed evaluation: refunded (the store copies the raw reason)
  const r = ACCEPTED.refunded;
  await accept(db, 'alpha', ID.refunded, r);
  db.recordStage(stage(ID.refunded, 'build', 'succeeded', r, r + 60_000, { details: { durationMs: 60_000 } }));
  db.recordStage(stage(ID.refunded, 'open-eval', 'succeeded', r + 60_000, r + 120_000, { details: evalDetails(60, 0, 60) }));
  const lost = `the GPU host stopped answering while serving ${CLOSED_PROMPT}`;
  db.recordStage(stage(ID.refunded, 'closed-eval', 'failed', r + 120_000, r + 180_000, { failureCategory: 'Infrastructure', reason: lost, details: evalDetails(3, 0, 44) }));
  db.recordPipeline({ submissionId: ID.refunded, outcome: 'failed', failureCategory: 'Infrastructure', reason: lost, updatedAt: iso(r + 181_000) });

  // alpha.second: still running (the build finished, training is under way)
  const g = ACCEPTED.running;
  await accept(db, 'alpha', ID.running, g);
  db.recordStage(stage(ID.running, 'build', 'succeeded', g, g + 45_000, { limitMs: 20 * 60_000, details: { durationMs: 45_000 } }));

  // bravo.secret: another team's, with text of its own that alpha must never see
  const b = ACCEPTED.bravo;
  await accept(db, 'bravo', ID.bravo, b);
  db.recordStage(stage(ID.bravo, 'build', 'failed', b, b + 30_000, { failureCategory: 'BuildFailed', reason: `docker build failed: ${BRAVO_SECRET}`, details: { logExcerpt: BRAVO_SECRET } }));
  db.recordPipeline({ submissionId: ID.bravo, outcome: 'failed', failureCategory: 'BuildFailed', reason: `docker build failed: ${BRAVO_SECRET}`, updatedAt: iso(b + 31_000) });

  return { tokens: { alpha: alpha.token, bravo: bravo.token } };
}
