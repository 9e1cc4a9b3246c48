/**
 * What the participants' door (web/team-api.ts: the JSON API; web/team-pages.ts: the /team pages) is given
 * by the server, and the reply shape every route returns. Kept apart so both modules and server.ts share it
 * without importing each other.
 */
import type { CompetitionFile } from '../domain/competition/index.js';
import type { ArtifactStore } from '../infra/artifact-store.js';
import type { ResultsStore } from '../infra/results-store.js';
import type { LiveStages, SuiteFiles } from './data.js';
import type { PlacementSource } from './placement-data.js';

export interface Reply {
  status: number;
  type: 'html' | 'json' | 'csv';
  body: string;
  /** A `content-security-policy` here replaces the default one (the team pages post forms to themselves). */
  headers?: Record<string, string>;
  /** Answer with `Connection: close` (an upload refused before its body was read). */
  closeConnection?: boolean;
}

export type RequestHeaders = Record<string, string | string[] | undefined>;

export interface TeamRequest {
  method: string;
  url: URL;
  /** Without trailing slashes. */
  pathname: string;
  headers: RequestHeaders;
  /** The body of a POST (null for other methods, or when it was too large). */
  body: Buffer | null;
  /** The body passed the route's limit and was not read. */
  bodyTooLarge: boolean;
  /** The peer's address, for the bad-token throttle and the operators' log. */
  remoteAddress: string;
}

/** What starts the pipeline of an accepted upload: operations/intake.ts defines it (temporalStarter is the real one; tests use a stand-in). */
export type { UploadStarter as PipelineStarter, PipelineStartInput } from '../operations/intake.js';
import type { UploadStarter } from '../operations/intake.js';

export interface TeamDoorOptions {
  competition: CompetitionFile;
  starter: UploadStarter;
  /** Where uploads are unpacked (a fresh folder under it per upload) and accepted sources kept (sources/<sha256>). */
  stagingDir: string;
  /** The store accepted archives go to, under their sha256 (the pipeline builds from that copy). */
  artifacts: ArtifactStore;
  /** The clock quotas and phases are decided with (tests move it). */
  now?: () => number;
  /** The address teams reach this server at, for status URLs (default: the Host header). */
  publicUrl?: string;
}

export interface TeamContext {
  db: ResultsStore;
  dataDir: string;
  artifacts?: ArtifactStore;
  suites?: SuiteFiles;
  door: TeamDoorOptions;
  /** The running stages of a pipeline as its workflow answers (answered/total, projection); absent: recorded state only. */
  live?: LiveStages;
  /** Every track's placement book (the operator page's source): /team shows the team's own GPU time and queue places from it; absent: the card says the queue is not available. */
  placement?: PlacementSource;
}

export const isTeamApiPath = (pathname: string): boolean => pathname === '/api/team' || pathname.startsWith('/api/team/');
export const isTeamPagePath = (pathname: string): boolean => pathname === '/team' || pathname.startsWith('/team/');
