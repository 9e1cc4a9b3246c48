/**
 * The "GPU time and queue" card of the team's overview (/team): the team's own GPU time per track and phase,
 * its submissions holding a slot and its waiting submissions with their place in the serving order, from
 * web/team-placement.ts (which has already cut the books down to the team's own figures). When the placement
 * could not be asked the card says so; it never fails the page.
 */
import { formatSpan } from '../domain/units.js';
import { html, type SafeHtml } from './html.js';
import { ordinal, type TeamQueueView, type TeamTrackQueue } from './team-placement.js';

const submissionHref = (id: string): string => `/team/submissions/${encodeURIComponent(id)}`;
const runLabel = (id: string | null): SafeHtml => (id === null ? html`a re-evaluation run` : html`<a href="${submissionHref(id)}">${id}</a>`);
const inPhase = (phase: string | null): SafeHtml | null => (phase === null ? null : html` <span class="muted">(phase ${phase})</span>`);
const forTime = (ms: number | null, verb: string): SafeHtml | null => (ms === null ? null : html`, ${verb} for ${formatSpan(ms)}`);

const holdingLine = (count: number): string =>
  count === 0 ? 'None of your submissions holds a slot now.' : `${count} of your submissions ${count === 1 ? 'holds a slot' : 'hold slots'} now:`;

function trackBlock(track: TeamTrackQueue): SafeHtml {
  const head = html`<h3>${track.title} <span class="muted">(${track.track})</span></h3>`;
  if (track.state === 'unreachable') {
    return html`<div data-testid="team-gpu-track" data-track="${track.track}" data-state="unreachable">${head}
<p class="muted" data-testid="team-gpu-track-unavailable">The queue of this track is not available right now: reload this page in a minute.</p></div>`;
  }
  const weighed = (usedMs: number, weight: number): SafeHtml | null =>
    weight === 1 ? null : html` <span data-testid="team-gpu-weight">(weight ${weight}: it counts as ${formatSpan(usedMs / weight)})</span>`;
  const phases = track.phases.map(
    (p) => html`<li data-testid="team-gpu-phase" data-phase="${p.phase}" data-used-ms="${Math.round(p.usedMs)}">phase <b>${p.phase}</b>: <b data-testid="team-gpu-used">${
      formatSpan(p.usedMs)}</b> of GPU time used${weighed(p.usedMs, p.weight)}</li>`,
  );
  const held = track.holding.map((h) => html`<li data-testid="team-gpu-held">${runLabel(h.submissionId)} holds a slot${forTime(h.heldMs, 'running')}${inPhase(h.phase)}</li>`);
  const reclaimNote = ' (a re-claim after its host was lost: served before new claims)';
  const waiting = track.waiting.map(
    (w) => html`<li data-testid="team-gpu-waiting" data-submission="${w.submissionId ?? ''}" data-position="${w.position}">${runLabel(w.submissionId)}: <b>${
      ordinal(w.position)} in line for ${track.track}</b>${w.reclaim ? reclaimNote : null}${forTime(w.waitedMs, 'waiting')}${inPhase(w.phase)}</li>`,
  );
  const count = track.holding.length;
  return html`<div data-testid="team-gpu-track" data-track="${track.track}" data-state="running">${head}
${track.order === 'fifo' ? html`<p class="legend" data-testid="team-gpu-fifo">This track serves waiting submissions in arrival order (fair share is off).</p>` : null}
${phases.length > 0 ? html`<ul class="plain">${phases}</ul>` : null}
<p data-testid="team-gpu-holding" data-count="${count}">${holdingLine(count)}</p>
${held.length > 0 ? html`<ul class="plain">${held}</ul>` : null}
${waiting.length > 0 ? html`<ul class="plain">${waiting}</ul>` : null}</div>`;
}

/** The card; `queue` comes from web/team-placement.ts teamQueueView. */
export function teamGpuCard(queue: TeamQueueView): SafeHtml {
  const body =
    queue.unavailable !== null
      ? html`<p class="muted" data-testid="team-gpu-unavailable">${queue.unavailable}</p>`
      : queue.tracks.length === 0
        ? html`<p class="muted" data-testid="team-gpu-none">None of your submissions has used or waited for a GPU slot yet.</p>`
        : html`${queue.tracks.map(trackBlock)}`;
  return html`<section class="card" data-testid="team-gpu"><h2>GPU time and queue</h2>
<p class="sub" data-testid="team-gpu-rule">The rule: ${queue.rule}. Only your own figures are shown.</p>${body}</section>`;
}
