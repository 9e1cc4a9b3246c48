/**
 * The team's own pages (/team), as pure functions from the views of web/team-data.ts to HTML strings:
 * the sign-in form, the team's submissions with their quota, and one submission in detail. Same layout,
 * escaping and timeline as the public pages (web/render.ts); no scripts: a page showing a running pipeline
 * reloads itself with a meta refresh, and each page asks for a same-origin referrer policy so that the
 * browser sends the Origin of its form posts (the server's default header says no-referrer).
 */
import { FAILURE_CATEGORIES } from '../domain/failures.js';
import { formatDuration } from '../domain/units.js';
import { formatScore, formatTimestamp, html, trusted, type SafeHtml } from './html.js';
import { layout, stageTable, statusBadge, timeline } from './render.js';
import type { OpenScore, TeamOverview, TeamStageView, TeamSubmissionDetail, TeamSubmissionSummary } from './team-data.js';
import { reproductionSummary } from './render-final.js';
import { FINAL_RULE, type TeamFinal } from './team-final.js';
import { teamGpuCard } from './render-team-gpu.js';
import type { TeamQueueView } from './team-placement.js';

/** Seconds between reloads of a page that shows a running pipeline. */
export const REFRESH_SECONDS = 5;
/** Open-suite answers listed on a detail page (the JSON API has them all). */
export const TEAM_ANSWER_ROWS = 300;

export const teamSubmissionHref = (id: string): string => `/team/submissions/${encodeURIComponent(id)}`;

const REFERRER = trusted('<meta name="referrer" content="same-origin">');
const REFRESH = trusted(`<meta http-equiv="refresh" content="${REFRESH_SECONDS}">`);
const WITHHELD_NOTE = trusted(
  "The closed evaluation's log, answers and scores are withheld from every team, yours included: a server's log may quote the hidden tasks. " +
    'Its failure reason is rebuilt from counts and the failure category.',
);

function page(title: string, body: SafeHtml, options: { team?: string; refresh?: boolean } = {}): string {
  const crumbs = options.team ? [{ href: '/team', label: `team ${options.team}` }] : [{ href: '/team', label: 'team sign-in' }];
  return layout(title, body, crumbs, 'public', html`${REFERRER}${options.refresh ? REFRESH : null}`);
}

function signOutForm(csrf: string): SafeHtml {
  return html`<form method="post" action="/team/sign-out" data-testid="sign-out-form" class="sign-out"><input type="hidden" name="csrf" value="${csrf}">
<button type="submit" data-testid="sign-out">Sign out</button></form>`;
}

/** The sign-in form; `message` says why the last try did not sign in. */
export function renderSignIn(csrf: string, message: string | null = null): string {
  const failure = message ? html`<div class="failure" data-testid="sign-in-error">${message}</div>` : null;
  const body = html`<h1>Team sign-in</h1>
<p class="sub">Sign in with your team token (the <code>cht_…</code> string the organizers gave you) to see your submissions, open-suite scores and quota.</p>
${failure}
<section class="card"><form method="post" action="/team/sign-in" data-testid="sign-in-form">
<input type="hidden" name="csrf" value="${csrf}">
<label for="token"><b>Team token</b></label><br>
<input id="token" name="token" type="password" autocomplete="off" required size="60" data-testid="token">
<button type="submit" data-testid="sign-in">Sign in</button></form>
<p class="legend">The session lasts 12 hours and ends when you sign out, or when your token is rotated.</p></section>`;
  return page('Team sign-in', body);
}

const scoreList = (scores: OpenScore[]): SafeHtml =>
  scores.length === 0
    ? html`<span class="muted">—</span>`
    : html`${scores.map((s, i) => html`${i > 0 ? ', ' : ''}<span data-testid="team-open-score" data-scenario="${s.scenario}" data-column="${s.column}" title="${s.column}: ${
      s.answered} of ${s.instances} answered, ${s.failed} failed">${s.scenario} <b>${formatScore(s.score)}</b></span>`)}`;

const STAGE_TONE: Record<TeamStageView['outcome'], string> = { succeeded: 'good', partial: 'warn', failed: 'bad', skipped: 'muted', pending: 'muted', running: 'info' };
/** The running evaluation's progress under the badges (its lines: answered/total, rate, projected end, the warning, the probe's line). */
function runningProgress(s: TeamSubmissionSummary): SafeHtml | null {
  const running = s.stages.find((st) => st.outcome === 'running' && st.progress && st.progress.lines.length > 0);
  if (!running?.progress) return null;
  const { progress } = running;
  return html`<div class="reason${progress.pastLimit ? ' warn' : ''}" data-testid="team-progress" data-stage="${running.stage}" data-past-limit="${
    progress.pastLimit ? 'yes' : 'no'}">${progress.lines.map((line, i) => html`${i > 0 ? trusted('<br>') : null}${line}`)}</div>`;
}

const stageBadges = (s: TeamSubmissionSummary): SafeHtml =>
  html`${s.stages.map((st) => html`<span class="badge tone-${STAGE_TONE[st.outcome]}" data-testid="team-stage" data-stage="${
    st.stage}" data-outcome="${st.outcome}" title="${st.stage}: ${st.outcome}">${st.stage}</span> `)}${runningProgress(s)}`;

function refundCell(s: TeamSubmissionSummary): SafeHtml {
  const why = s.refundReason?.replace(/^refunded:\s*/, '') ?? '';
  if (s.refunded) return html`<span data-testid="refund" data-refunded="yes"><b>refunded</b>${why ? html`: ${why}` : null}</span>`;
  return html`<span class="muted" data-testid="refund" data-refunded="no">${s.intakeId === '' ? 'not an upload' : s.usesGrant ? 'counted (on a grant)' : 'counted'}</span>`;
}

function quotaCard(view: TeamOverview): SafeHtml {
  if (!view.phase) return html`<section class="card" data-testid="quota"><h2>Quota</h2><p class="muted">No phase takes submissions now.</p></section>`;
  const rows = view.quotas.map(
    (q) => html`<tr data-testid="quota-row" data-track="${q.track}"><td>${q.track}</td>
<td class="num" data-testid="quota-used">${q.used} of ${q.perWindow}</td><td class="num">${q.perPhase === null ? `${q.usedInPhase} (no phase total)` : `${q.usedInPhase} of ${q.perPhase}`}</td>
<td class="num" data-testid="quota-left"><b>${q.left}</b>${q.grantsLeft > 0 ? html` <span class="muted">(${q.grantsLeft} granted)</span>` : null}</td>
<td data-testid="quota-reset">${q.nextSlotAt === null ? html`<span class="muted">no submission in the window</span>` : formatTimestamp(q.nextSlotAt)}</td></tr>`,
  );
  const windowMs = view.quotas[0]?.windowMs ?? 0;
  const window = windowMs % 3_600_000 === 0 ? `${windowMs / 3_600_000} h` : formatDuration(windowMs);
  const grants = view.grants.map(
    (g) => html`<li data-testid="grant">${formatTimestamp(g.at)}: <b>${g.amount}</b> extra in phase ${g.phase}, by ${g.grantedBy} — ${g.reason}</li>`,
  );
  return html`<section class="card" data-testid="quota"><h2>Quota — phase ${view.phase.title ?? view.phase.id}</h2>
<p class="sub">Phase <code>${view.phase.id}</code> closes ${formatTimestamp(view.phase.closesAt)}. Refunded submissions (failures that were not yours) do not count.</p>
<div class="scroll"><table><thead><tr><th>track</th><th class="num">used in any ${window}</th><th class="num">used in the phase</th><th class="num">left now</th><th>next slot frees</th></tr></thead>
<tbody>${rows}</tbody></table></div>
${grants.length > 0 ? html`<h3>Grants</h3><ul class="plain">${grants}</ul>` : null}</section>`;
}

/** The team's finalists whose training the platform re-ran, with the verdict. */
function reproductionCard(submissions: readonly TeamSubmissionSummary[]): SafeHtml | null {
  const reproduced = submissions.filter((s) => s.reproduction !== null);
  if (reproduced.length === 0) return null;
  const items = reproduced.map(
    (s) => html`<li data-testid="team-reproduction" data-submission="${s.submissionId}" data-state="${s.reproduction!.state}"><a href="${teamSubmissionHref(s.submissionId)}">${
      s.submissionId}</a> (${s.track}): ${reproductionSummary({ state: s.reproduction!.state, reason: s.reproduction!.reason }, {
      submitted: s.reproduction!.finalSubmitted,
      reproduced: s.reproduction!.finalReproduced,
    })}</li>`,
  );
  return html`<section class="card" data-testid="reproduction"><h2>Reproduction of your finalist</h2>
<p class="sub">The organizers re-ran your Dockerfile.train from the stored source and evaluated what it produced against the scores you submitted.</p>
<ul class="plain">${items}</ul></section>`;
}

/**
 * The overview's part about the finals (web/team-pages.ts fills it): the choice per track in the phase that takes
 * uploads now, the CSRF value of the "Choose as final" forms, and what became of the last choice posted.
 */
export interface FinalSection {
  finals: readonly TeamFinal[];
  csrf: string;
  /** After a choice was recorded (the redirect to /team names it). */
  notice?: string | null;
  /** Why the choice just posted was refused (names the submission and what to do). */
  refusal?: string | null;
}

const NOTICE_STYLE = 'border-left: 4px solid #2e7d32; background: #f1f8f1; padding: 8px 12px; margin: 10px 0;';

/** What goes to the finals for one track, given the team's choice and that submission's outcome. */
function finalNote(final: TeamFinal, chosen: TeamSubmissionSummary | undefined): string {
  const fallback = `your latest completed submission of phase ${final.phase} for ${final.track} is used`;
  if (final.submissionId === null) return `none chosen yet: ${fallback}`;
  const outcome = chosen?.outcome ?? 'running';
  if (outcome === 'completed') return 'it completed, so it goes to the finals';
  if (outcome === 'running') return `it goes to the finals if its pipeline completes; else ${fallback}`;
  return `it did not complete (${outcome}), so ${fallback} unless you choose another`;
}

function finalCard(view: TeamOverview, section: FinalSection): SafeHtml {
  const notice = section.notice ? html`<div style="${NOTICE_STYLE}" data-testid="final-notice">${section.notice}</div>` : null;
  const refusal = section.refusal ? html`<div class="failure" data-testid="final-refused">${section.refusal}</div>` : null;
  if (section.finals.length === 0) {
    return html`<section class="card" data-testid="finals"><h2>Final submission</h2>${notice}${refusal}
<p class="muted">No phase takes uploads now, so the final submission can no longer be chosen.</p></section>`;
  }
  const rows = section.finals.map((f) => {
    const chosen = f.submissionId === null ? undefined : view.submissions.find((s) => s.submissionId === f.submissionId);
    const cell =
      f.submissionId === null
        ? html`<span class="muted">none chosen</span>`
        : html`<a href="${teamSubmissionHref(f.submissionId)}">${f.submissionId}</a>${chosen ? html` ${statusBadge(chosen.outcome, chosen.failureCategory)}` : null}${
          f.chosenAt ? html` <span class="muted">chosen ${formatTimestamp(f.chosenAt)}</span>` : null}`;
    return html`<tr data-testid="final-row" data-track="${f.track}" data-submission="${f.submissionId ?? ''}"><td>${f.track}</td><td data-testid="final-choice">${cell}</td>
<td data-testid="final-note">${finalNote(f, chosen)}</td></tr>`;
  });
  return html`<section class="card" data-testid="finals"><h2>Final submission — phase ${section.finals[0]!.phase}</h2>${notice}${refusal}
<p class="sub">Choose, per track, which of this phase's uploads goes to the finals ("Choose as final" in the list below); the latest choice counts. The rule: ${FINAL_RULE}.</p>
<div class="scroll"><table><thead><tr><th>track</th><th>your choice</th><th>what goes to the finals</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

/** A submission's cell in the "final" column: chosen, the form that chooses it, or nothing (not an upload of this phase). */
function finalCell(s: TeamSubmissionSummary, section: FinalSection): SafeHtml {
  if (s.chosenFinal) return html`<span class="badge tone-good" data-testid="final-chosen">final for ${s.track}</span>`;
  if (!s.finalChoosable) return html`<span class="muted">—</span>`;
  return html`<form method="post" action="/team/final" data-testid="choose-final-form"><input type="hidden" name="submissionId" value="${s.submissionId}">
<input type="hidden" name="csrf" value="${section.csrf}"><button type="submit" data-testid="choose-final" style="white-space: nowrap">Choose as final</button></form>`;
}

/** The team's page: quota per track, the final choices (with `final`), its GPU time and queue (with `queue`), and every submission it uploaded. */
export function renderTeamOverview(view: TeamOverview, signOutCsrf: string, final?: FinalSection, queue?: TeamQueueView): string {
  const rows = view.submissions.map(
    (s) => html`<tr data-testid="team-submission-row" data-submission="${s.submissionId}" data-outcome="${s.outcome}">
<td class="id"><a href="${teamSubmissionHref(s.submissionId)}">${s.submissionId}</a></td><td>${s.track}</td><td class="muted">${formatTimestamp(s.acceptedAt)}</td>
<td data-testid="team-status">${statusBadge(s.outcome, s.failureCategory)}</td><td>${stageBadges(s)}</td><td>${scoreList(s.openScores)}</td><td>${refundCell(s)}</td>${
  final ? html`<td data-testid="final-cell">${finalCell(s, final)}</td>` : null}</tr>`,
  );
  const list =
    view.submissions.length === 0
      ? html`<p class="muted" data-testid="no-submissions">No submissions yet: upload one with <code>POST /api/team/submissions</code> (see the participants' guide).</p>`
      : html`<div class="scroll"><table data-testid="team-submissions"><thead><tr><th>submission</th><th>track</th><th>accepted</th><th>status</th><th>stages</th>
<th>open-suite scores</th><th>quota</th>${final ? html`<th>final</th>` : null}</tr></thead><tbody>${rows}</tbody></table></div>`;
  const body = html`<h1 data-testid="team-name">Team ${view.team}</h1>${signOutForm(signOutCsrf)}
${view.running && !final?.refusal ? html`<p class="legend" data-testid="refreshing">A pipeline is running: this page reloads every ${REFRESH_SECONDS} s.</p>` : null}
${reproductionCard(view.submissions)}
${final ? finalCard(view, final) : null}
${quotaCard(view)}
${queue ? teamGpuCard(queue) : null}
<section class="card"><h2>Submissions</h2>${list}</section>`;
  // A refusal answers a POST: a reload would repeat it as a GET of /team/final, so that page does not refresh itself.
  return page(`Team ${view.team}`, body, { team: view.team, refresh: view.running && !final?.refusal });
}

/** One submission of the team: stages against their limits, open-suite scores and answers, the logs it may read. */
export function renderTeamSubmission(view: TeamSubmissionDetail, signOutCsrf: string): string {
  const failed = view.stages.find((st) => st.failureCategory !== null && st.failureCategory !== 'Cancelled') ?? view.stages.find((st) => st.failureCategory !== null);
  const category = view.failureCategory ?? failed?.failureCategory ?? null;
  const reason = failed?.reason ?? view.reason;
  const failure =
    category || reason
      ? html`<div class="failure${view.outcome === 'completed' ? ' warn' : ''}" data-testid="failure"><b>${category ?? 'Failure'}</b>${
        failed ? html` in stage <b>${failed.stage}</b>` : null}${category ? html` <span class="muted">— ${FAILURE_CATEGORIES[category].meaning}${
          FAILURE_CATEGORIES[category].charged ? '' : ' (not charged)'}</span>` : null}<div data-testid="failure-reason">${reason ?? ''}</div></div>`
      : null;
  const scores =
    view.openScores.length === 0
      ? html`<p class="muted" data-testid="no-metrics">No open-suite scores recorded yet.</p>`
      : html`<div class="scroll"><table><thead><tr><th>scenario</th><th>column</th><th class="num">score</th><th class="num">instances</th><th class="num">answered</th>
<th class="num">of which failed</th></tr></thead><tbody>${view.openScores.map(
          (s) => html`<tr data-testid="metric-row" data-suite="open" data-scenario="${s.scenario}"><td>${s.scenario}</td><td>${s.column}</td><td class="num" data-testid="metric-score">${
            formatScore(s.score)}</td><td class="num">${s.instances}</td><td class="num">${s.answered}</td><td class="num">${s.failed}</td></tr>`,
        )}</tbody></table></div>`;
  const shown = view.openAnswers.slice(0, TEAM_ANSWER_ROWS);
  const answers =
    view.openAnswers.length === 0
      ? html`<p class="muted">No open-suite answer recorded.</p>`
      : html`<details data-testid="open-answers"><summary>${view.openAnswers.length} open-suite answer${view.openAnswers.length === 1 ? '' : 's'}</summary>
<div class="scroll"><table><thead><tr><th>scenario</th><th>instance</th><th class="num">score</th><th>completion</th></tr></thead><tbody>${shown.map(
  (a) => html`<tr data-testid="answer-row" data-suite="open" data-scenario="${a.scenario}" data-instance="${a.instanceId}"><td>${a.scenario}</td><td>${
    a.instanceId}</td><td class="num">${formatScore(a.score)}</td><td class="text">${a.completion === null ? html`<span class="muted">none</span>` : a.completion}</td></tr>`,
)}</tbody></table></div>${shown.length < view.openAnswers.length ? html`<p class="legend">${shown.length} of ${
  view.openAnswers.length} shown; GET /api/team/submissions/&lt;id&gt; has them all.</p>` : null}</details>`;
  const logs =
    view.logs.length === 0
      ? html`<p class="muted">No log excerpt recorded and no log file found.</p>`
      : html`${view.logs.map((log) => html`<details open><summary>${log.stage} <span class="muted">(${
        log.source === 'details' ? 'excerpt recorded by the stage' : 'last lines of the log file'})</span></summary>
<pre class="log" data-testid="log-excerpt" data-stage="${log.stage}">${log.text}</pre></details>`)}`;
  const body = html`<h1 data-testid="submission-id">${view.submissionId}</h1>${signOutForm(signOutCsrf)}
<p class="sub">team <b>${view.team}</b> · track ${view.track} · accepted ${formatTimestamp(view.acceptedAt)} · ${statusBadge(view.outcome, category)} · ${refundCell(view)}</p>
${view.running ? html`<p class="legend" data-testid="refreshing">The pipeline is running: this page reloads every ${REFRESH_SECONDS} s.</p>` : null}
${failure}
${reproductionCard([view])}
<section class="card"><h2>Stages: time used against each limit</h2>${timeline(view.stages)}<h3>Stage details</h3>${stageTable(view.stages)}</section>
<section class="card"><h2>Open-suite scores</h2>${scores}${answers}</section>
<section class="card"><h2>Logs</h2>${logs}<p class="legend" data-testid="logs-withheld">${WITHHELD_NOTE}</p></section>`;
  return page(`Submission ${view.submissionId}`, body, { team: view.team, refresh: view.running });
}

/** Unknown ids and other teams' ids get the same page. */
export function renderTeamNotFound(id: string, team: string | null): string {
  const body = html`<h1>Not found</h1><div class="failure" data-testid="not-found">Your team has no submission "${id}".</div><p><a href="/team">Back to your submissions</a></p>`;
  return page('Not found', body, team ? { team } : {});
}

/** A refused request (CSRF, wrong origin, too large, wrong method), with what to do. */
export function renderTeamRefusal(title: string, message: string): string {
  return page(title, html`<h1>${title}</h1><div class="failure" data-testid="refused">${message}</div><p><a href="/team">Back to the team page</a></p>`);
}
