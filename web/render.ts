/**
 * The cockpit's pages, as pure functions from views (web/data.ts) to HTML strings. Every value from the
 * database goes through the escaping `html` template; charts are inline SVG (web/svg.ts); no scripts.
 * A view's `audience` picks the links (public pages link to public pages, operator pages under /operator)
 * and the operator-only sections (answers); what a public view holds is already redacted by web/data.ts.
 */
import { FAILURE_CATEGORIES, FAILURE_CATEGORY_NAMES, isFailureCategory, type FailureCategory } from '../domain/failures.js';
import { formatDuration, formatSpan } from '../domain/units.js';
import { PUBLIC_LOG_STAGES, type AnswersView, type Audience, type LogView, type OverviewView, type StageView, type SubmissionView, type TrackView } from './data.js';
import { formatCorrelation, formatScore, formatTimestamp, html, percent, trusted, type SafeHtml } from './html.js';
import { horizontalBarsSvg, scatterSvg, svgStyles, type Bar, type Tone } from './svg.js';
import { finalLegend, phaseBanner, phaseSwitch, reproductionCell, trackPhaseHref } from './render-final.js';
import { describeStopRule } from '../domain/standings-table.js';

export { formatCorrelation, formatScore } from './html.js';

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------
const STYLES = trusted(`
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1c2529; background: #f3f5f7; }
header.top { background: #1f2d3a; color: #fff; padding: 10px 24px; display: flex; gap: 20px; align-items: baseline; }
header.top a { color: #cfe3ff; text-decoration: none; }
header.top .brand { font-weight: 700; font-size: 16px; color: #fff; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; word-break: break-word; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 12px 0 6px; }
a { color: #0d47a1; }
.sub { color: #546e7a; margin: 0 0 14px; }
.card { background: #fff; border: 1px solid #d8dee3; border-radius: 8px; padding: 14px 16px; margin: 14px 0; }
.card > :first-child { margin-top: 0; }
.card > :last-child { margin-bottom: 0; }
td.id { white-space: nowrap; }
.cards { display: flex; flex-wrap: wrap; gap: 14px; }
.cards > .card { margin: 0; flex: 1 1 480px; min-width: 0; }
.stat { display: inline-block; min-width: 110px; padding: 8px 14px; margin: 0 10px 10px 0; border-radius: 6px; background: #eef2f5; }
.stat b { display: block; font-size: 22px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 6px 8px; border-bottom: 1px solid #e3e8ec; text-align: left; vertical-align: top; }
th { background: #f7f9fa; font-weight: 600; font-size: 13px; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:hover td { background: #fafcff; }
.scroll { overflow-x: auto; }
table.board { width: max-content; min-width: 100%; }
table.board th, table.board td { white-space: nowrap; }
table.board .pin { position: sticky; z-index: 1; background: #fff; }
table.board th.pin { background: #f7f9fa; z-index: 2; }
table.board tr:hover td.pin { background: #fafcff; }
table.board .clip { display: block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.board .c-rank { left: 0; width: 44px; min-width: 44px; }
table.board .c-sub { left: 44px; width: 210px; min-width: 210px; }
table.board .c-sub .clip { width: 194px; }
table.board .c-team { left: 254px; width: 140px; min-width: 140px; box-shadow: inset -1px 0 #cfd8dc; }
table.board .c-team .clip { width: 124px; }
table.board th.group { text-align: center; border-left: 1px solid #e3e8ec; }
details.why { margin: 0; }
details.why > summary { list-style-position: inside; font-weight: 400; }
details.why .reason { white-space: normal; max-width: 360px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; white-space: nowrap; }
.tone-good { background: #2e7d32; } .tone-warn { background: #b26a00; } .tone-bad { background: #c62828; }
.tone-muted { background: #78909c; } .tone-info { background: #1565c0; }
.reason { color: #5d4037; font-size: 12px; margin-top: 2px; max-width: 360px; overflow-wrap: anywhere; }
.failure { border-left: 4px solid #c62828; background: #fff5f5; padding: 8px 12px; margin: 10px 0; overflow-wrap: anywhere; }
.failure.warn { border-color: #b26a00; background: #fff8ec; }
.correlation { font-size: 15px; margin: 4px 0 8px; }
.correlation strong { font-size: 18px; }
.none { color: #2e7d32; font-weight: 600; }
pre.log { background: #111a21; color: #e3eaef; padding: 10px 12px; border-radius: 6px; overflow: auto; max-height: 720px; ` +
  `font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0 0; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
.timeline { display: grid; grid-template-columns: 110px minmax(240px, 1fr) 250px; gap: 6px 14px; align-items: center; }
.tl-stage { font-weight: 600; }
.tl-bar { position: relative; height: 22px; background: #e8edf1; border: 1px solid #b0bec5; border-radius: 4px; overflow: hidden; }
.tl-bar.nolimit { background: repeating-linear-gradient(45deg, #f3f5f7, #f3f5f7 6px, #e8edf1 6px, #e8edf1 12px); }
.tl-elapsed { position: absolute; left: 0; top: 0; bottom: 0; }
.tl-over { position: absolute; right: 0; top: 0; bottom: 0; width: 6px; background: repeating-linear-gradient(0deg, #000 0 3px, #fff 3px 6px); opacity: .6; }
.tl-text { font-size: 13px; font-variant-numeric: tabular-nums; }
.tl-note { grid-column: 2 / 4; font-size: 12px; color: #5d4037; margin: -4px 0 4px; overflow-wrap: anywhere; }
.tl-progress { grid-column: 2 / 4; font-size: 12px; color: #37474f; margin: -4px 0 4px; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
.tl-progress.warn { border-left: 3px solid #b26a00; background: #fff8ec; padding: 2px 6px; }
.muted { color: #78909c; }
.legend { font-size: 12px; color: #546e7a; margin-top: 8px; }
.legend span.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -2px; margin: 0 4px 0 10px; }
ul.plain { list-style: none; padding: 0; margin: 0; }
header.top.operator { background: #4a1f1f; }
.operator-banner { border-left: 4px solid #b26a00; background: #fff8ec; padding: 8px 12px; margin: 10px 0; }
td.text { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; overflow-wrap: anywhere; max-width: 420px; }
`);

const OUTCOME_MEANING: Record<string, string> = {
  completed: 'the pipeline ran every stage',
  failed: 'the pipeline stopped at a failed stage',
  cancelled: 'an operator cancelled the pipeline',
  running: 'the pipeline is still running',
  unknown: 'no pipeline end recorded yet (running, or not started)',
};

/** A stage as the timeline draws it; 'running' is the stage a live pipeline is in (the team's view marks it). */
export type TimelineStage = Omit<StageView, 'outcome'> & { outcome: StageView['outcome'] | 'running' };
const STAGE_OUTCOME_TONE: Record<TimelineStage['outcome'], Tone> = { succeeded: 'good', partial: 'warn', failed: 'bad', skipped: 'muted', pending: 'muted', running: 'info' };
const TONE_BG: Record<Tone, string> = { good: '#43a047', warn: '#f0a020', bad: '#e53935', muted: '#90a4ae', info: '#1e88e5' };

/** Charged failures are red, ours (infrastructure, cancellation) grey. */
export const categoryTone = (category: FailureCategory): Tone => (FAILURE_CATEGORIES[category].charged ? 'bad' : 'muted');

/** How a submission is labelled: its failure category if it has one, else the pipeline outcome. */
export function statusOf(outcome: string, failureCategory: FailureCategory | null): { label: string; tone: Tone; title: string } {
  if (failureCategory && isFailureCategory(failureCategory)) {
    const tone: Tone = !FAILURE_CATEGORIES[failureCategory].charged ? 'muted' : outcome === 'completed' ? 'warn' : 'bad';
    return { label: failureCategory, tone, title: `${failureCategory}: ${FAILURE_CATEGORIES[failureCategory].meaning}` };
  }
  const tone: Tone = outcome === 'completed' ? 'good' : outcome === 'failed' ? 'bad' : outcome === 'running' ? 'info' : 'muted';
  return { label: outcome, tone, title: OUTCOME_MEANING[outcome] ?? outcome };
}

export function statusBadge(outcome: string, failureCategory: FailureCategory | null): SafeHtml {
  const s = statusOf(outcome, failureCategory);
  return html`<span class="badge tone-${s.tone}" title="${s.title}">${s.label}</span>`;
}

/** Where an audience's pages live: the public ones at the root, the operator ones under /operator. */
export const pathPrefix = (audience: Audience = 'public'): string => (audience === 'operator' ? '/operator' : '');
export const submissionHref = (id: string, audience: Audience = 'public'): string => `${pathPrefix(audience)}/submissions/${encodeURIComponent(id)}`;
export const trackHref = (track: string, audience: Audience = 'public'): string => `${pathPrefix(audience)}/tracks/${encodeURIComponent(track)}`;
export const overviewHref = (audience: Audience = 'public'): string => (audience === 'operator' ? '/operator' : '/');
/** The operator's page of the tracks' GPU placement (web/render-placement.ts). */
export const PLACEMENT_PAGE = '/operator/placement';

const truncate = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Fixed markup, kept apart so that the templates below stay readable. */
const OPERATOR_NOTE = trusted(
  'Logs of every stage, full failure reasons and the answers of the closed suite: nothing here may reach a participant. ' +
    'The public pages are at <a href="/">/</a>.',
);
const LOGS_WITHHELD_NOTE = trusted(
  "The logs of training and of the evaluations, the closed suite's answers and per-instance errors are shown to the competition's operators only: " +
    "a server's log may quote the hidden tasks.",
);
const STAGES_HEAD = trusted(
  '<thead><tr><th>stage</th><th>outcome</th><th>started</th><th>ended</th><th class="num">elapsed</th><th class="num">limit</th><th>details</th></tr></thead>',
);
const METRICS_HEAD = trusted(
  '<thead><tr><th>suite</th><th>scenario</th><th>column</th><th class="num">score</th><th class="num">instances</th><th class="num">answered</th>' +
    '<th class="num">of which failed</th><th class="num">unanswered</th></tr></thead>',
);
const ANSWERS_HEAD = trusted(
  '<thead><tr><th>scenario</th><th>instance</th><th class="num">score</th><th>completion</th><th>error kind</th><th>error</th>' +
    '<th class="num">attempts</th><th class="num">latency</th></tr></thead>',
);
const GENERALIZATION_HEAD = trusted(
  '<thead><tr><th>submission</th><th class="num">open</th><th class="num">closed</th><th class="num">rank open → closed</th><th>overfit check</th></tr></thead>',
);

/** `head`: extra elements for <head> (the team pages' refresh and referrer policy). */
export function layout(title: string, body: SafeHtml, crumbs: { href: string; label: string }[] = [], audience: Audience = 'public', head: SafeHtml | null = null): string {
  const operator = audience === 'operator';
  const banner = operator
    ? html`<div class="operator-banner" data-testid="operator-banner"><b>Operator view.</b> ${OPERATOR_NOTE}</div>`
    : null;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${head}
<title>${title} — challenge ${operator ? 'operator cockpit' : 'leaderboard'}</title>
<style>${STYLES}${svgStyles}</style></head>
<body><header class="top${operator ? ' operator' : ''}"><a class="brand" href="${overviewHref(audience)}">${
  operator ? 'Challenge cockpit — operator' : 'Challenge cockpit'}</a>${crumbs.map((c) => html`<a href="${c.href}">${c.label}</a>`)}</header>
<main>${banner}${body}</main></body></html>`.toString();
}

// ---------------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------------
const OUTCOME_ORDER = ['completed', 'running', 'failed', 'cancelled', 'unknown'];
const sortOutcomes = (counts: Record<string, number>): [string, number][] =>
  Object.entries(counts).sort(([a], [b]) => {
    const ia = OUTCOME_ORDER.indexOf(a);
    const ib = OUTCOME_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });

/** The operator overview's way to the GPU placement page. */
const placementLink = html`<div class="card"><a data-testid="placement-link" href="${PLACEMENT_PAGE}">GPU placement</a>: each track's hosts and slots in use,
the waiting submissions in the order they are served, and each team's GPU time per phase.</div>`;

export function renderOverview(view: OverviewView): string {
  const audience = view.audience ?? 'public';
  const totals = sortOutcomes(view.totals).map(
    ([outcome, n]) => html`<div class="stat" data-testid="outcome-total" data-outcome="${outcome}" title="${OUTCOME_MEANING[outcome] ?? outcome}"><b>${n}</b>${outcome}</div>`,
  );
  const sections = view.tracks.map((track) => {
    const rows = track.submissions.map(
      (s) => html`<tr data-testid="overview-row" data-submission="${s.submissionId}">
<td><a href="${submissionHref(s.submissionId, audience)}">${s.submissionId}</a></td><td>${s.team}</td>
<td>${statusBadge(s.outcome, s.failureCategory)}</td><td class="muted">${formatTimestamp(s.submittedAt)}</td></tr>`,
    );
    const counts = sortOutcomes(track.byOutcome).map(([outcome, n]) => html`<span data-testid="track-outcome" data-outcome="${outcome}">${outcome}: <b>${n}</b></span>`);
    return html`<section class="card" data-testid="track-section" data-track="${track.track}">
<h2><a href="${trackHref(track.track, audience)}">${track.title}</a> <span class="muted">(${track.track})</span></h2>
<p class="sub">${track.submissions.length} submission${track.submissions.length === 1 ? '' : 's'} — ${counts.map((c, i) => html`${i > 0 ? ', ' : ''}${c}`)} — <a href="${
  trackHref(track.track, audience)}">leaderboard</a></p>
<div class="scroll"><table><thead><tr><th>submission</th><th>team</th><th>status</th><th>submitted</th></tr></thead><tbody>${rows}</tbody></table></div>
</section>`;
  });
  const body = html`<h1>Overview</h1>
<p class="sub">${view.submissionCount} submission${view.submissionCount === 1 ? '' : 's'} in ${view.tracks.length} track${view.tracks.length === 1 ? '' : 's'}.</p>
<div class="card"><h2>Pipelines by outcome</h2>${totals.length > 0 ? totals : html`<p class="muted">No submissions yet.</p>`}</div>
${audience === 'operator' ? placementLink : null}
${sections}`;
  return layout('Overview', body, [], audience);
}

// ---------------------------------------------------------------------------------------------
// Track: leaderboard, scatter, failure chart
// ---------------------------------------------------------------------------------------------
export function failureBars(failures: TrackView['failures']): Bar[] {
  return FAILURE_CATEGORY_NAMES.filter((c) => (failures[c] ?? 0) > 0)
    .map((c) => ({ key: c, label: c, value: failures[c] ?? 0, tone: categoryTone(c), title: `${c}: ${failures[c] ?? 0} — ${FAILURE_CATEGORIES[c].meaning}` }))
    .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
}

export function renderTrack(view: TrackView): string {
  const { board } = view;
  const audience = view.audience ?? 'public';
  const phase = view.phase ?? 'development';
  // The final board: rows are final runs, shown under their development submission, with the reproduction column.
  const finalRows = new Map((view.final?.rows ?? []).map((r) => [r.submissionId, r]));
  // One cell per ranking scenario (its mean win rate); a scenario of several columns (MMLU: EM, robustness,
  // fairness) lists their raw metrics in the cell's title.
  type Column = (typeof board.columns)[number];
  const scenariosOf = (suite: string): { suite: Column['suite']; scenario: string; columns: string[] }[] => {
    const out: { suite: Column['suite']; scenario: string; columns: string[] }[] = [];
    for (const c of board.columns.filter((column) => column.suite === suite)) {
      const last = out.at(-1);
      if (last?.scenario === c.scenario) last.columns.push(c.column);
      else out.push({ suite: c.suite, scenario: c.scenario, columns: [c.column] });
    }
    return out;
  };
  const open = scenariosOf('open');
  const closed = scenariosOf('closed');
  const mwrCell = (row: TrackView['board']['rows'][number], c: (typeof open)[number]) => {
    const mwr = row.scenarioMeanWinRates[c.suite]?.[c.scenario];
    const title = c.columns.map((column) => `${column}: ${row.metrics[column] === null || row.metrics[column] === undefined ? 'missing' : formatScore(row.metrics[column]!)}`).join('; ');
    return html`<td class="num" data-testid="cell-mwr" data-stage="${c.suite}" data-scenario="${c.scenario}" title="${title}">${formatScore(mwr ?? null)}</td>`;
  };
  // Rank, submission and team stay in view (sticky) while the scenario columns scroll inside the table's own
  // container; the stage scores come right after them, so at 1,280 px they are in view without scrolling, and
  // a failure's reason is folded under its status so a row stays one line tall.
  const rows = board.rows.map((row) => {
    const badge = statusBadge(row.outcome, row.failureCategory);
    const status = row.failureReason
      ? html`<details class="why"><summary title="${row.failureReason}">${badge}</summary><div class="reason">${truncate(row.failureReason, 600)}</div></details>`
      : badge;
    const final = finalRows.get(row.submissionId);
    const shownId = final ? final.of : row.submissionId;
    return html`<tr data-testid="leaderboard-row" data-submission="${row.submissionId}" data-rank="${row.rank}">
<td class="num pin c-rank" data-testid="cell-rank">${row.rank}</td>
<td class="id pin c-sub"><a class="clip" href="${submissionHref(row.submissionId, audience)}" title="${row.submissionId}">${shownId}</a></td>
<td class="pin c-team"><span class="clip" title="${row.team}">${row.team}</span></td>
<td class="num" data-testid="cell-final"><b>${formatScore(row.final)}</b></td>
<td class="num" data-testid="cell-open">${formatScore(row.open)}</td>
<td class="num" data-testid="cell-closed">${formatScore(row.closed)}</td>
<td class="status" data-testid="cell-status">${status}</td>
${final ? reproductionCell(final.reproduction) : null}${open.map((c) => mwrCell(row, c))}${closed.map((c) => mwrCell(row, c))}</tr>`;
  });
  const table =
    board.rows.length === 0
      ? html`<p class="muted" data-testid="board-empty">${phase === 'final'
        ? 'No final runs on this track yet: they start when the development phase closes.'
        : 'No submissions on this track yet.'}</p>${view.final ? finalLegend(view.final) : null}`
      : html`<div class="scroll board-scroll" data-testid="leaderboard-scroll"><table class="board" data-testid="leaderboard">
<thead><tr><th rowspan="2" class="num pin c-rank" data-testid="head-rank">#</th><th rowspan="2" class="pin c-sub" data-testid="head-submission">submission</th>
<th rowspan="2" class="pin c-team" data-testid="head-team">team</th><th colspan="3" class="num">stage scores</th><th rowspan="2" data-testid="head-status">status</th>${
  view.final ? html`<th rowspan="2" data-testid="head-reproduction">reproduction</th>` : null}
${open.length > 0 ? html`<th colspan="${open.length}" class="num group">open — scenario mean win rate</th>` : null}
${closed.length > 0 ? html`<th colspan="${closed.length}" class="num group">closed — scenario mean win rate</th>` : null}</tr>
<tr><th class="num" data-testid="head-final">final</th><th class="num" data-testid="head-open">open</th><th class="num" data-testid="head-closed">closed</th>${
  [...open, ...closed].map((c) => html`<th class="num" data-testid="head-scenario" title="${c.columns.join('; ')}">${c.scenario}</th>`)}</tr></thead>
<tbody>${rows}</tbody></table></div>
<p class="legend">Win rates over the ${board.rows.length} ${phase === 'final' ? 'final runs' : 'submissions'} of the track; hover a cell for the raw metric. Final = ⅓ open + ⅔ closed. Rules: ${
  board.rulesVersion}.</p>${view.final ? finalLegend(view.final) : null}`;

  const points = board.rows.map((row) => {
    const s = statusOf(row.outcome, row.failureCategory);
    return {
      id: row.submissionId,
      label: row.submissionId,
      x: row.open,
      y: row.closed,
      tone: s.tone,
      href: submissionHref(row.submissionId, audience),
      title: `#${row.rank} ${row.submissionId} (${s.label}): open ${formatScore(row.open)}, closed ${formatScore(row.closed)}`,
    };
  });
  const correlation = formatCorrelation(view.correlation, board.rows.length);
  const scatter = html`<section class="card"><h2>Open vs closed stage score</h2>
<p class="correlation">Pearson r = <strong data-testid="correlation">${correlation}</strong> <span class="muted">over ${board.rows.length} submission${
  board.rows.length === 1 ? '' : 's'}${board.rows.length < 3 ? ' (needs at least 3)' : ''}</span></p>
${scatterSvg(points, { xLabel: 'open stage score', yLabel: 'closed stage score', format: formatScore })}
<p class="legend">Dashed line: closed = open. Points below it did worse on the hidden tasks than on the published ones.</p></section>`;

  const bars = failureBars(view.failures);
  const failures = html`<section class="card"><h2>Failure categories</h2>
${bars.length === 0
  ? html`<p class="none" data-testid="failure-none">none — every submission of the track succeeded</p>`
  : horizontalBarsSvg(bars, { testId: 'failure-bar', ariaLabel: 'failures per category' })}
<p class="legend">Red: charged to the participant; grey: our infrastructure or an operator. Hover a bar for what the category means.</p></section>`;

  const counted = phase === 'final' ? `final run${board.rows.length === 1 ? '' : 's'}` : `submission${board.rows.length === 1 ? '' : 's'}`;
  const body = html`<h1>${phase === 'final' ? 'Final leaderboard' : 'Leaderboard'} — ${view.title}</h1>
${phaseBanner(view.banner, phase)}
${phaseSwitch(view.track, phase, audience)}
<p class="sub">track <code>${view.track}</code> · ${board.rows.length} ${counted}${
  // the suites' stop-sequence rule (Suite.stopSequences): whether completions were cut before scoring
  html` · <span data-testid="stop-rule">${describeStopRule(board.stopSequences)}</span>`}</p>
<section class="card" data-testid="board-card" data-phase="${phase}">${table}</section>
<div class="cards">${scatter}${failures}</div>
${generalizationCard(view.generalization, audience)}`;
  return layout(`${phase === 'final' ? 'Final leaderboard' : 'Leaderboard'} ${view.track}`, body, [{ href: trackPhaseHref(view.track, phase, audience), label: `track ${view.track}` }], audience);
}

// ---------------------------------------------------------------------------------------------
// Submission: timeline, metrics, failure, logs
// ---------------------------------------------------------------------------------------------
function stageFacts(stage: TimelineStage): string[] {
  const d = stage.details ?? {};
  const facts: string[] = [];
  const num = (key: string): number | null => (typeof d[key] === 'number' ? (d[key] as number) : null);
  const total = num('total');
  const answered = num('answered');
  if (total !== null && answered !== null) {
    const failed = num('failed') ?? 0;
    const unanswered = num('unanswered');
    facts.push(`answered ${answered - failed} of ${total}, ${failed} failed${unanswered !== null ? `, ${unanswered} unanswered` : ''}`);
  }
  const progress = d.progress;
  if (progress && typeof progress === 'object') {
    const p = progress as Record<string, unknown>;
    if (typeof p.step === 'number') facts.push(`step ${p.step}${typeof p.totalSteps === 'number' ? ` of ${p.totalSteps}` : ''}`);
    if (typeof p.checkpoint === 'string' && p.checkpoint) facts.push(`checkpoint ${p.checkpoint}`);
  }
  if (num('artifactFiles') !== null) facts.push(`${num('artifactFiles')} artifact files`);
  if (d.oomRetry === true) facts.push('retried after OOM');
  if (typeof d.step === 'string' && d.step) facts.push(`step: ${d.step}`);
  return facts;
}

/** An evaluation stage's progress under its bar: answered/total, rate, projected end vs limit (marked when past it), the probe's prediction. */
function progressNote(stage: TimelineStage): SafeHtml | null {
  const progress = stage.progress;
  if (!progress || progress.lines.length === 0) return null;
  return html`<div class="tl-progress${progress.pastLimit ? ' warn' : ''}" data-testid="stage-progress" data-stage="${stage.stage}" data-past-limit="${
    progress.pastLimit ? 'yes' : 'no'}">${progress.lines.map((line, i) => html`${i > 0 ? trusted('<br>') : null}${line}`)}</div>`;
}

export function timeline(stages: readonly TimelineStage[]): SafeHtml {
  const maxElapsed = Math.max(1, ...stages.map((s) => s.elapsedMs ?? 0));
  const rows = stages.map((s) => {
    const tone = STAGE_OUTCOME_TONE[s.outcome];
    const hasLimit = s.limitMs !== null && s.limitMs > 0;
    const scale = hasLimit ? s.limitMs! : maxElapsed;
    const fraction = s.elapsedMs === null ? 0 : Math.min(1, s.elapsedMs / scale);
    const over = hasLimit && s.elapsedMs !== null && s.elapsedMs > s.limitMs!;
    const notRun = s.outcome === 'skipped' ? 'skipped' : s.outcome === 'pending' ? 'not run yet' : s.outcome === 'running' ? 'running now' : '—';
    const elapsedText = s.elapsedMs === null ? notRun : formatSpan(s.elapsedMs);
    const limitText = hasLimit ? formatDuration(s.limitMs!) : 'no limit';
    const share = hasLimit && s.elapsedMs !== null ? ` (${percent(s.elapsedMs / s.limitMs!)})` : '';
    const note =
      s.failureCategory || s.reason
        ? html`<div class="tl-note">${s.failureCategory ? html`<span class="badge tone-${FAILURE_CATEGORIES[s.failureCategory].charged ? tone : 'muted'}" title="${
          FAILURE_CATEGORIES[s.failureCategory].meaning}">${s.failureCategory}</span> ` : null}${s.reason}</div>`
        : null;
    return html`<div class="tl-stage">${s.stage}<br><span class="badge tone-${tone}">${s.outcome}</span></div>
<div class="tl-bar${hasLimit ? '' : ' nolimit'}" data-testid="timeline-bar" data-stage="${s.stage}" data-outcome="${s.outcome}" data-elapsed-ms="${
  s.elapsedMs ?? ''}" data-limit-ms="${s.limitMs ?? ''}" title="${s.stage}: ${elapsedText} of ${limitText}">
<div class="tl-elapsed" data-testid="timeline-elapsed" style="width: ${(fraction * 100).toFixed(1)}%; background: ${TONE_BG[tone]}"></div>${
  over ? html`<div class="tl-over" title="over the limit"></div>` : null}</div>
<div class="tl-text" data-testid="timeline-text" data-stage="${s.stage}">${elapsedText}${s.elapsedMs === null ? '' : hasLimit ? html` of ${limitText}${
  share}` : html` <span class="muted">(no limit)</span>`}${s.elapsedMs === null && hasLimit ? html` <span class="muted">(limit ${limitText})</span>` : null}</div>
${note}${progressNote(s)}`;
  });
  return html`<div class="timeline" data-testid="timeline">${rows}</div>
<p class="legend">Grey bar: the stage's limit; coloured bar: time it ran
<span class="sw" style="background:${TONE_BG.good}"></span>succeeded<span class="sw" style="background:${
  TONE_BG.warn}"></span>partial<span class="sw" style="background:${TONE_BG.bad}"></span>failed</p>`;
}

export function stageTable(stages: readonly TimelineStage[]): SafeHtml {
  const rows = stages.map(
    (s) => html`<tr data-testid="stage-row" data-stage="${s.stage}"><td>${s.stage}</td><td><span class="badge tone-${STAGE_OUTCOME_TONE[s.outcome]}">${s.outcome}</span></td>
<td class="muted">${formatTimestamp(s.startedAt)}</td><td class="muted">${formatTimestamp(s.endedAt)}</td>
<td class="num">${s.elapsedMs === null ? '—' : formatSpan(s.elapsedMs)}</td><td class="num">${s.limitMs === null ? '—' : formatDuration(s.limitMs)}</td>
<td>${stageFacts(s).join('; ')}</td></tr>`,
  );
  return html`<div class="scroll"><table>${STAGES_HEAD}<tbody>${rows}</tbody></table></div>`;
}

function metricsTable(view: SubmissionView): SafeHtml {
  if (view.scores.length === 0) return html`<p class="muted" data-testid="no-metrics">No scenario scores recorded (no evaluation ran to the end).</p>`;
  const rows = view.scores.map(
    (s) => html`<tr data-testid="metric-row" data-suite="${s.suite}" data-scenario="${s.scenario}"><td>${s.suite}</td><td>${s.scenario}</td><td>${s.column}</td>
<td class="num" data-testid="metric-score">${formatScore(s.score)}</td><td class="num">${s.instances}</td><td class="num">${s.answered}</td><td class="num">${
  s.failed}</td><td class="num">${Math.max(0, s.instances - s.answered)}</td></tr>`,
  );
  return html`<div class="scroll"><table data-testid="metrics">${METRICS_HEAD}<tbody>${rows}</tbody></table></div>`;
}

function logSection(logs: LogView[], stages: StageView[], audience: Audience): SafeHtml {
  const note =
    audience === 'public'
      ? html`<p class="legend" data-testid="logs-withheld">Only the ${
        PUBLIC_LOG_STAGES.join(', ')} log is public. ${LOGS_WITHHELD_NOTE}</p>`
      : null;
  if (logs.length === 0) return html`<p class="muted">No log excerpt recorded and no log file found.</p>${note}`;
  return html`${logs.map((log) => {
    const stage = stages.find((s) => s.stage === log.stage);
    const open = stage === undefined || stage.outcome === 'failed' || stage.outcome === 'partial' || logs.length === 1;
    const source = log.source === 'details' ? 'excerpt recorded by the stage' : 'last lines of the log file';
    return html`<details${open ? trusted(' open') : null}><summary>${log.stage} <span class="muted">(${source})</span></summary>
<pre class="log" data-testid="log-excerpt" data-stage="${log.stage}">${log.text}</pre></details>`;
  })}${note}`;
}

/** Operator view: the persisted answers of each suite, the failed ones first, at most `ANSWER_ROWS` per suite. */
export const ANSWER_ROWS = 300;
function answersSection(answers: AnswersView[]): SafeHtml {
  return html`${answers.map((suite) => {
    const ordered = [...suite.answers.filter((a) => a.completion === null), ...suite.answers.filter((a) => a.completion !== null)];
    const shown = ordered.slice(0, ANSWER_ROWS);
    const rows = shown.map(
      (a) => html`<tr data-testid="answer-row" data-suite="${suite.suite}" data-scenario="${a.scenario}" data-instance="${a.instanceId}"><td>${a.scenario}</td><td>${a.instanceId}</td>
<td class="num">${formatScore(a.score)}</td><td class="text" data-testid="answer-completion">${a.completion === null ? html`<span class="muted">none</span>` : truncate(a.completion, 400)}</td>
<td>${a.errorKind ?? ''}</td><td class="text" data-testid="answer-error">${a.error === null ? '' : truncate(a.error, 600)}</td><td class="num">${
  a.attempts}</td><td class="num">${formatSpan(a.latencyMs)}</td></tr>`,
    );
    return html`<details${suite.failed > 0 ? trusted(' open') : null} data-testid="answers" data-suite="${suite.suite}"><summary>${suite.suite} suite: ${
      suite.count} answer${suite.count === 1 ? '' : 's'}, ${suite.failed} without a valid completion</summary>
${suite.count === 0 ? html`<p class="muted">No answer persisted.</p>` : html`<div class="scroll"><table>${ANSWERS_HEAD}<tbody>${rows}</tbody></table></div>`}
${ordered.length > shown.length ? html`<p class="legend">${shown.length} of ${
  ordered.length} shown (failed ones first); the JSON at /api/operator/submissions/&lt;id&gt; has them all.</p>` : null}</details>`;
  })}`;
}

/** Open vs closed on the mean scenario metric of evaluated submissions: correlations, rank shifts, overfit flags. */
function generalizationCard(report: TrackView['generalization'], audience: Audience): SafeHtml {
  const estimate = (name: string, e: TrackView['generalization']['pearson']) =>
    html`<tr><td>${name}</td><td class="num" data-testid="generalization-${name.toLowerCase()}">${e.value === null ? 'n/a' : e.value.toFixed(3)}</td><td class="num">${
      e.ci ? `[${e.ci.low.toFixed(3)}, ${e.ci.high.toFixed(3)}]` : 'n/a'}</td></tr>`;
  const rows = report.submissions.map(
    (s) => html`<tr data-testid="generalization-row" data-submission="${s.submissionId}" data-overfit="${s.overfit ? 'yes' : 'no'}">
<td class="id"><a href="${submissionHref(s.submissionId, audience)}">${s.submissionId}</a></td><td class="num">${formatScore(s.open)}</td><td class="num">${formatScore(s.closed)}</td>
<td class="num">${s.openRank} → ${s.closedRank}</td><td>${s.overfit ? html`<span class="badge tone-bad">overfit</span> ` : null}<span class="muted">${s.reason}</span></td></tr>`,
  );
  return html`<section class="card" data-testid="generalization"><h2>Generalization: open vs closed</h2>
<p class="legend">Mean scenario metric per stage over the ${report.n} evaluated submission${report.n === 1 ? '' : 's'}; ${
  Math.round(report.confidence * 100)}% bootstrap intervals (${report.resamples} resamples). In 2023: −0.08 on the 4090 track, 0.18 on A100.</p>
<table><thead><tr><th>correlation</th><th class="num">value</th><th class="num">interval</th></tr></thead><tbody>${estimate('Pearson', report.pearson)}${
  estimate('Spearman', report.spearman)}${estimate('Kendall', report.kendall)}</tbody></table>
${report.submissions.length === 0 ? html`<p class="muted">No evaluated submission yet.</p>` : html`<div class="scroll"><table>${GENERALIZATION_HEAD}<tbody>${rows}</tbody></table></div>`}</section>`;
}

function efficiencyCard(figures: SubmissionView['efficiency']): SafeHtml {
  const t = figures.training;
  const e = figures.evaluation;
  const l = figures.latency;
  const row = (label: string, value: string) => html`<tr><td>${label}</td><td data-testid="efficiency-${label.split(' ')[0]}">${value}</td></tr>`;
  return html`<section class="card" data-testid="efficiency"><h2>Efficiency</h2><table><tbody>
${row('training wall time', t ? `${formatSpan(t.wallTimeSeconds * 1000)} on ${t.gpus} GPU${t.gpus === 1 ? '' : 's'} (${t.gpuHours.toFixed(3)} GPU-hours)` : '—')}
${row('evaluation throughput', e ? `${e.instances} instances in ${formatSpan(e.wallTimeSeconds * 1000)}${e.instancesPerSecond === null ? '' : ` = ${
  e.instancesPerSecond.toFixed(2)} instances/s`}` : '—')}
${row('latency p50 / p95', l ? `${l.p50Ms.toFixed(0)} ms / ${l.p95Ms.toFixed(0)} ms over ${l.count} requests` : '—')}
${row('peak container memory', figures.peakMemory?.formatted ?? '—')}
</tbody></table></section>`;
}

export function renderSubmission(view: SubmissionView): string {
  const { submission: s, pipeline } = view;
  const audience = view.audience ?? 'public';
  const failedStage = view.stages.find((st) => st.failureCategory !== null && st.failureCategory !== 'Cancelled') ?? view.stages.find((st) => st.failureCategory !== null);
  const category = pipeline?.failureCategory ?? failedStage?.failureCategory ?? null;
  const outcome = pipeline?.outcome ?? 'unknown';
  const reason = failedStage?.reason ?? pipeline?.reason ?? null;
  const failure =
    category || reason
      ? html`<div class="failure${outcome === 'completed' ? ' warn' : ''}" data-testid="failure">
<b>${category ?? 'Failure'}</b>${failedStage ? html` in stage <b>${failedStage.stage}</b>` : null}${category ? html` <span class="muted">— ${
  FAILURE_CATEGORIES[category].meaning}${FAILURE_CATEGORIES[category].charged ? '' : ' (not charged)'}</span>` : null}
<div data-testid="failure-reason">${reason ?? ''}</div></div>`
      : null;
  const standing = view.standing
    ? html`<p data-testid="standing">Rank <b>${view.standing.rank}</b> of ${view.standing.of} on <a href="${trackHref(s.track, audience)}">track ${s.track}</a> · open ${
      formatScore(view.standing.open)} · closed ${formatScore(view.standing.closed)} · final <b>${formatScore(view.standing.final)}</b></p>`
    : null;
  const link = view.workflowUrl ? html`<p><a data-testid="temporal-link" href="${view.workflowUrl}">Open workflow ${s.workflowId} in the Temporal Web UI</a></p>` : null;
  const body = html`<h1 data-testid="submission-id">${s.submissionId}</h1>
<p class="sub">team <b>${s.team}</b> · submission <b>${s.name}</b> · track <a href="${trackHref(s.track, audience)}">${s.track}</a> · submitted ${
  formatTimestamp(s.submittedAt)} · ${statusBadge(outcome, category)}</p>
${failure}
<section class="card">${standing}${link}${standing || link ? null : html`<p class="muted">Not ranked yet.</p>`}</section>
<section class="card"><h2>Stages: time used against each limit</h2>${timeline(view.stages)}<h3>Stage details</h3>${stageTable(view.stages)}</section>
<section class="card"><h2>Scenario scores</h2>${metricsTable(view)}</section>
${efficiencyCard(view.efficiency)}
<section class="card"><h2>Logs</h2>${logSection(view.logs, view.stages, audience)}</section>
${audience === 'operator' && view.answers ? html`<section class="card" data-testid="answers-section"><h2>Answers</h2>${answersSection(view.answers)}</section>` : null}`;
  return layout(
    `Submission ${s.submissionId}`,
    body,
    [
      { href: trackHref(s.track, audience), label: `track ${s.track}` },
      { href: submissionHref(s.submissionId, audience), label: s.submissionId },
    ],
    audience,
  );
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------
export function renderNotFound(message: string): string {
  return layout('Not found', html`<h1>Not found</h1><div class="failure" data-testid="not-found">${message}</div><p><a href="/">Back to the overview</a></p>`);
}

export function renderError(message: string): string {
  return layout('Error', html`<h1>Something went wrong</h1><div class="failure" data-testid="server-error">${message}</div><p><a href="/">Back to the overview</a></p>`);
}

export function renderUnauthorized(message: string): string {
  return layout('Operator sign-in needed', html`<h1>Operator pages</h1><div class="failure" data-testid="unauthorized">${message}</div><p><a href="/">The public leaderboard</a></p>`);
}
