/**
 * One round of the throughput probe's benchmark, shared by bench/probe.ts (the stand-in server) and
 * bench/probe-llm.ts (the real CPU LLM sample): a real evaluateSuite run at the production harness settings that
 * asks the probe's stratified sample first, predicts the whole stage the moment the probe's last answer arrives
 * (predictStage at the CPU track's open-evaluation limit) and goes on through the suite; then the prediction
 * against the measured stage, its rows and its note.
 *
 * Where the server reports request_time the error splits in two (errorSplit): the predicted Σ cost against the
 * Σ request_time the stage measured, and the server's parallelism over the stage against the one the probe
 * measured. prediction ÷ measured = cost ratio × parallelism ratio.
 */
import { HARNESS_DEFAULTS, TRACKS } from '../temporal.config.js';
import { evaluateSuite, MemoryAnswerStore } from '../domain/harness/evaluate.js';
import { requestSettings, type Scenario, type Suite } from '../domain/harness/suite.js';
import type { InstanceAnswer } from '../domain/harness/answers.js';
import { describePrediction, predictStage, probeSample, type ProbeMeasurement, type ProbeSample, type StagePrediction } from '../domain/harness/throughput.js';
import { fmt, log, row, type Row } from './support.js';

export const PREDICTION_TARGET = { low: 0.9, high: 1.1 } as const;
const MEASURED = 'measured stage wall time, first request to last answer (same run)';

export interface ProbeRound {
  name: string;
  prediction: StagePrediction;
  measurement: ProbeMeasurement;
  /** from the probe's first request until the stage's last answer */
  measuredMs: number;
  /** evaluateSuite's set-up before its first request (counting the suite's items: a pass perturbs every instance) */
  setupMs: number;
  items: number;
  failed: number;
  unanswered: number;
  /** Σ request_time over the stage's answers, and how many answers had none */
  stageServerMs: number;
  withoutServerMs: number;
  /** per request group: the probe's items and the stage's (see groupBreakdown) */
  groups: GroupCost[];
  /** with `reprobe`: the probe's items asked again after the stage (a server that changed speed shows here) */
  after?: { measurement: ProbeMeasurement; prediction: StagePrediction };
}

/** One request group's request_time in the probe and over the whole stage. */
export interface GroupCost {
  group: string;
  probeItems: number;
  probeMeanMs: number;
  stageItems: number;
  stageMeanMs: number;
  stageServerMs: number;
}

/** A request group as predictStage fits it (domain/harness/throughput.ts): same kind, same number of new tokens asked. */
export const requestGroupOf = (scenario: Scenario): string => `${scenario.kind}:${requestSettings(scenario).maxNewTokens}`;

/** Per request group: the probe's items and their mean request_time, the stage's answers and theirs (answers without one count as 0). */
export function groupBreakdown(
  suite: Pick<Suite, 'scenarios'>,
  probeRequests: readonly { scenario: string; serverMs?: number | null }[],
  answers: readonly Pick<InstanceAnswer, 'scenario' | 'serverMs'>[],
): GroupCost[] {
  const groupOf = new Map(suite.scenarios.map((scenario) => [scenario.name, requestGroupOf(scenario)]));
  const groups = new Map<string, { probe: number[]; stage: number[] }>();
  const add = (scenario: string, ms: number | null | undefined, into: 'probe' | 'stage') => {
    const group = groupOf.get(scenario) ?? `(scenario ${scenario} not in the suite)`;
    const entry = groups.get(group) ?? { probe: [], stage: [] };
    entry[into].push(ms ?? 0);
    groups.set(group, entry);
  };
  for (const request of probeRequests) add(request.scenario, request.serverMs, 'probe');
  for (const answer of answers) add(answer.scenario, answer.serverMs, 'stage');
  const meanOf = (values: number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);
  return [...groups]
    .map(([group, { probe, stage }]) => ({
      group,
      probeItems: probe.length,
      probeMeanMs: meanOf(probe),
      stageItems: stage.length,
      stageMeanMs: meanOf(stage),
      stageServerMs: stage.reduce((a, b) => a + b, 0),
    }))
    .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** The probe's items alone (a fresh store), at HARNESS_DEFAULTS, and the prediction from them. */
async function probeOnly(suite: Suite, baseUrl: string, sample: ProbeSample, limitMs: number): Promise<{ measurement: ProbeMeasurement; prediction: StagePrediction } | null> {
  let measured: { measurement: ProbeMeasurement; prediction: StagePrediction } | null = null;
  const onMeasured = (m: ProbeMeasurement) => (measured = { measurement: m, prediction: predictStage(m, suite, { limitMs }) });
  await evaluateSuite({ baseUrl, suite, store: new MemoryAnswerStore(), ...HARNESS_DEFAULTS, probe: { sample, only: true, onMeasured } });
  return measured;
}

/**
 * Runs `suite` on the server at `baseUrl` with the probe, at HARNESS_DEFAULTS; `label` names the benchmark in the log.
 * `reprobe`: ask the probe's items again once the stage is over (not in the measured time).
 */
export async function runProbeRound(label: string, name: string, suite: Suite, baseUrl: string, options: { reprobe?: boolean } = {}): Promise<ProbeRound> {
  const sample = probeSample(suite);
  const limitMs = TRACKS.cpu.limits.openEval;
  const store = new MemoryAnswerStore();
  let measurement: ProbeMeasurement | null = null;
  let prediction: StagePrediction | null = null;
  let askingFrom = Number.NaN;
  const started = performance.now();
  const summary = await evaluateSuite({
    baseUrl,
    suite,
    store,
    ...HARNESS_DEFAULTS, // the production harness settings
    probe: {
      sample,
      onMeasured: (m) => {
        measurement = m;
        askingFrom = performance.now() - m.wallMs;
        prediction = predictStage(m, suite, { limitMs });
        log(`${label}: ${name}: ${describePrediction(name, prediction)} (probe ${m.items} items in ${fmt(m.wallMs / 1000)} s, ${fmt(m.inFlight ?? 0)} in flight)`);
      },
    },
  });
  const measuredMs = performance.now() - askingFrom;
  if (!prediction || !measurement) throw new Error(`${label}: ${name}: the probe never reported a measurement (${summary.answered} answered, ${summary.failed} failed)`);
  const answers = store.all();
  const stageServerMs = answers.reduce((sum, a) => sum + (a.serverMs ?? 0), 0);
  const withoutServerMs = answers.filter((a) => !(typeof a.serverMs === 'number' && a.serverMs > 0)).length;
  log(`${label}: ${name}: measured ${fmt(measuredMs / 1000)} s for ${summary.answered} items (${summary.failed} failed, ${summary.unanswered} unanswered)`);
  const after = options.reprobe ? await probeOnly(suite, baseUrl, sample, limitMs) : null;
  if (after) log(`${label}: ${name}: the probe again after the stage: ${describePrediction(name, after.prediction)}`);
  return {
    name,
    prediction,
    measurement,
    measuredMs,
    setupMs: askingFrom - started,
    items: summary.answered,
    failed: summary.failed,
    unanswered: summary.unanswered,
    stageServerMs,
    withoutServerMs,
    groups: groupBreakdown(suite, (measurement as ProbeMeasurement).requests, answers),
    ...(after ? { after } : {}),
  };
}

/** prediction ÷ measured, whether it is within the target, and whether the measured time fell inside the 90% interval. */
export function roundVerdict(prediction: Pick<StagePrediction, 'estimateMs' | 'lowMs' | 'highMs'>, measuredMs: number): { ratio: number; pass: boolean; inside: boolean } {
  const ratio = prediction.estimateMs / measuredMs;
  return {
    ratio,
    pass: ratio >= PREDICTION_TARGET.low && ratio <= PREDICTION_TARGET.high,
    inside: measuredMs >= prediction.lowMs && measuredMs <= prediction.highMs,
  };
}

/**
 * Where the miss comes from, when the probe measured the server's parallelism from request_time (inService) and
 * every stage answer carried one: predicted Σ cost (estimate × inService) ÷ the stage's Σ request_time, and the
 * stage's parallelism (Σ request_time ÷ measured wall) ÷ the probe's. Their product is prediction ÷ measured.
 */
export function errorSplit(input: { estimateMs: number; inService: number | undefined; measuredMs: number; stageServerMs: number; withoutServerMs: number }): {
  costRatio: number;
  parallelRatio: number;
  stageParallel: number;
} | null {
  if (input.inService === undefined || !(input.inService > 0) || input.withoutServerMs > 0 || !(input.stageServerMs > 0) || !(input.measuredMs > 0)) return null;
  const stageParallel = input.stageServerMs / input.measuredMs;
  return { costRatio: (input.estimateMs * input.inService) / input.stageServerMs, parallelRatio: stageParallel / input.inService, stageParallel };
}

const splitOf = (round: ProbeRound) =>
  errorSplit({
    estimateMs: round.prediction.estimateMs,
    inService: round.measurement.inService,
    measuredMs: round.measuredMs,
    stageServerMs: round.stageServerMs,
    withoutServerMs: round.withoutServerMs,
  });

/** Σ request_time of the probe's requests. */
const serverSum = (m: ProbeMeasurement): number => m.requests.reduce((sum, r) => sum + (r.serverMs ?? 0), 0);

/**
 * The round's rows: predicted vs measured (the target), the probe's own wall time vs measured, with `reprobe` the probe's
 * items again after the stage (the server's change of speed, and the prediction it would have given), and the error split.
 */
export function roundRows(round: ProbeRound): Row[] {
  const p = round.prediction;
  const verdict = roundVerdict(p, round.measuredMs);
  const rows = [
    row(`${round.name} (${round.items} items): predicted stage wall time`, p.estimateMs / 1000, 's', MEASURED, round.measuredMs / 1000, 's', {
      target: `${PREDICTION_TARGET.low}–${PREDICTION_TARGET.high}`,
      pass: verdict.pass,
    }),
    row(`${round.name}: probe wall time (${p.sample} items)`, round.measurement.wallMs / 1000, 's', 'measured stage wall time', round.measuredMs / 1000, 's'),
  ];
  if (round.after) {
    rows.push(
      row(`${round.name}: the probe's items again after the stage: Σ request_time (1 = a server of steady speed)`, serverSum(round.after.measurement) / 1000, 's',
        "the same items in the stage's probe", serverSum(round.measurement) / 1000, 's'),
      row(`${round.name}: predicted stage wall time from the probe after the stage`, round.after.prediction.estimateMs / 1000, 's', 'measured stage wall time', round.measuredMs / 1000, 's'),
    );
  }
  const split = splitOf(round);
  if (split)
    rows.push(
      row(`${round.name}: predicted Σ request_time (probe's fit × suite mix)`, (p.estimateMs * round.measurement.inService!) / 1000, 's', "stage's Σ request_time", round.stageServerMs / 1000, 's'),
      row(`${round.name}: server parallelism over the stage (Σ request_time ÷ wall)`, split.stageParallel, '', "the probe's (inService)", round.measurement.inService!, ''),
    );
  return rows;
}

/** One line for the notes: the prediction, the interval's verdict, the concurrency, the set-up, failures and the error split. */
export function roundNote(round: ProbeRound): string {
  const p = round.prediction;
  const verdict = roundVerdict(p, round.measuredMs);
  const split = splitOf(round);
  const failures = round.failed + round.unanswered > 0 ? `; ${round.failed} failed and ${round.unanswered} unanswered items count in the measured time` : '';
  const splitText = split
    ? `; prediction ÷ measured ${fmt(verdict.ratio)} = Σ cost ${fmt(split.costRatio)} × parallelism ${fmt(split.parallelRatio)} ` +
      `(the server served ${fmt(split.stageParallel)} at once over the stage, ${fmt(round.measurement.inService ?? null)} during the probe)`
    : '';
  const groups = round.groups
    .map((g) => `${g.group}: probe ${g.probeItems} items, mean ${fmt(g.probeMeanMs)} ms; stage ${g.stageItems}, mean ${fmt(g.stageMeanMs)} ms, Σ ${fmt(g.stageServerMs / 1000)} s`)
    .join('; ');
  return (
    `${round.name}: ${describePrediction(round.name, p)}; measured ${fmt(round.measuredMs / 1000)} s for ${round.items} items, ` +
    `${verdict.inside ? 'inside' : 'outside'} the 90% interval; effective concurrency ${fmt(p.concurrency)}; ` +
    `evaluateSuite's set-up before the first request (not in either figure) ${fmt(round.setupMs / 1000)} s${failures}${splitText}. ` +
    `request_time by request group (${groups}).`
  );
}
