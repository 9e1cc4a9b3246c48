/**
 * The competition file: the rules a season runs by, in one zod-checked, versioned JSON file
 * (`competitions/<id>.json`; `neurips2023.json` ships the 2023 values). Tracks, phases (when each opens and
 * closes, which stages run, which suites, the quotas of the participants' door, who sees the leaderboard),
 * the intake limits of an uploaded archive, the final-selection rule and the reproduction of the finalists.
 * Deployment settings (addresses, stores, TLS) are not here: they are infra/runtime-config.ts's loadRuntimeConfig.
 */
import { z } from 'zod';
import { TrackId } from '../../temporal.config.js';
import { parseBytes, parseDuration } from '../units.js';

const Instant = z.iso.datetime({ offset: true, error: 'write an ISO-8601 instant with its offset, e.g. "2023-10-25T23:59:00Z"' });
const DurationText = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `${(error as Error).message} (e.g. "24h", "300m")` });
    return z.NEVER;
  }
});
const BytesText = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseBytes(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `${(error as Error).message} (e.g. "100 MiB")` });
    return z.NEVER;
  }
});

export const PHASE_STAGES = ['build', 'fine-tune', 'open-eval', 'closed-eval'] as const;
export const PhaseStage = z.enum(PHASE_STAGES);
export type PhaseStage = z.infer<typeof PhaseStage>;

/** A suite set of infra/paths.ts (`neurips2023`, `neurips2023-small`, `toy`) or a folder with open.json/closed.json. */
const SuiteSetName = z.string().min(1, 'name a suite set (neurips2023, neurips2023-small, toy) or a folder holding open.json and closed.json');

/** How many submissions a team may make: per track, in a rolling window, and over the whole phase. */
export const PhaseQuota = z
  .object({
    /** Accepted submissions per team and track in any rolling window (2023: 3 a day). */
    perWindow: z.number().int().min(1, 'perWindow must be at least 1 (2023 allowed 3 a day)'),
    window: DurationText.default(24 * 3_600_000),
    /** Accepted submissions per team and track over the whole phase; absent: no phase total. */
    perPhase: z.number().int().min(1).optional(),
  })
  .strict();
export type PhaseQuota = z.infer<typeof PhaseQuota>;

export const LeaderboardVisibility = z.enum(['public', 'team-only', 'hidden']);
export type LeaderboardVisibility = z.infer<typeof LeaderboardVisibility>;

export const Phase = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'a phase id is 1-31 lowercase letters, digits and dashes, starting with a letter'),
    title: z.string().min(1).optional(),
    opensAt: Instant,
    closesAt: Instant,
    /** Which pipeline stages run in this phase: without "fine-tune" a submission is evaluated as built (inference only). */
    stages: z.array(PhaseStage).min(1, 'list the stages that run, e.g. ["build", "open-eval"]'),
    /** Suite set per track; a track absent here uses the default set (infra/paths.ts). */
    suites: z.partialRecord(TrackId, SuiteSetName).default({}),
    /** Absent: teams cannot submit in this phase (the organizers run it, e.g. the finals). */
    quota: PhaseQuota.optional(),
    leaderboard: LeaderboardVisibility.default('public'),
  })
  .strict();
export type Phase = z.infer<typeof Phase>;

/** What an uploaded archive may hold; anything beyond is refused before a byte is written outside staging. */
export const IntakeLimits = z
  .object({
    maxArchiveBytes: BytesText.default(100 * 1024 * 1024),
    maxUncompressedBytes: BytesText.default(1024 * 1024 * 1024),
    maxFiles: z.number().int().min(3).default(10_000),
    /** Bad tokens from one address within `badTokenWindow` before it is answered 429. */
    badTokensPerWindow: z.number().int().min(1).default(10),
    badTokenWindow: DurationText.default(60_000),
  })
  .strict();
export type IntakeLimits = z.infer<typeof IntakeLimits>;

export const Reproduction = z
  .object({
    /** The top N of each track's final leaderboard have their training re-run. */
    topN: z.number().int().min(0),
    /** The fine-tune limit of the re-run; absent: the track's own (24 h on the GPU tracks). */
    fineTuneLimit: DurationText.optional(),
    /** |reproduced - submitted| allowed on the final score, and on each scenario's mean win rate. */
    finalTolerance: z.number().min(0).max(1),
    scenarioTolerance: z.number().min(0).max(1),
    /** A team that does not reproduce: kept with a mark, or dropped from the final ranking. */
    onFailure: z.enum(['mark', 'drop']),
  })
  .strict();
export type Reproduction = z.infer<typeof Reproduction>;

export const Notifications = z
  .object({
    /** Called when any submission ends (outcome, category, scores; never closed-suite content). */
    webhook: z.url({ protocol: /^https?$/, error: 'a webhook is an http(s) URL' }).optional(),
  })
  .strict();

export const COMPETITION_SCHEMA_VERSION = 1;

export const CompetitionFile = z
  .object({
    schemaVersion: z.literal(COMPETITION_SCHEMA_VERSION, { error: `schemaVersion must be ${COMPETITION_SCHEMA_VERSION} (the only published version)` }),
    id: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/, 'an id is 2-41 lowercase letters, digits and dashes, starting with a letter'),
    title: z.string().min(1),
    tracks: z.array(TrackId).min(1, 'list at least one track (a100-40gb, 4090-24gb, cpu)'),
    phases: z.array(Phase).min(1, 'define at least one phase'),
    intake: IntakeLimits.default(IntakeLimits.parse({})),
    /** Which submission of a team goes to the finals: the one it chose, else its latest completed. */
    finalSelection: z.enum(['chosen-else-latest-completed']).default('chosen-else-latest-completed'),
    reproduction: Reproduction,
    notifications: Notifications.default({}),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.phases.forEach((phase, index) => {
      if (seen.has(phase.id)) ctx.addIssue({ code: 'custom', path: ['phases', index, 'id'], message: `phase id "${phase.id}" is used twice; give each phase its own id` });
      seen.add(phase.id);
      if (Date.parse(phase.closesAt) <= Date.parse(phase.opensAt))
        ctx.addIssue({ code: 'custom', path: ['phases', index, 'closesAt'], message: `closesAt must be after opensAt (${phase.opensAt})` });
      const previous = file.phases[index - 1];
      if (previous && Date.parse(phase.opensAt) < Date.parse(previous.closesAt))
        ctx.addIssue({ code: 'custom', path: ['phases', index, 'opensAt'], message: `phase "${phase.id}" opens before "${previous.id}" closes (${previous.closesAt}); phases follow each other` });
      if (!phase.stages.includes('build')) ctx.addIssue({ code: 'custom', path: ['phases', index, 'stages'], message: 'every phase builds the submission: add "build"' });
      for (const track of Object.keys(phase.suites)) {
        if (!file.tracks.includes(track as TrackId))
          ctx.addIssue({ code: 'custom', path: ['phases', index, 'suites', track], message: `track "${track}" is not one of this competition's tracks (${file.tracks.join(', ')})` });
      }
    });
  });
export type CompetitionFile = z.infer<typeof CompetitionFile>;
