/**
 * Benchmark 9, the participants' door under a season's burst: 600 teams each upload 3 small archives at once
 * against the real web server (node:http, the real intake: unpacking, format and Dockerfile preflight, the quota
 * transaction) and a real SQLite results store. Pipelines are started by a stand-in starter that records each start
 * (the stages themselves are measured by the other benchmarks). Reference, in the same run: the same number of
 * authenticated quota reads (GET /api/team/quota), i.e. the server's rate for a request that only checks a token and
 * reads the store. Then every team uploads a 4th archive: each must be refused (429), so the quotas are exact.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { loadCompetition } from '../domain/competition/index.js';
import { newToken } from '../domain/teams/tokens.js';
import { packDirectory } from '../infra/archive.js';
import { FsArtifactStore } from '../infra/artifact-store-fs.js';
import { ResultsDb } from '../infra/results-db.js';
import { competitionFilePath } from '../infra/paths.js';
import { startWebServer } from '../web/server.js';
import type { PipelineStarter } from '../web/team-context.js';
import { fmt, isMain, log, mainOf, percentile, row, type BenchResult } from './support.js';

const TEAMS = Number(process.env.BENCH_INTAKE_TEAMS ?? 600);
const PER_TEAM = 3;
/** Requests in flight at once: a burst from many clients, bounded by the sockets one client machine opens. */
const CONNECTIONS = 64;

function submissionDir(root: string, team: string, index: number): string {
  const dir = path.join(root, `${team}-${index}`);
  mkdirSync(dir, { recursive: true });
  const manifest = { schemaVersion: 1, team, submission: `model-${index}`, track: 'cpu', baseModel: 'challenge-tiny-llama', trainingData: [] };
  writeFileSync(path.join(dir, 'submission.json'), `${JSON.stringify(manifest)}\n`);
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM challenge/base:bookworm-python3\nCOPY server.py /app/server.py\nCMD ["python3", "/app/server.py"]\n');
  writeFileSync(path.join(dir, 'Dockerfile.train'), 'FROM challenge/base:bookworm-python3\nCOPY train.py /app/train.py\nCMD ["python3", "/app/train.py"]\n');
  writeFileSync(path.join(dir, 'server.py'), `# team ${team}, submission ${index}\nprint("serving")\n`);
  writeFileSync(path.join(dir, 'train.py'), `# team ${team}, submission ${index}\nprint("training")\n`);
  return dir;
}

async function burst(pool: Pool, requests: { path: string; method: 'GET' | 'POST'; token: string; body?: Buffer }[]): Promise<{ ms: number; latencies: number[]; statuses: number[] }> {
  const latencies: number[] = [];
  const statuses: number[] = [];
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const request = requests[next++];
      if (!request) return;
      const t = performance.now();
      const response = await pool.request({
        path: request.path,
        method: request.method,
        headers: { authorization: `Bearer ${request.token}`, ...(request.body ? { 'content-type': 'application/gzip' } : {}) },
        ...(request.body ? { body: request.body } : {}),
      });
      await response.body.text();
      latencies.push(performance.now() - t);
      statuses.push(response.statusCode);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return { ms: performance.now() - started, latencies, statuses };
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

export async function runIntake(): Promise<BenchResult> {
  const wallStart = performance.now();
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-intake-'));
  const db = new ResultsDb(path.join(root, 'results.sqlite'));
  const started: string[] = [];
  const starter: PipelineStarter = {
    start: async (input) => {
      started.push(input.directory);
      return { workflowId: `stand-in-${started.length}`, runId: null, url: '' };
    },
  };
  const competition = loadCompetition(competitionFilePath());
  const web = await startWebServer({
    db,
    dataDir: root,
    teams: { competition, starter, stagingDir: path.join(root, 'intake'), artifacts: new FsArtifactStore(path.join(root, 'store')) },
  });
  try {
    log(`intake: creating ${TEAMS} teams and packing ${TEAMS * (PER_TEAM + 1)} archives`);
    const teams: { name: string; token: string; archives: Buffer[] }[] = [];
    const sources = path.join(root, 'sources');
    for (let t = 0; t < TEAMS; t++) {
      const name = `team-${String(t).padStart(4, '0')}`;
      const { token, stored } = await newToken();
      await db.createTeam({ name, tracks: ['cpu'], webhook: null, at: new Date().toISOString() }, stored);
      const archives: Buffer[] = [];
      for (let i = 0; i <= PER_TEAM; i++) archives.push(await packDirectory(submissionDir(sources, name, i)));
      teams.push({ name, token, archives });
    }
    const pool = new Pool(web.url, { connections: CONNECTIONS, pipelining: 1 });
    // Interleaved, as a real burst arrives: every team's first archive, then every team's second, …
    const uploads = Array.from({ length: PER_TEAM }, (_, i) => teams.map((team) => ({ path: '/api/team/submissions', method: 'POST' as const, token: team.token, body: team.archives[i]! }))).flat();
    log(`intake: ${uploads.length} uploads at once over ${CONNECTIONS} connections`);
    const upload = await burst(pool, uploads);
    const reads = await burst(pool, teams.flatMap((team) => Array.from({ length: PER_TEAM }, () => ({ path: '/api/team/quota', method: 'GET' as const, token: team.token }))));
    const fourth = await burst(pool, teams.map((team) => ({ path: '/api/team/submissions', method: 'POST' as const, token: team.token, body: team.archives[PER_TEAM]! })));
    await pool.close();

    const accepted = count(upload.statuses, 202);
    const uploadRate = (accepted / upload.ms) * 1000;
    const readRate = (reads.statuses.length / reads.ms) * 1000;
    let exact = 0;
    for (const team of teams) {
      const intakes = await db.intakes(team.name);
      if (intakes.length === PER_TEAM && intakes.every((i) => !i.refunded)) exact++;
    }
    const refusedFourth = count(fourth.statuses, 429);
    const other = upload.statuses.filter((s) => s !== 202);
    const notes = [
      `${TEAMS} teams × ${PER_TEAM} archives (${fmt(uploads.reduce((s, u) => s + u.body.length, 0) / uploads.length)} bytes each, 5 files) sent at once over ` +
        `${CONNECTIONS} keep-alive connections (undici Pool) to one web server process; SQLite store (WAL) in a temporary folder; stand-in pipeline starter.`,
      'Each upload is unpacked into a fresh staging folder, checked (submission.json, both Dockerfiles through the preflight), reserved in one quota ' +
        'transaction, copied to the artifact store under its sha256 and started.',
      `Then every team sent a 4th archive: ${refusedFourth} of ${TEAMS} were answered 429${other.length ? `; first burst answers other than 202: ${[...new Set(other)].join(', ')}` : ''}.`,
    ];
    return {
      id: 'intake',
      title: `Participant intake: ${TEAMS} teams × ${PER_TEAM} uploads in one burst`,
      rows: [
        row('uploads accepted per second', uploadRate, '/s', 'authenticated quota reads per second (same server, same run)', readRate, '/s'),
        row('upload answer time p50', percentile(upload.latencies, 50), 'ms', 'quota read p50', percentile(reads.latencies, 50), 'ms'),
        row('upload answer time p95', percentile(upload.latencies, 95), 'ms', 'quota read p95', percentile(reads.latencies, 95), 'ms'),
        row('uploads accepted (202)', accepted, '', 'uploads sent', uploads.length, '', { target: '= 1', pass: accepted === uploads.length }),
        row('pipelines started', started.length, '', 'uploads accepted', accepted, '', { target: '= 1', pass: started.length === accepted }),
        row('teams whose quota is exact (3 counted, the 4th refused)', Math.min(exact, refusedFourth), '', 'teams', TEAMS, '', { target: '= 1', pass: exact === TEAMS && refusedFourth === TEAMS }),
      ],
      notes,
      wallMs: performance.now() - wallStart,
    };
  } finally {
    await web.close();
    db.close();
    rmSync(root, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) mainOf(runIntake);
