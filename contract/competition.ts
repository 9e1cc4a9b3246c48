/** Names of the competition clock (workflows/competition-clock.ts), one per competition, shared with the CLI and demos. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CompetitionClockState, DeadlineExtension } from '../domain/competition/clock.js';

export const competitionWorkflowId = (competitionId: string): string => `competition-${competitionId}`;
export const competitionStateQuery = defineQuery<CompetitionClockState>('competitionState');
/** An operator moves a phase's close; the clock records it with its decision (refusals keep their reason). */
export const extendDeadlineSignal = defineSignal<[DeadlineExtension]>('extendDeadline');
