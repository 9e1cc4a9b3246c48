/**
 * A participants' door for tests: a real SQLite results database in a temporary folder, a folder artifact
 * store, a competition file with the quotas a test asks for, a clock the test moves, teams created with real
 * tokens, and a recording stand-in for the pipeline starter (no Temporal). Used by test/unit/team-api.test.ts
 * (through route(), no socket) and test/integration/team-intake.test.ts (through startWebServer).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseCompetition, type CompetitionFile } from '../../domain/competition/index.js';
import { newToken } from '../../domain/teams/tokens.js';
import { FsArtifactStore } from '../../infra/artifact-store-fs.js';
import { ResultsDb } from '../../infra/results-db.js';
import type { PipelineStartInput, UploadStarter } from '../../operations/intake.js';
import type { WebServerOptions } from '../../web/server.js';

export const T0 = Date.parse('2027-03-01T12:00:00.000Z');

/** Records every start; `failWith` makes the next starts throw (Temporal down). */
export class RecordingStarter implements UploadStarter {
  readonly calls: PipelineStartInput[] = [];
  failWith: Error | null = null;

  async start(input: PipelineStartInput): Promise<{ workflowId: string; runId: string | null; url: string }> {
    if (this.failWith) throw this.failWith;
    this.calls.push(input);
    return { workflowId: `pipeline-${this.calls.length}`, runId: `run-${this.calls.length}`, url: `http://ui.invalid/${this.calls.length}` };
  }
}

export interface CompetitionOptions {
  perWindow?: number;
  window?: string;
  badTokensPerWindow?: number;
  maxArchiveBytes?: number;
  opensAt?: string;
  closesAt?: string;
}

export function competitionWith(options: CompetitionOptions = {}): CompetitionFile {
  return parseCompetition({
    schemaVersion: 1,
    id: 'door-test',
    title: 'Door test',
    tracks: ['a100-40gb', 'cpu'],
    phases: [
      {
        id: 'development',
        opensAt: options.opensAt ?? '2027-01-01T00:00:00Z',
        closesAt: options.closesAt ?? '2027-12-01T00:00:00Z',
        stages: ['build', 'fine-tune', 'open-eval', 'closed-eval'],
        quota: { perWindow: options.perWindow ?? 3, window: options.window ?? '24h' },
      },
      { id: 'finals', opensAt: '2028-01-01T00:00:00Z', closesAt: '2028-02-01T00:00:00Z', stages: ['build', 'fine-tune', 'open-eval', 'closed-eval'] },
    ],
    intake: {
      maxArchiveBytes: options.maxArchiveBytes ?? 10 * 1024 * 1024,
      maxUncompressedBytes: 50 * 1024 * 1024,
      maxFiles: 1000,
      badTokensPerWindow: options.badTokensPerWindow ?? 3,
      badTokenWindow: '1m',
    },
    reproduction: { topN: 1, finalTolerance: 0.05, scenarioTolerance: 0.1, onFailure: 'mark' },
  });
}

export const GOOD_DOCKERFILE = 'FROM challenge/base:bookworm-python3\nWORKDIR /app\nCOPY server.py /app/server.py\nCMD ["python3", "/app/server.py"]\n';

/** Writes a submission folder; `files` replace or (with null) remove the defaults. */
export function writeSubmission(
  root: string,
  manifest: { team: string; submission: string; track?: string },
  files: Record<string, string | null> = {},
): string {
  const dir = mkdtempSync(path.join(root, `${manifest.submission}-`));
  const defaults: Record<string, string | null> = {
    'submission.json': JSON.stringify({ schemaVersion: 1, team: manifest.team, submission: manifest.submission, track: manifest.track ?? 'cpu', baseModel: 'none' }),
    Dockerfile: GOOD_DOCKERFILE,
    'Dockerfile.train': GOOD_DOCKERFILE,
    'server.py': 'print("hello")\n',
  };
  for (const [name, text] of Object.entries({ ...defaults, ...files })) {
    if (text === null) continue;
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** A .tar.gz built by hand, entry names as given (for hostile names no packer writes). */
export function rawTarGz(entries: { name: string; text: string; type?: '0' | '2' | '5'; link?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.text);
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148); // checksum placeholder
    header.write(entry.type ?? '0', 156);
    if (entry.link) header.write(entry.link, 157, 100, 'utf8');
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

export interface DoorFixture {
  root: string;
  dataDir: string;
  stagingDir: string;
  db: ResultsDb;
  artifacts: FsArtifactStore;
  starter: RecordingStarter;
  competition: CompetitionFile;
  clock: { now: number };
  options: WebServerOptions;
  addTeam(name: string, tracks?: string[]): Promise<string>;
  close(): void;
}

export function doorFixture(competition: CompetitionFile = competitionWith()): DoorFixture {
  const root = mkdtempSync(path.join(os.tmpdir(), 'team-door-'));
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir, { recursive: true });
  const stagingDir = path.join(dataDir, 'intake');
  const db = new ResultsDb(path.join(dataDir, 'results.sqlite'));
  const artifacts = new FsArtifactStore(path.join(root, 'store'));
  const starter = new RecordingStarter();
  const clock = { now: T0 };
  const options: WebServerOptions = {
    db,
    dataDir,
    artifacts,
    teams: { competition, starter, stagingDir, artifacts, now: () => clock.now, publicUrl: 'https://door.example.org' },
  };
  return {
    root,
    dataDir,
    stagingDir,
    db,
    artifacts,
    starter,
    competition,
    clock,
    options,
    async addTeam(name, tracks = ['cpu']) {
      const { token, stored } = await newToken();
      await db.createTeam({ name, tracks, webhook: null, at: new Date(clock.now).toISOString() }, stored);
      return token;
    },
    close() {
      db.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
