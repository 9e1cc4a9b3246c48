/**
 * The phase parts of the track page (web/render.ts renderTrack): the switch between the development and the
 * final board, the phase banner (which phase is open and when it closes, from the competition file), the
 * reproduction column of the final board and the list of teams dropped from it. Pure markup from views.
 */
import type { BoardPhase, FinalBoard, ReproductionCell } from '../domain/competition/final-board.js';
import type { Audience, PhaseBanner } from './data.js';
import { formatScore, formatTimestamp, html, type SafeHtml } from './html.js';

const PHASE_PATH_PREFIX = (audience: Audience): string => (audience === 'operator' ? '/operator' : '');

/** The track page of a board: the development one at /tracks/<track>, the final one with ?phase=final. */
export const trackPhaseHref = (track: string, phase: BoardPhase, audience: Audience = 'public'): string =>
  `${PHASE_PATH_PREFIX(audience)}/tracks/${encodeURIComponent(track)}${phase === 'final' ? '?phase=final' : ''}`;

export function phaseSwitch(track: string, current: BoardPhase, audience: Audience): SafeHtml {
  const link = (phase: BoardPhase, label: string) =>
    phase === current
      ? html`<b data-testid="phase-link" data-phase="${phase}" aria-current="page">${label}</b>`
      : html`<a data-testid="phase-link" data-phase="${phase}" href="${trackPhaseHref(track, phase, audience)}">${label}</a>`;
  return html`<p class="sub" data-testid="phase-switch">Board: ${link('development', 'development')} · ${link('final', 'final')}</p>`;
}

/** Which phase is open now and when it closes; without a competition file there is no banner. */
export function phaseBanner(banner: PhaseBanner | null | undefined, phase: BoardPhase): SafeHtml | null {
  if (!banner) return null;
  const now = banner.open
    ? html`Phase <b data-testid="banner-phase">${banner.open.title ?? banner.open.id}</b> (<code>${banner.open.id}</code>) is open: it closes <b data-testid="banner-closes">${
      formatTimestamp(banner.open.closesAt)}</b>.`
    : banner.next
      ? html`No phase is open: <b data-testid="banner-phase">${banner.next.title ?? banner.next.id}</b> opens <b data-testid="banner-opens">${formatTimestamp(banner.next.opensAt)}</b>.`
      : html`<span data-testid="banner-phase">The competition is over</span>: every phase has closed.`;
  const frozen =
    phase === 'development' && banner.developmentClosedAt !== null
      ? html` <span data-testid="banner-frozen">This development board is frozen: the development phase closed ${formatTimestamp(banner.developmentClosedAt)}.</span>`
      : null;
  return html`<div class="operator-banner" data-testid="phase-banner" data-phase="${banner.open?.id ?? ''}">Competition <code>${banner.competition}</code>. ${now}${frozen}</div>`;
}

const CELL_TONE: Record<ReproductionCell['state'], string> = { Reproduced: 'good', NotReproduced: 'bad', pending: 'info', 'not-selected': 'muted' };
const CELL_TITLE: Record<ReproductionCell['state'], string> = {
  Reproduced: "the platform re-ran the team's training and its scores are within the tolerance",
  NotReproduced: "the platform re-ran the team's training and what it produced differs beyond the tolerance",
  pending: 'the reproduction is running; no verdict yet',
  'not-selected': 'not among the top N of the track: not reproduced',
};

/** The reproduction cell of a final board row: a badge, and the reason folded under a NotReproduced one. */
export function reproductionCell(cell: ReproductionCell): SafeHtml {
  const label = cell.state === 'not-selected' ? '—' : cell.state;
  const badge = html`<span class="badge tone-${CELL_TONE[cell.state]}" title="${CELL_TITLE[cell.state]}">${label}</span>`;
  const inner =
    cell.state === 'NotReproduced' && cell.reason
      ? html`<details class="why"><summary title="${cell.reason}">${badge}</summary><div class="reason" data-testid="reproduction-reason">${cell.reason}</div></details>`
      : badge;
  return html`<td data-testid="cell-reproduction" data-state="${cell.state}">${inner}</td>`;
}

/** The legend under the final board: what the field is and what happens to a team that did not reproduce. */
export function finalLegend(board: FinalBoard): SafeHtml {
  const rule =
    board.onFailure === 'drop'
      ? 'A team whose training did not reproduce is dropped, and the board is scored again without it.'
      : 'A team whose training did not reproduce stays on the board, marked NotReproduced.';
  const dropped = board.dropped.map(
    (d) => html`<li data-testid="dropped" data-submission="${d.of}"><b>${d.team}</b> <code>${d.of}</code>: NotReproduced — ${d.reason ?? 'no reason recorded'}</li>`,
  );
  return html`<p class="legend" data-testid="final-legend">Final runs of the development submissions each team went to the finals with, on the final phase's suites. ${rule}</p>${
    dropped.length > 0 ? html`<h3>Dropped from the final ranking</h3><ul class="plain">${dropped}</ul>` : null}`;
}

/** A short line for the team's page: its reproduction outcome. */
export function reproductionSummary(cell: ReproductionCell, final: { submitted: number | null; reproduced: number | null }): SafeHtml {
  const scores = final.submitted === null && final.reproduced === null ? null : html` — final score ${formatScore(final.reproduced)} reproduced vs ${formatScore(final.submitted)} submitted`;
  return html`<span class="badge tone-${CELL_TONE[cell.state]}" title="${CELL_TITLE[cell.state]}">${cell.state}</span>${scores}${cell.reason ? html`<div class="reason">${cell.reason}</div>` : null}`;
}
