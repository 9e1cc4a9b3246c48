/**
 * The operator's placement page (/operator/placement): per track its GPU hosts and slots in use, who holds a slot,
 * the waiting claims in the order the next slots go to them, and each team's GPU time per phase with its weight
 * and share — what `challenge placement` prints, as a page. Pure: the view comes from web/placement-data.ts.
 * GPU time is an elapsed time, so it is written with formatSpan (as the CLI writes it), the exact milliseconds
 * in data-used-ms. Operator only: nothing here may reach a team's page.
 */
import { PLACEMENT_POLICY } from '../temporal.config.js';
import { formatSpan } from '../domain/units.js';
import { html, percent, type SafeHtml } from './html.js';
import { PLACEMENT_PAGE, layout, submissionHref, trackHref } from './render.js';
import type { PlacementLeaseRow, PlacementPageView, PlacementWaitRow, TrackPlacementView } from './placement-data.js';

const span = (ms: number | null): string => (ms === null ? '?' : formatSpan(ms));

function orderText(order: TrackPlacementView['order']): string {
  return order === 'fifo'
    ? 'first come, first served'
    : `fair share: the next free slot goes to the team with the least GPU time used in the phase ÷ its weight (re-claims after a failover first; a submission waiting over ${
      formatSpan(PLACEMENT_POLICY.fairShareMaxWaitMs)} goes by age)`;
}

function holder(row: PlacementLeaseRow | PlacementWaitRow): SafeHtml {
  return row.submissionId === null ? html`${row.workflowId}` : html`<a href="${submissionHref(row.submissionId, 'operator')}">${row.submissionId}</a>`;
}

function hostsTable(view: TrackPlacementView): SafeHtml {
  if (view.hosts.length === 0) return html`<p class="muted" data-testid="placement-no-hosts">No GPU host has announced itself (start one: node dist/workers/gpu-host.js --track ${view.track}).</p>`;
  const rows = view.hosts.map(
    (h) => html`<tr data-testid="placement-host" data-host="${h.hostId}" data-in-service="${h.inService ? 'yes' : 'no'}"><td>${h.hostId}</td><td class="num">${h.slots}</td>
<td class="num">${h.held}</td><td>${h.inService ? 'in service' : html`<span class="badge tone-muted">out of service</span>`}</td></tr>`,
  );
  return html`<table><thead><tr><th>host</th><th class="num">slots</th><th class="num">held</th><th>state</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function leasesTable(view: TrackPlacementView): SafeHtml {
  if (view.leases.length === 0) return html`<p class="muted">No slot held.</p>`;
  const rows = view.leases.map(
    (l) => html`<tr data-testid="placement-lease" data-workflow="${l.workflowId}"><td>${holder(l)}</td><td>${l.team ?? '?'}</td><td>${l.phase ?? ''}</td><td>${l.hostId}</td>
<td class="num">${l.claim}</td><td class="num">${span(l.heldMs)}</td></tr>`,
  );
  return html`<table><thead><tr><th>holder</th><th>team</th><th>phase</th><th>host</th><th class="num">claim</th><th class="num">held for</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function waitingTable(view: TrackPlacementView): SafeHtml {
  if (view.waiting.length === 0) return html`<p class="muted" data-testid="placement-nobody-waits">Nobody waits.</p>`;
  const rows = view.waiting.map(
    (w) => html`<tr data-testid="placement-waiting" data-position="${w.position}" data-workflow="${w.workflowId}"><td class="num">${w.position}</td><td>${holder(w)}</td>
<td>${w.team ?? '?'}</td><td>${w.phase ?? ''}</td><td>${w.reclaim ? html`<span class="badge tone-info">re-claim</span>` : ''}</td><td class="num">${span(w.waitedMs)}</td></tr>`,
  );
  return html`<table><thead><tr><th class="num">#</th><th>submission</th><th>team</th><th>phase</th><th></th><th class="num">waiting for</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function teamsTable(view: TrackPlacementView): SafeHtml {
  if (view.teams.length === 0) return html`<p class="muted" data-testid="placement-no-gpu-time">No GPU time used yet.</p>`;
  const rows = view.teams.map(
    (t) => html`<tr data-testid="placement-team" data-phase="${t.phase}" data-team="${t.team}" data-used-ms="${Math.round(t.usedMs)}"><td>${t.phase}</td><td>${t.team}</td>
<td class="num" data-testid="placement-used">${formatSpan(t.usedMs)}</td><td class="num" data-testid="placement-weight">${t.weight}</td><td class="num">${formatSpan(t.perWeightMs)}</td>
<td class="num" data-testid="placement-share">${t.shareOfPhase === null ? '—' : percent(t.shareOfPhase)}</td><td class="num">${percent(t.weightShare)}</td>
<td class="num">${t.holding}</td><td class="num">${t.waiting}</td></tr>`,
  );
  return html`<table><thead><tr><th>phase</th><th>team</th><th class="num">GPU time used</th><th class="num">weight</th><th class="num">used ÷ weight</th>
<th class="num">share of the phase</th><th class="num">weighted share</th><th class="num">holding</th><th class="num">waiting</th></tr></thead><tbody>${rows}</tbody></table>
<p class="legend">GPU time: slot time from grant to release, plus the time so far of the slots held. Share of the phase: the team's part of the GPU time used in it;
weighted share: its weight ÷ the weights of the phase's teams, the part fair share steers towards. Set a weight with: challenge placement weight &lt;team&gt; &lt;weight&gt; --track ${
  view.track}.</p>`;
}

function trackSection(view: TrackPlacementView): SafeHtml {
  const head = html`<h2><a href="${trackHref(view.track, 'operator')}">${view.title}</a> <span class="muted">(${view.track})</span></h2>`;
  if (view.state === 'unreachable') {
    return html`<section class="card" data-testid="placement-track" data-track="${view.track}" data-state="unreachable">${head}
<div class="failure warn" data-testid="placement-track-error">${view.error ?? 'its placement could not be asked'}</div></section>`;
  }
  if (view.state === 'not-started') {
    return html`<section class="card" data-testid="placement-track" data-track="${view.track}" data-state="not-started">${head}
<p class="muted">No placement yet: it starts with the first GPU host (node dist/workers/gpu-host.js --track ${view.track}) or submission.</p></section>`;
  }
  const s = view.slots;
  return html`<section class="card" data-testid="placement-track" data-track="${view.track}" data-state="running">${head}
<p class="sub">${orderText(view.order)}</p>
<div><div class="stat" data-testid="placement-slots-held"><b>${s.held}</b>slots held</div><div class="stat" data-testid="placement-slots-in-service"><b>${
  s.inService}</b>slots in service</div><div class="stat"><b>${s.free}</b>free</div><div class="stat" data-testid="placement-waiting-count"><b>${
  view.waiting.length}</b>waiting</div></div>
<h3>Hosts</h3>${hostsTable(view)}
<h3>Slots held</h3><div class="scroll">${leasesTable(view)}</div>
<h3>Waiting, in the order the next slots go to them</h3><div class="scroll">${waitingTable(view)}</div>
<h3>GPU time per team and phase</h3><div class="scroll" data-testid="placement-teams" data-track="${view.track}">${teamsTable(view)}</div></section>`;
}

export function renderPlacementPage(view: PlacementPageView): string {
  const body = html`<h1>GPU placement</h1>
<p class="sub">Each track's GPU slots, who holds them, who waits in which order, and each team's GPU time — what <code>challenge placement --track &lt;track&gt;</code> prints.</p>
${view.unavailable === null ? null : html`<div class="failure warn" data-testid="placement-unavailable">${view.unavailable}</div>`}
${view.tracks.map(trackSection)}`;
  return layout('GPU placement', body, [{ href: PLACEMENT_PAGE, label: 'placement' }], 'operator');
}
