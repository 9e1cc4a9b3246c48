/**
 * `challenge placement`: a track's placement as operators see it (operations/placement.ts): its hosts, who holds
 * which slot, the waiting submissions in the order the next slots go to them, and each team's GPU time used per
 * phase with its fair-share weight; `challenge placement weight <team> <weight>` sets a team's weight.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { PLACEMENT_POLICY, TRACK_IDS } from '../../temporal.config.js';
import type { SlotBookView } from '../../domain/placement.js';
import { formatSpan } from '../../domain/units.js';
import { textTable } from '../../domain/text-table.js';
import { connectClient } from '../../infra/temporal.js';
import { placementOf, setTeamWeight } from '../../operations/placement.js';
import { EXIT, TrackValue, UsageError, action, checkedOptions, runtimeConfig } from '../command-kit.js';

const PlacementFlags = z.object({ track: TrackValue, json: z.boolean().default(false) });
const WeightFlags = z.object({ track: TrackValue });

/** Every line of `challenge placement`: pure, from the placement query. */
export function renderPlacement(view: SlotBookView, track: string): string {
  const since = (at: number | undefined): string => (at === undefined ? '?' : formatSpan(Math.max(0, view.at - at)));
  const order =
    view.order === 'fifo'
      ? 'first come, first served'
      : `fair share by GPU time used in the phase ÷ weight; a submission waiting over ${formatSpan(PLACEMENT_POLICY.fairShareMaxWaitMs)} goes by age`;
  const lines = [`placement of track ${track} (${order})`, ''];
  lines.push(
    ...textTable(
      ['host', 'slots', 'held', 'state'],
      view.hosts.map((h) => [h.hostId, String(h.slots), String(view.leases.filter((l) => l.hostId === h.hostId).length), h.inService ? 'in service' : 'out of service']),
    ),
    '',
  );
  if (view.leases.length === 0) lines.push('no slot held', '');
  else {
    const rows = view.leases.map((l) => [l.requester.workflowId, l.team ?? '?', l.phase ?? '', l.hostId, String(l.claim), since(l.grantedAt)]);
    lines.push(...textTable(['holder', 'team', 'phase', 'host', 'claim', 'held for'], rows), '');
  }
  if (view.next.length === 0) lines.push('nobody waits', '');
  else {
    const rows = view.next.map((w, i) => [String(i + 1), w.requester.workflowId, w.team ?? '?', w.phase ?? '', w.reclaim ? 're-claim' : '', since(w.since)]);
    lines.push('waiting, in the order the next slots go to them:', ...textTable(['#', 'submission', 'team', 'phase', '', 'waiting for'], rows), '');
  }
  if (view.teams.length === 0) lines.push('no GPU time used yet');
  else {
    const rows = view.teams.map((t) => [t.phase, t.team, formatSpan(t.usedMs), String(t.weight), formatSpan(t.usedMs / t.weight), String(t.holding), String(t.waiting)]);
    lines.push('GPU time (slot time) per team:', ...textTable(['phase', 'team', 'used', 'weight', 'used ÷ weight', 'holding', 'waiting'], rows));
  }
  return lines.join('\n');
}

async function placementCommand(options: unknown): Promise<number> {
  const flags = checkedOptions(PlacementFlags, options);
  const client = await connectClient(runtimeConfig());
  try {
    const view = await placementOf(client, flags.track);
    if (view === null) {
      console.log(`track ${flags.track} has no placement yet: it starts with the first GPU host (node dist/workers/gpu-host.js --track ${flags.track}) or submission`);
      return EXIT.ok;
    }
    console.log(flags.json ? JSON.stringify(view, null, 2) : renderPlacement(view, flags.track));
    return EXIT.ok;
  } finally {
    await client.connection.close();
  }
}

async function weightCommand(team: string, weight: string, options: unknown): Promise<number> {
  const flags = checkedOptions(WeightFlags, options);
  const value = Number(weight);
  if (weight.trim() === '' || !Number.isFinite(value) || value <= 0 || value > 1000) {
    throw new UsageError(`weight "${weight}" of team ${team}: write a number above 0 and at most 1000, e.g. 2 (twice the default share of 1) or 0.5`);
  }
  const client = await connectClient(runtimeConfig());
  try {
    const set = await setTeamWeight(client, { track: flags.track, team, weight: value });
    console.log(`team ${set.team} weighs ${set.weight} on track ${set.track}: its GPU time counts ÷ ${set.weight} from the next slot freed`);
    return EXIT.ok;
  } finally {
    await client.connection.close();
  }
}

export function registerPlacementCommands(program: Command): void {
  const placement = program
    .command('placement')
    .description("a track's GPU slots, who holds them, who waits in which order, and each team's GPU time")
    .option('--track <id>', `the track (${TRACK_IDS.join(', ')})`, 'cpu')
    .option('--json', 'print the placement query as JSON')
    .addHelpText(
      'after',
      `
Waiting submissions are served by fair share: the next free slot goes to the team with the least GPU time
used in the phase ÷ its weight (re-claims after a failover first; a submission that waited over
${formatSpan(PLACEMENT_POLICY.fairShareMaxWaitMs)} goes by age). Set a weight with: challenge placement weight <team> <weight>.`,
    )
    .action(action(placementCommand));
  placement
    .command('weight <team> <weight>')
    .description("set a team's fair-share weight (default 1; 2 = twice the share of GPU time)")
    .option('--track <id>', `the track (${TRACK_IDS.join(', ')})`, 'cpu')
    .action(action(weightCommand));
}
