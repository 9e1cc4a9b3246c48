/**
 * Contamination scan: n-gram overlap between a submission's declared training data and the evaluation
 * suites (open and closed). In 2023 top entries "exhibit[ed] significant overfitting on benchmark
 * datasets" (spec CHALLENGE_2023 §3.2); this makes verbatim leakage of eval items visible.
 *
 * Method (a 13-gram overlap check in the style of the GPT-3 / LLaMA contamination studies)
 * - Tokenizer (same for suites and training data): letters A–Z fold to a–z, a token is a maximal run
 *   of [a-z0-9]; every other character (punctuation, whitespace, any non-ASCII) only separates tokens.
 * - Text of an instance, found through type guards so new suite kinds keep working:
 *     multiple choice  {id, question, choices, answer}  → question + " " + choices[answer]
 *     generation       {id, input, references[]}         → input + " " + first reference (if any)
 *   Wrong choices are left out: they are short, generic words that would add noise, not signal.
 *   Instances of any other shape are counted in `skipped`.
 * - The n-grams of an instance are its distinct windows of n consecutive tokens. An instance with
 *   fewer than n tokens (but at least one) has one n-gram: its whole token sequence. Such short
 *   instances match on fewer tokens and so are more prone to false positives (a 2-token instance will
 *   match ordinary prose); read their hits with that in mind.
 * - Training files are streamed (createReadStream, 64 KiB chunks): the text is never held in memory,
 *   only a window of the last n tokens. The window slides across line boundaries (a question split
 *   over two lines is still found) but restarts at each file.
 * - Lookup: every eval n-gram is hashed (a rolling combination of per-token FNV-1a hashes) into a byte
 *   filter and a Map; a window whose hash hits is compared token by token, so a reported match is
 *   always exact.
 * - An instance is contaminated when at least one of its n-grams occurs in the training data.
 *   matchedNgrams counts its distinct n-grams that occur; occurrences counts every occurrence.
 *   rate = contaminated instances / instances of the scenario.
 * - `example` is the first matched n-gram (normalized tokens). For suites of kind "closed" it is
 *   withheld unless `revealClosedExamples` is set, so the report can be shown to participants.
 *
 * Size: over 400 lines because the streaming n-gram scanner (bounded memory over multi-GB training files) and
 * the report it fills are one algorithm; the renderer at the end is 30 lines.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { formatBytes } from '../units.js';
import { textTable } from '../text-table.js';

export const DEFAULT_NGRAM = 13;

/** The parts of a suite the scan reads; `Suite` of domain/harness/suite.ts fits it. */
export interface ScannableSuite {
  name: string;
  kind?: string;
  scenarios: readonly { name: string; instances: readonly unknown[] }[];
}

export interface MultipleChoiceLike {
  id: string;
  question: string;
  choices: readonly string[];
  answer: number;
}

export interface GenerationLike {
  id: string;
  input: string;
  references: readonly unknown[];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

export function isMultipleChoiceLike(value: unknown): value is MultipleChoiceLike {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.question === 'string' &&
    Array.isArray(value.choices) &&
    value.choices.every((c: unknown) => typeof c === 'string') &&
    typeof value.answer === 'number'
  );
}

export function isGenerationLike(value: unknown): value is GenerationLike {
  return isRecord(value) && typeof value.id === 'string' && typeof value.input === 'string' && Array.isArray(value.references);
}

/** A reference is a string, or an object with a string `text` or `output` field. */
function referenceText(reference: unknown): string | null {
  if (typeof reference === 'string') return reference;
  if (isRecord(reference)) {
    if (typeof reference.text === 'string') return reference.text;
    if (typeof reference.output === 'string') return reference.output;
  }
  return null;
}

/** The text of an instance that the scan looks for (see header), or null for an unknown shape. */
export function instanceText(instance: unknown): { id: string; text: string } | null {
  if (isMultipleChoiceLike(instance)) {
    const correct = instance.choices[instance.answer];
    return { id: instance.id, text: correct === undefined ? instance.question : `${instance.question} ${correct}` };
  }
  if (isGenerationLike(instance)) {
    const first = instance.references.length > 0 ? referenceText(instance.references[0]) : null;
    return { id: instance.id, text: first === null ? instance.input : `${instance.input} ${first}` };
  }
  return null;
}

const isTokenChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90);

/** Tokens of a text (see header): ASCII letters folded to lower case, runs of [a-z0-9]. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (isTokenChar(c)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      tokens.push(text.slice(start, i).toLowerCase());
      start = -1;
    }
  }
  return tokens;
}

// A module-level alias: inside a vm context (jest) every lookup of the global `Math` in the hot loop
// goes through the context's global interceptors and costs about 10×.
const imul = Math.imul;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const WINDOW_SEED = 0x9747b28c | 0;

function tokenHash(token: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < token.length; i++) h = imul(h ^ token.charCodeAt(i), FNV_PRIME);
  return h;
}

function mix(h: number, x: number): number {
  let v = imul(h ^ x, 0x5bd1e995);
  v ^= v >>> 15;
  return v | 0;
}

/** Hash of a token sequence, combined from the last token to the first (as the stream does). */
function gramHash(tokens: readonly string[]): number {
  let h = WINDOW_SEED;
  for (let j = tokens.length - 1; j >= 0; j--) h = mix(h, tokenHash(tokens[j]!));
  return h;
}

const FILTER_BITS = 20;

interface InstanceState {
  suite: number;
  scenario: number;
  instanceId: string;
  ngrams: number;
  matched: number;
  occurrences: number;
  example: string | null;
  location: { path: string; line: number } | null;
}

interface GramEntry {
  tokens: string[];
  instances: number[];
  seen: boolean;
}

interface NgramIndex {
  n: number;
  filter: Uint8Array;
  byHash: Map<number, GramEntry[]>;
  /** lengthMask[L] = 1 when some indexed n-gram has L tokens. */
  lengthMask: Uint8Array;
  instances: InstanceState[];
  skipped: number[][];
}

function buildIndex(suites: readonly ScannableSuite[], n: number): NgramIndex {
  const filter = new Uint8Array(1 << FILTER_BITS);
  const byHash = new Map<number, GramEntry[]>();
  const byKey = new Map<string, GramEntry>();
  const lengthMask = new Uint8Array(n + 1);
  const instances: InstanceState[] = [];
  const skipped = suites.map((suite) => suite.scenarios.map(() => 0));
  suites.forEach((suite, s) => {
    suite.scenarios.forEach((scenario, c) => {
      for (const raw of scenario.instances) {
        const found = instanceText(raw);
        if (found === null) {
          skipped[s]![c]!++;
          continue;
        }
        const tokens = tokenize(found.text);
        const state: InstanceState = { suite: s, scenario: c, instanceId: found.id, ngrams: 0, matched: 0, occurrences: 0, example: null, location: null };
        const index = instances.push(state) - 1;
        if (tokens.length === 0) continue;
        const grams = tokens.length < n ? [tokens] : Array.from({ length: tokens.length - n + 1 }, (_, i) => tokens.slice(i, i + n));
        const mine = new Set<string>();
        for (const gram of grams) {
          const key = gram.join(' ');
          if (mine.has(key)) continue;
          mine.add(key);
          state.ngrams++;
          let entry = byKey.get(key);
          if (entry === undefined) {
            entry = { tokens: gram, instances: [], seen: false };
            byKey.set(key, entry);
            const h = gramHash(gram);
            filter[h >>> (32 - FILTER_BITS)] = 1;
            const bucket = byHash.get(h);
            if (bucket === undefined) byHash.set(h, [entry]);
            else bucket.push(entry);
            lengthMask[gram.length] = 1;
          }
          entry.instances.push(index);
        }
      }
    });
  });
  return { n, filter, byHash, lengthMask, instances, skipped };
}

export interface TrainingFileSummary {
  path: string;
  bytes: number;
  tokens: number;
}

export interface ContaminatedInstance {
  instanceId: string;
  /** Distinct n-grams of the instance found in the training data. */
  matchedNgrams: number;
  /** Distinct n-grams the instance has (1 for instances shorter than n). */
  ngrams: number;
  /** Occurrences of the instance's n-grams in the training data, all files together. */
  occurrences: number;
  /** First matched n-gram, normalized; withheld for closed suites unless revealClosedExamples. */
  example: string;
  /** Where that first match ends: training file and 1-based line. */
  firstMatch: { path: string; line: number };
}

export interface ScenarioContamination {
  suite: string;
  suiteKind: string | null;
  scenario: string;
  instances: number;
  /** Instances whose shape the scan does not know (no text extracted). */
  skipped: number;
  contaminated: ContaminatedInstance[];
  /** contaminated.length / instances (0 for an empty scenario). */
  rate: number;
}

export interface ContaminationReport {
  n: number;
  trainingFiles: TrainingFileSummary[];
  suites: ScenarioContamination[];
  totalContaminated: number;
  /** Wall time of the scan (index build + streaming), ms. */
  elapsedMs: number;
}

export interface ScanOptions {
  files: readonly string[];
  suites: readonly ScannableSuite[];
  n?: number;
  revealClosedExamples?: boolean;
  /** Called after each chunk: bytes read of the current file, and its size. */
  onProgress?: (progress: { path: string; bytesRead: number; bytes: number }) => void;
}

export const WITHHELD_EXAMPLE = '[withheld: closed suite]';

function countNewlines(text: string, end: number): number {
  let count = 0;
  let i = text.indexOf('\n');
  while (i >= 0 && i < end) {
    count++;
    i = text.indexOf('\n', i + 1);
  }
  return count;
}

/** Longest token prefix kept across chunk boundaries; longer tokens cannot equal an eval token anyway. */
const MAX_TOKEN_CHARS = 1 << 16;

/**
 * Streams one file through the index; returns its token count. No per-token allocation: the ring of
 * the last n tokens holds (chunk, start, end) references into at most a few 64 KiB chunks, and only a
 * token that straddles two chunks is materialized as its own string.
 */
async function scanFile(path: string, bytes: number, index: NgramIndex, onProgress: ScanOptions['onProgress']): Promise<number> {
  const { n, filter, byHash, lengthMask, instances } = index;
  const ringHashes = new Int32Array(n);
  const ringText = new Array<string>(n).fill('');
  const ringStart = new Int32Array(n);
  const ringEnd = new Int32Array(n);
  let pos = -1; // ring slot of the newest token
  let count = 0; // tokens so far in this file
  let line = 1; // line at the start of the current chunk
  // token state, kept across chunks
  let inToken = false;
  let tokenStart = 0;
  let prefix = ''; // text of a token begun in an earlier chunk
  let prefixTooLong = false;
  let h = FNV_OFFSET;

  const sameTokens = (entry: GramEntry, length: number): boolean => {
    let slot = pos;
    for (let j = length - 1; j >= 0; j--) {
      const expected = entry.tokens[j]!;
      const text = ringText[slot]!;
      const start = ringStart[slot]!;
      if (ringEnd[slot]! - start !== expected.length) return false;
      for (let k = 0; k < expected.length; k++) {
        let c = text.charCodeAt(start + k);
        if (c >= 65 && c <= 90) c += 32;
        if (c !== expected.charCodeAt(k)) return false;
      }
      slot = slot === 0 ? n - 1 : slot - 1;
    }
    return true;
  };

  const onWindow = (windowHash: number, length: number, chunk: string, at: number): void => {
    const bucket = byHash.get(windowHash);
    if (bucket === undefined) return;
    for (const entry of bucket) {
      if (entry.tokens.length !== length || !sameTokens(entry, length)) continue;
      const firstSighting = !entry.seen;
      entry.seen = true;
      for (const i of entry.instances) {
        const state = instances[i]!;
        state.occurrences++;
        if (firstSighting) state.matched++;
        if (state.example === null) {
          state.example = entry.tokens.join(' ');
          state.location = { path, line: line + countNewlines(chunk, at) };
        }
      }
    }
  };

  /** A token ended: text[start, end) (already folded into h) enters the window; look the window up. */
  const pushToken = (text: string, start: number, end: number, chunk: string, at: number): void => {
    pos = pos + 1 === n ? 0 : pos + 1;
    ringHashes[pos] = h;
    ringText[pos] = text;
    ringStart[pos] = start;
    ringEnd[pos] = end;
    count++;
    const longest = count < n ? count : n;
    let w = WINDOW_SEED;
    let slot = pos;
    for (let length = 1; length <= longest; length++) {
      w = mix(w, ringHashes[slot]!);
      if (lengthMask[length] === 1 && filter[w >>> (32 - FILTER_BITS)] === 1) onWindow(w, length, chunk, at);
      slot = slot === 0 ? n - 1 : slot - 1;
    }
  };

  const endToken = (chunk: string, end: number): void => {
    inToken = false;
    if (prefix === '' && !prefixTooLong) return pushToken(chunk, tokenStart, end, chunk, end);
    // the token began in an earlier chunk: materialize it (or give up on its text if it is huge)
    const text = prefixTooLong ? '' : prefix + chunk.slice(tokenStart, end);
    prefix = '';
    prefixTooLong = false;
    pushToken(text, 0, text.length, chunk, end);
  };

  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
  for await (const chunk of stream as AsyncIterable<string>) {
    if (inToken) tokenStart = 0; // the token goes on from the previous chunk
    const length = chunk.length;
    for (let i = 0; i < length; i++) {
      let c = chunk.charCodeAt(i);
      if (c >= 65 && c <= 90) c += 32;
      else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57))) {
        if (inToken) endToken(chunk, i);
        continue;
      }
      if (!inToken) {
        inToken = true;
        tokenStart = i;
        h = FNV_OFFSET;
      }
      h = imul(h ^ c, FNV_PRIME);
    }
    if (inToken && !prefixTooLong) {
      prefix += chunk.slice(tokenStart);
      if (prefix.length > MAX_TOKEN_CHARS) {
        prefix = '';
        prefixTooLong = true;
      }
    }
    line += countNewlines(chunk, length);
    onProgress?.({ path, bytesRead: stream.bytesRead, bytes });
  }
  if (inToken) endToken('', 0);
  return count;
}

export async function scanContamination(options: ScanOptions): Promise<ContaminationReport> {
  const started = Date.now();
  const n = options.n ?? DEFAULT_NGRAM;
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new RangeError(`n must be an integer in [1, 1000], got ${n}`);
  const index = buildIndex(options.suites, n);
  const trainingFiles: TrainingFileSummary[] = [];
  for (const path of options.files) {
    let bytes: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new Error('not a regular file');
      bytes = info.size;
    } catch (error) {
      throw new Error(`training file ${path}: cannot read it (${(error as Error).message})`);
    }
    const tokens = await scanFile(path, bytes, index, options.onProgress);
    trainingFiles.push({ path, bytes, tokens });
  }

  const suites: ScenarioContamination[] = [];
  options.suites.forEach((suite, s) => {
    const withhold = suite.kind === 'closed' && options.revealClosedExamples !== true;
    suite.scenarios.forEach((scenario, c) => {
      const contaminated = index.instances
        .filter((state) => state.suite === s && state.scenario === c && state.matched > 0)
        .map(
          (state): ContaminatedInstance => ({
            instanceId: state.instanceId,
            matchedNgrams: state.matched,
            ngrams: state.ngrams,
            occurrences: state.occurrences,
            example: withhold ? WITHHELD_EXAMPLE : (state.example ?? ''),
            firstMatch: state.location ?? { path: '', line: 0 },
          }),
        );
      const instances = scenario.instances.length;
      suites.push({
        suite: suite.name,
        suiteKind: suite.kind ?? null,
        scenario: scenario.name,
        instances,
        skipped: index.skipped[s]![c]!,
        contaminated,
        rate: instances === 0 ? 0 : contaminated.length / instances,
      });
    });
  });
  return { n, trainingFiles, suites, totalContaminated: suites.reduce((sum, s) => sum + s.contaminated.length, 0), elapsedMs: Date.now() - started };
}

const pct = (rate: number): string => `${(rate * 100).toFixed(1)}%`;


/** Plain text for the CLI; lists at most `examples` contaminated instances per scenario. */
export function renderContaminationReport(report: ContaminationReport, options: { examples?: number } = {}): string {
  const limit = options.examples ?? 5;
  const lines = [`Contamination — ${report.n}-gram overlap between training data and evaluation suites (an instance shorter than ${report.n} tokens must appear whole)`];
  if (report.trainingFiles.length === 0) lines.push('  (no training files declared)');
  for (const file of report.trainingFiles) lines.push(`  ${file.path}: ${formatBytes(file.bytes)}, ${file.tokens} tokens`);
  const header = ['suite', 'scenario', 'instances', 'contaminated', 'rate'];
  const rows = report.suites.map((s) => [s.suiteKind === null ? s.suite : `${s.suite} (${s.suiteKind})`, s.scenario, String(s.instances), String(s.contaminated.length), pct(s.rate)]);
  lines.push('', ...textTable(header, rows));
  for (const s of report.suites) {
    if (s.contaminated.length === 0) continue;
    lines.push('', `${s.suite}/${s.scenario}: ${s.contaminated.length} of ${s.instances} instances found in the training data`);
    for (const c of s.contaminated.slice(0, limit)) {
      lines.push(`  ${c.instanceId}: ${c.matchedNgrams}/${c.ngrams} n-grams, ${c.occurrences}× — "${c.example}" (${c.firstMatch.path}:${c.firstMatch.line})`);
    }
    if (s.contaminated.length > limit) lines.push(`  … and ${s.contaminated.length - limit} more`);
  }
  lines.push(
    '',
    report.totalContaminated === 0
      ? `No evaluation instance shares a ${report.n}-gram (or, if shorter, its whole text) with the training data.`
      : `${report.totalContaminated} evaluation instance${report.totalContaminated === 1 ? '' : 's'} share${report.totalContaminated === 1 ? 's' : ''} text with the training data.`,
  );
  return lines.join('\n');
}
