/**
 * `challenge competition validate <file>`: checks a competition file and names the field and the fix for every
 * error; on success prints its phases (when each opens and closes, what runs, the quota) so an operator sees
 * what the file will do before the season starts.
 */
import { CompetitionFileError, loadCompetition, phaseAt, type CompetitionFile } from '../domain/competition/index.js';
import { formatDuration } from '../domain/units.js';
import { textTable } from '../domain/text-table.js';

export function describeCompetition(competition: CompetitionFile, now: number): string {
  const open = phaseAt(competition, now);
  const rows = competition.phases.map((phase) => [
    phase.id === open?.id ? `${phase.id} (open now)` : phase.id,
    phase.opensAt,
    phase.closesAt,
    phase.stages.join(' → '),
    phase.quota ? `${phase.quota.perWindow} per ${formatDuration(phase.quota.window)}${phase.quota.perPhase ? `, ${phase.quota.perPhase} in all` : ''}` : 'teams do not submit',
    phase.leaderboard,
  ]);
  const { reproduction: r } = competition;
  return [
    `${competition.id}: ${competition.title}`,
    `tracks: ${competition.tracks.join(', ')}`,
    ...textTable(['phase', 'opens', 'closes', 'stages', 'quota per team and track', 'leaderboard'], rows),
    `reproduction: top ${r.topN} per track, tolerance ${r.finalTolerance} on the final score and ${r.scenarioTolerance} per scenario, ` +
      `a team that does not reproduce is ${r.onFailure === 'mark' ? 'marked' : 'dropped'}`,
  ].join('\n');
}

/** Exit code 0 when valid, 2 with every problem printed otherwise. */
export function validateCompetitionCommand(file: string, now = Date.now()): number {
  try {
    console.log(describeCompetition(loadCompetition(file), now));
    return 0;
  } catch (error) {
    if (!(error instanceof CompetitionFileError)) throw error;
    console.error(`challenge: ${error.message}`);
    return 2;
  }
}
