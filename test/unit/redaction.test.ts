/**
 * domain/redaction.ts: the public reason of a closed-evaluation stage is built from its category, counts,
 * exit status and time figures, never from the text a server could have put in its reason or log.
 */
import { describe, expect, it } from '@jest/globals';
import { FAILURE_CATEGORY_NAMES } from '../../domain/failures.js';
import { instancePrompt, loadSuite } from '../../domain/harness/suite.js';
import { defaultSuiteFiles } from '../../infra/paths.js';
import {
  closedSuiteStarted,
  exitStatusOf,
  isWithheldStage,
  publicFailureReason,
  publicPipelineReason,
  publicStageDetails,
  publicStageReason,
  redactedStageReason,
  type StageFacts,
} from '../../domain/redaction.js';

const closed = loadSuite(defaultSuiteFiles().closed);
const scenario = closed.scenarios[0]!;
/** A real closed-suite prompt: instructions, in-context examples with their answers, the question. */
const PROMPT = instancePrompt(scenario, scenario.instances[0]!);
const QUESTION = (scenario.instances[0] as { question: string }).question;

const crashed = (reason: string | null, extra: Partial<StageFacts> = {}): StageFacts => ({
  stage: 'closed-eval',
  outcome: 'partial',
  category: 'ServerCrashed',
  reason,
  limitMs: 600_000,
  elapsedMs: 412_000,
  details: { answered: 412, failed: 3, unanswered: 188, total: 600, restarts: 0, logExcerpt: PROMPT },
  ...extra,
});

describe('redactedStageReason', () => {
  it('builds the crash reason from the exit status and the counts', () => {
    expect(
      redactedStageReason(
        crashed('the inference server exited with status 137 after 412 of 600 answers: 409 of 600 instances answered, 3 failed, 188 unanswered'),
      ),
    ).toBe('the inference server exited with status 137 after 412 of 600 answers (closed suite; log withheld)');
    expect(
      redactedStageReason(
        crashed('the inference server exited with status 3 after 5 of 600 answers, also after 1 restart(s)', {
          details: { answered: 412, total: 600, restarts: 1 },
        }),
      ),
    ).toBe('the inference server exited with status 3 after 412 of 600 answers, restarted 1 time (closed suite; log withheld)');
  });

  it('copies no character of a reason or log that quotes a prompt', () => {
    const hostile = [
      PROMPT,
      `the inference server exited with status 137 after 412 of 600 answers: ${PROMPT}`,
      `no valid /process answer within the start-up limit (last: answered HTTP 500: ${PROMPT}); the server exited with status 1`,
      `the server exited before answering (${QUESTION}); the server exited with status 2`,
      `${QUESTION}; the server exited with status 9`,
      `the evaluation reached its limit of 10m: ${QUESTION}`,
    ];
    for (const category of FAILURE_CATEGORY_NAMES) {
      for (const reason of hostile) {
        for (const stage of ['closed-eval', 'score', 'something-new']) {
          const text = redactedStageReason({ ...crashed(reason), stage, category }) ?? '';
          expect({
            category,
            stage,
            text,
            leaks: text.includes(QUESTION) || text.includes('Question:') || text.includes(scenario.instructions ?? '\u0000'),
          }).toMatchObject({ leaks: false });
        }
      }
    }
  });

  it('gives the same text whatever the free part of the reason says (built, not filtered)', () => {
    const a = redactedStageReason(crashed(`the inference server exited with status 137 after 412 of 600 answers: ${PROMPT}`));
    const b = redactedStageReason(crashed('the inference server exited with status 137 after 412 of 600 answers: nothing here'));
    expect(a).toBe(b);
    const c = redactedStageReason({
      ...crashed(`no valid /process answer within the start-up limit (last: ${PROMPT}); the server still running`),
      category: 'StartupFailed',
      details: null,
    });
    const d = redactedStageReason({
      ...crashed('no valid /process answer within the start-up limit (last: x); the server still running'),
      category: 'StartupFailed',
      details: null,
    });
    expect(c).toBe(d);
    expect(c).toBe('the inference server gave no valid /process answer within the start-up limit of the closed evaluation (closed suite; log withheld)');
  });

  it('reads the exit status only from the fixed templates, as a container exit code', () => {
    expect(exitStatusOf('the inference server exited with status 137 after 1 of 2 answers')).toBe(137);
    expect(exitStatusOf('no valid /process answer within the start-up limit (last: x); the server exited with status 1')).toBe(1);
    expect(exitStatusOf('the inference server exited with status 999 after 1 of 2 answers')).toBeNull();
    expect(exitStatusOf('the server exited with status 12345678')).toBeNull();
    expect(exitStatusOf(`status 3 ${QUESTION}`)).toBeNull();
    expect(exitStatusOf(null)).toBeNull();
  });

  it('names each category with its counts and time figures', () => {
    const base = crashed(null);
    expect(redactedStageReason({ ...base, category: 'TimeLimit', reason: `the evaluation reached its limit of 10m: ${QUESTION}` })).toBe(
      'the closed evaluation reached its limit of 10m: 409 of 600 instances answered, 3 failed, 188 unanswered (closed suite; log withheld)',
    );
    expect(redactedStageReason({ ...base, category: 'TimeLimit', reason: 'x', details: { handovers: 0 } })).toBe(
      'the closed evaluation reached its limit of 10m before the server was ready (closed suite; log withheld)',
    );
    expect(
      redactedStageReason({
        ...base,
        category: 'StartupFailed',
        reason: `the server exited before answering (${QUESTION}); the server exited with status 2`,
        details: null,
      }),
    ).toBe('the inference server exited before giving a valid /process answer in the closed evaluation; it exited with status 2 (closed suite; log withheld)');
    expect(
      redactedStageReason({
        ...base,
        category: 'ContractViolation',
        reason: PROMPT,
        details: { answered: 40, failed: 30, unanswered: 4, total: 44, failuresByKind: { schema: 20, 'invalid-json': 5, timeout: 5 } },
      }),
    ).toBe('25 of 40 answers were outside the contract: 10 of 44 instances answered, 30 failed, 4 unanswered (closed suite; log withheld)');
    expect(redactedStageReason({ ...base, category: 'OutOfMemory', reason: PROMPT, details: { logExcerpt: PROMPT } })).toBe(
      'the inference server was killed for exceeding its memory limit during the closed evaluation (closed suite; log withheld)',
    );
    expect(redactedStageReason({ ...base, category: 'Infrastructure', reason: `evaluate failed: ${PROMPT}` })).toBe(
      'our infrastructure failed during the closed evaluation; not charged, to be re-run (closed suite; log withheld)',
    );
    expect(redactedStageReason({ ...base, category: 'Cancelled', reason: 'an operator cancelled the pipeline' })).toBe('an operator cancelled the pipeline');
    expect(redactedStageReason({ ...base, category: 'BuildFailed', reason: PROMPT })).toBe(
      'BuildFailed in the closed evaluation: the submission image did not build (a Dockerfile step failed) (closed suite; log withheld)',
    );
  });

  it("keeps the workflow's fixed reasons of skipped stages, and says nothing when nothing was recorded", () => {
    expect(redactedStageReason({ stage: 'closed-eval', outcome: 'skipped', category: null, reason: 'the build failed', limitMs: null, details: null })).toBe(
      'the build failed',
    );
    expect(redactedStageReason({ stage: 'closed-eval', outcome: 'skipped', category: null, reason: QUESTION, limitMs: null, details: null })).toBe(
      'not run: an earlier stage ended the pipeline',
    );
    expect(redactedStageReason({ stage: 'closed-eval', outcome: 'succeeded', category: null, reason: QUESTION, limitMs: null, details: null })).toBe(
      'the closed evaluation succeeded (closed suite; log withheld)',
    );
    expect(redactedStageReason({ stage: 'closed-eval', outcome: 'succeeded', category: null, reason: null, limitMs: null, details: null })).toBeNull();
  });
});

describe('which stages are withheld', () => {
  it('shows the stages before the closed evaluation as recorded and rebuilds the rest (unknown ones too)', () => {
    expect(['build', 'fine-tune', 'open-eval'].map(isWithheldStage)).toEqual([false, false, false]);
    expect(['closed-eval', 'score', 'closed-eval-2', ''].map(isWithheldStage)).toEqual([true, true, true, true]);
    const open = { ...crashed(`the inference server exited with status 3 after 1 of 2 answers: ${QUESTION}`), stage: 'open-eval' };
    expect(publicStageReason(open)).toBe(open.reason);
    expect(publicStageReason(crashed(`x ${QUESTION}`))).not.toContain(QUESTION);
  });

  it('keeps only numbers in the details of a withheld stage, and drops every log excerpt', () => {
    const details = {
      answered: 9,
      failed: 1,
      unanswered: 35,
      total: 44,
      durationMs: 35_000,
      restarts: 1,
      hostId: `host ${QUESTION}`,
      step: QUESTION,
      logExcerpt: PROMPT,
      failuresByKind: { schema: 1, [QUESTION]: 3 },
      scenarios: [{ scenario: QUESTION }],
      reevaluation: QUESTION,
    };
    expect(publicStageDetails('closed-eval', details)).toEqual({
      answered: 9,
      failed: 1,
      unanswered: 35,
      total: 44,
      durationMs: 35_000,
      restarts: 1,
      failuresByKind: { schema: 1 },
    });
    expect(JSON.stringify(publicStageDetails('score', details))).not.toContain('Question');
    const build = publicStageDetails('build', { step: 'RUN pip install x', logExcerpt: 'Step 4/6' });
    expect(build).toEqual({ step: 'RUN pip install x' });
    expect(publicStageDetails('closed-eval', null)).toBeNull();
  });

  it("rebuilds the pipeline reason once the closed suite was sent, and picks the leaderboard's failed stage", () => {
    const ran: StageFacts[] = [
      { stage: 'build', outcome: 'succeeded', category: null, reason: null, limitMs: null, details: null },
      { stage: 'open-eval', outcome: 'succeeded', category: null, reason: null, limitMs: null, details: null },
      crashed(`the inference server exited with status 137 after 412 of 600 answers: ${QUESTION}`),
    ];
    const notYet: StageFacts[] = [
      { stage: 'fine-tune', outcome: 'failed', category: 'ContainerFailed', reason: 'training exited with status 1', limitMs: null, details: null },
      { stage: 'closed-eval', outcome: 'skipped', category: null, reason: 'fine-tuning failed', limitMs: null, details: null },
    ];
    expect(closedSuiteStarted(ran)).toBe(true);
    expect(closedSuiteStarted(notYet)).toBe(false);
    expect(publicPipelineReason({ outcome: 'failed', category: 'ContainerFailed', reason: 'training exited with status 1' }, notYet)).toBe(
      'training exited with status 1',
    );
    expect(publicPipelineReason({ outcome: 'completed', category: 'ServerCrashed', reason: QUESTION }, ran)).not.toContain(QUESTION);
    expect(publicPipelineReason({ outcome: 'cancelled', category: 'Cancelled', reason: 'an operator cancelled the pipeline' }, ran)).toBe(
      'an operator cancelled the pipeline',
    );
    expect(publicFailureReason(ran, { outcome: 'completed', category: 'ServerCrashed', reason: null })).toBe(
      'the inference server exited with status 137 after 412 of 600 answers (closed suite; log withheld)',
    );
    expect(publicFailureReason(notYet, { outcome: 'failed', category: 'ContainerFailed', reason: 'training exited with status 1' })).toBe(
      'training exited with status 1',
    );
    expect(publicFailureReason([], null)).toBeNull();
  });
});
