/**
 * Why a `docker build` failed, read from its log: the platform's fault (not charged, retried with backoff:
 * BuildInfrastructure) or the participant's (charged: BuildFailed). Pure text analysis of the legacy
 * builder's output (DOCKER_BUILDKIT=0, `Step N/M : ...` headers); no Docker, no Temporal.
 *
 * How a log is read:
 *  1. ANSI colours (the legacy builder paints a step's stderr red) and carriage returns are removed.
 *  2. The failing step is the last `Step N/M : ...` header. Only the output after it is examined (what an
 *     earlier, successful step printed decided nothing); a log without headers (the daemon refused the
 *     Dockerfile, the engine could not be reached) is examined whole. The quoted command in the closing
 *     "The command '...' returned a non-zero code: N" line is the participant's text, not output, and is
 *     blanked before matching (an `echo "Connection refused"` in a RUN does not make it ours).
 *  3. The rules below are tried in table order; the first that matches a line decides. The decisive line
 *     is the first line it matches (the last one for `pick: 'last'`, a traceback's final exception),
 *     trimmed to at most DECISIVE_LINE_MAX characters.
 *  4. Nothing matched: the participant's (a step failed for a reason we cannot tell is ours).
 *
 * The order carries the policy. What the build's sandbox did comes first: the platform stopped a build that
 * printed more than its output cap (it appends outputCapLine), and the engine reported an out-of-memory kill
 * of the failing step's container (the memory limit of the track's builds, TRACKS[track].build), and the
 * sandbox refused a connection of the build (its rules' counters moved: domain/build-refusals.ts). All three are
 * known from the build itself, not from what the participant printed (a rule's `when`), and all are charged: the
 * limits are published, and a build that probes the host or the private ranges is not retried four times for free. Engine and host failures come next. A failing FROM is decided by whose
 * image it names. Then infrastructure evidence wins over the participant's symptoms: pip prints "No matching
 * distribution found for X" after every retry that failed for network reasons, apt reports "Unable to
 * locate package" after a mirror answered 503, so the network lines must be looked at before those.
 *
 * Size: over 400 lines because half of it is the rule table (one entry per known build failure, data rather
 * than code); the classifier and the bounded build output beside it are the table's only readers.
 */
import { destinationAddress } from './build-refusals.js';
import { formatBytes } from './units.js';

export type BuildFailureCategory = 'infrastructure' | 'participant';

/** What the rules see of the build: the failing step's image when it is a FROM, and whether the platform provides it. */
export interface BuildFailureContext {
  /** The image of the failing step when it is `FROM <image>` with a literal image name; null otherwise. */
  fromImage: string | null;
  /** Whether `fromImage` is one of the platform's base images (challenge/...). */
  platformImage: boolean;
  /** The platform stopped the build because it printed more than its output cap. */
  outputCapped: boolean;
  /** The engine reported an out-of-memory kill of the failing step's container. */
  memoryKilled: boolean;
  /** What the build sandbox refused this build (domain/build-refusals.ts refusedDestinations); empty when nothing. */
  sandboxRefused: readonly string[];
}

export interface BuildFailureRule {
  id: string;
  category: BuildFailureCategory;
  /** What a match means, said in the failure reason (e.g. "package index unreachable: TLS verification failed"). */
  meaning: string;
  /** Tested against each examined line, ANSI-free and with a RUN's quoted command blanked. */
  pattern: RegExp;
  /** Which matching line is quoted: the first (default) or the last. */
  pick?: 'first' | 'last';
  /** The rule applies only in this context (e.g. a failing FROM step). */
  when?: (context: BuildFailureContext) => boolean;
}

const isFromStep = (c: BuildFailureContext) => c.fromImage !== null;

/** One regular expression that matches any of `parts` (each a top-level alternation), written over several lines. */
const anyOf = (flags: string, parts: RegExp[]): RegExp => new RegExp(parts.map((p) => p.source).join('|'), flags);

/** Every rule, in the order they are tried. */
export const BUILD_FAILURE_RULES = [
  // ---- the build's sandbox: limits the platform enforces and publishes (charged)
  {
    id: 'output-cap',
    category: 'participant',
    meaning: 'the build printed more than its output cap and was stopped',
    pattern: /^\[challenge\] the build printed more than /,
    when: (c) => c.outputCapped,
  },
  {
    id: 'out-of-memory',
    category: 'participant',
    meaning: "a build step was killed for exceeding the build's memory limit",
    pattern: /returned a non-zero code: \d+|did not complete successfully: exit code: \d+|^Killed$/,
    pick: 'last', // the step's exit status (137), after a "Killed" the shell may print
    when: (c) => c.memoryKilled,
  },
  {
    id: 'sandbox-refused',
    category: 'participant',
    meaning: 'a build step connected to a destination the build sandbox refuses (the build host, private ranges, link-local)',
    pattern: /\S/, // any line: the decisive one is the first naming the destination, else the step's exit status
    when: (c) => c.sandboxRefused.length > 0,
  },

  // ---- the Docker engine and the build host
  {
    id: 'docker-daemon-unreachable',
    category: 'infrastructure',
    meaning: 'the Docker engine could not be reached',
    pattern: /Cannot connect to the Docker daemon|error during connect|Is the docker daemon running/i,
  },
  { id: 'disk-full', category: 'infrastructure', meaning: 'the build host ran out of disk space', pattern: /no space left on device/i },
  { id: 'layer-registration', category: 'infrastructure', meaning: 'the Docker engine could not store an image layer', pattern: /failed to register layer/i },
  { id: 'engine-deadline', category: 'infrastructure', meaning: 'a call to the Docker engine timed out', pattern: /context deadline exceeded/i },

  // ---- a failing FROM: no registry can be reached, so the image must be on the host already
  {
    id: 'platform-image-missing',
    category: 'infrastructure',
    meaning: "the platform's base image is missing on this host",
    pattern: /^(?!--->)\S/,
    when: (c) => isFromStep(c) && c.platformImage,
  },
  {
    id: 'base-image-unavailable',
    category: 'participant',
    meaning: 'the Dockerfile starts FROM an image this platform does not provide (no container registry can be reached; start FROM a challenge/ base image)',
    pattern: /^(?!--->)\S/,
    when: (c) => isFromStep(c) && !c.platformImage,
  },

  // ---- the Dockerfile itself
  {
    id: 'dockerfile-syntax',
    category: 'participant',
    meaning: 'the Dockerfile has a syntax error',
    pattern: /dockerfile parse error|unknown instruction:|Dockerfile \(.*\) cannot be empty/i,
  },

  // ---- the network between the build and a package index, mirror or download source (the platform's)
  {
    id: 'tls-verification',
    category: 'infrastructure',
    meaning: 'package index unreachable: TLS verification failed',
    pattern: anyOf('i', [
      /CERTIFICATE_VERIFY_FAILED|certificate verify failed|self[- ]signed certificate in certificate chain/,
      /problem confirming the ssl certificate|\bSSLError\b|SSL certificate problem/,
      /server certificate verification failed|Certificate verification failed/,
    ]),
  },
  {
    id: 'dns',
    category: 'infrastructure',
    meaning: 'package index unreachable: DNS lookup failed',
    pattern: anyOf('i', [
      /Temporary failure in name resolution|Name or service not known|Could not resolve host|nodename nor servname/,
      /Temporary failure resolving|getaddrinfo failed|\blookup \S+( on \S+)?: no such host/,
    ]),
  },
  {
    id: 'network-timeout',
    category: 'infrastructure',
    meaning: 'package index unreachable: the connection timed out',
    pattern: anyOf('i', [
      /\b(?:read|connect|connection|operation|handshake) timed out\b|ConnectTimeoutError|ReadTimeoutError/,
      /\bi\/o timeout\b|TLS handshake timeout|Operation too slow|(?:socket\.timeout|TimeoutError)\b.*\btimed out/,
      /<urlopen error timed out>/,
    ]),
  },
  {
    id: 'connection-refused',
    category: 'infrastructure',
    meaning: 'package index unreachable: connection refused',
    pattern: /Connection refused|ConnectionRefusedError|NewConnectionError|Failed to establish a new connection/i,
  },
  {
    id: 'connection-reset',
    category: 'infrastructure',
    meaning: 'package index unreachable: connection reset',
    pattern:
      /ConnectionResetError|connection reset by peer|Connection aborted|RemoteDisconnected|IncompleteRead|ChunkedEncodingError|unexpected EOF while reading/i,
  },
  {
    id: 'network-unreachable',
    category: 'infrastructure',
    meaning: 'package index unreachable: could not connect',
    pattern:
      /Failed to connect to \S+ port \d+|Could not connect to \S+|Unable to connect to \S+|Network is unreachable|No route to host|ProxyError|Cannot connect to proxy|Tunnel connection failed/i,
  },
  {
    id: 'http-5xx',
    category: 'infrastructure',
    meaning: 'a package index or download source answered with a server error (HTTP 5xx)',
    pattern: anyOf('i', [
      /\bHTTP error 5\d\d\b|\b5\d\d\s+(?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out)\b/,
      /returned error: 5\d\d\b|too many 5\d\d error responses|\bHTTP\/[\d.]+ 5\d\d\b/,
      /server returned HTTP status 5\d\d/,
    ]),
  },

  // ---- the participant's own choices and code (only when no rule above matched)
  {
    id: 'package-version-missing',
    category: 'participant',
    meaning: 'a pinned package version does not exist on the package index',
    pattern: /No matching distribution found for/i,
  },
  {
    id: 'package-version-unsatisfiable',
    category: 'participant',
    meaning: 'no release of a package satisfies the requirement',
    pattern: /Could not find a version that satisfies the requirement/i,
  },
  {
    id: 'package-conflict',
    category: 'participant',
    meaning: 'the pinned packages conflict with each other',
    pattern: /ResolutionImpossible|have conflicting dependencies|versions have conflicting dependencies/i,
  },
  {
    id: 'apt-package-missing',
    category: 'participant',
    meaning: 'an apt package or version does not exist',
    pattern: /Unable to locate package|has no installation candidate|E: Version '.*' for '.*' was not found/i,
  },
  {
    id: 'copy-source-missing',
    category: 'participant',
    meaning: 'a COPY or ADD names a file that is not in the submission',
    pattern: /(?:COPY|ADD) failed:|file not found in build context/i,
  },
  {
    id: 'python-exception',
    category: 'participant',
    meaning: 'Python code of a RUN step raised an exception',
    pattern: /^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception)(?::\s|$)/,
    pick: 'last',
  },
  {
    id: 'run-exit-code',
    category: 'participant',
    meaning: 'a RUN step exited with a non-zero status',
    pattern: /returned a non-zero code: \d+|did not complete successfully: exit code: \d+/,
  },
] as const satisfies readonly BuildFailureRule[];

export type BuildFailureRuleId = (typeof BUILD_FAILURE_RULES)[number]['id'] | 'unrecognised';

/** The rule when nothing matched: charged, as before (a step failed and we cannot tell it is ours). */
export const UNRECOGNISED_BUILD_FAILURE = {
  rule: 'unrecognised',
  category: 'participant',
  meaning: 'the build failed for a reason no rule recognises',
} as const;

export interface BuildFailureClassification {
  category: BuildFailureCategory;
  rule: BuildFailureRuleId;
  meaning: string;
  /** The line that decided it (trimmed, at most DECISIVE_LINE_MAX characters); null for an empty log. */
  line: string | null;
  /** The failing Dockerfile step, e.g. `Step 3/12 : RUN pip install six==99.0`; null when no step ran. */
  step: string | null;
}

export const DECISIVE_LINE_MAX = 300;

/** ANSI escape sequences (colours, cursor moves) and carriage returns removed. */
export function cleanBuildLog(log: string): string {
  // eslint-disable-next-line no-control-regex
  return log.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\r\n?/g, '\n');
}

const STEP_LINE = /^Step \d+\/\d+ : .*$/;
/** The legacy builder's closing line of a failed RUN; the quoted command is the participant's text. */
const COMMAND_ECHO = /^(The command )'.*'( returned a non-zero code: \d+)\s*$/;

function clip(line: string): string {
  const trimmed = line.trim();
  return trimmed.length > DECISIVE_LINE_MAX ? `${trimmed.slice(0, DECISIVE_LINE_MAX - 1)}…` : trimmed;
}

/** `Step 1/4 : FROM challenge/base:tag AS build` → `challenge/base:tag`; null when not a FROM or the image is a variable. */
export function fromImageOf(step: string | null): string | null {
  if (!step) return null;
  const m = /^Step \d+\/\d+ : FROM\s+(?:--platform=\S+\s+)?(\S+)/i.exec(step);
  if (!m || m[1]!.includes('$')) return null;
  return m[1]!;
}

export interface ClassifyOptions {
  /** Whether an image is one of the platform's base images; default: its name starts with `challenge/`. */
  isPlatformImage?: (image: string) => boolean;
  /** The platform stopped the build at its output cap (the log then ends with outputCapLine). */
  outputCapped?: boolean;
  /** The engine reported an out-of-memory kill of the failing step's container. */
  memoryKilled?: boolean;
  /** The memory limit of each build step (e.g. "2g"), named in the meaning of an out-of-memory kill. */
  memoryLimit?: string;
  /** The destinations the build sandbox refused this build (domain/build-refusals.ts refusedDestinations). */
  sandboxRefused?: readonly string[];
}

/** Classifies the log of a failed `docker build`. */
export function classifyBuildFailure(log: string, options: ClassifyOptions = {}): BuildFailureClassification {
  const lines = cleanBuildLog(log).split('\n');
  let stepIndex = -1;
  lines.forEach((line, i) => {
    if (STEP_LINE.test(line.trim())) stepIndex = i;
  });
  const step = stepIndex >= 0 ? clip(lines[stepIndex]!) : null;
  const examined = lines
    .slice(stepIndex + 1)
    .map((raw) => ({ raw, text: raw.trim().replace(COMMAND_ECHO, '$1$2') }))
    .filter((l) => l.text !== '');
  const fromImage = fromImageOf(step);
  const context: BuildFailureContext = {
    fromImage,
    platformImage: fromImage !== null && (options.isPlatformImage ?? ((image) => image.startsWith('challenge/')))(fromImage),
    outputCapped: options.outputCapped === true,
    memoryKilled: options.memoryKilled === true,
    sandboxRefused: options.sandboxRefused ?? [],
  };
  for (const rule of BUILD_FAILURE_RULES as readonly BuildFailureRule[]) {
    if (rule.when && !rule.when(context)) continue;
    const matching = examined.filter((l) => rule.pattern.test(l.text));
    if (matching.length === 0) continue;
    let decisive = rule.pick === 'last' ? matching[matching.length - 1]! : matching[0]!;
    let meaning = rule.id === 'out-of-memory' && options.memoryLimit ? `${rule.meaning} (${options.memoryLimit})` : rule.meaning;
    if (rule.id === 'sandbox-refused') {
      const addresses = context.sandboxRefused.map(destinationAddress);
      const exit = matching.filter((l) => /returned a non-zero code: \d+|exit code: \d+/.test(l.text));
      decisive = matching.find((l) => addresses.some((a) => l.text.includes(a))) ?? exit[exit.length - 1] ?? matching[matching.length - 1]!;
      meaning = `${rule.meaning}: ${context.sandboxRefused.join('; ')}`;
    }
    return { category: rule.category, rule: rule.id as BuildFailureRuleId, meaning, line: clip(decisive.raw), step };
  }
  const last = examined[examined.length - 1];
  return { ...UNRECOGNISED_BUILD_FAILURE, line: last ? clip(last.raw) : null, step };
}

/**
 * The failure category a classification becomes (domain/failures.ts): a step killed for memory is OutOfMemory
 * (charged, in the build stage); a build stopped at its output cap is BuildFailed (charged, with its own reason).
 */
export function buildFailureCategory(classification: BuildFailureClassification): 'BuildInfrastructure' | 'BuildFailed' | 'OutOfMemory' {
  if (classification.rule === 'out-of-memory') return 'OutOfMemory';
  return classification.category === 'infrastructure' ? 'BuildInfrastructure' : 'BuildFailed';
}

/**
 * The failure reason, quoting the decisive line:
 *   Dockerfile.train did not build at "Step 3/12 : RUN pip install six==99.0": ERROR: No matching distribution found for six==99.0
 *   building Dockerfile failed for a reason of the platform (package index unreachable: TLS verification failed): WARNING: Retrying ...
 */
export function buildFailureReason(dockerfile: string, classification: BuildFailureClassification): string {
  const quoted = classification.line ? `: ${classification.line}` : '';
  const at = classification.step ? ` at "${classification.step}"` : '';
  if (classification.category === 'infrastructure') return `building ${dockerfile} failed for a reason of the platform (${classification.meaning})${quoted}`;
  if (classification.rule === 'out-of-memory') return `${dockerfile} ran out of memory${at}: ${classification.meaning}${quoted}`;
  if (classification.rule === 'output-cap') return `${dockerfile} was stopped${at}${quoted}`;
  if (classification.rule === 'sandbox-refused') return `${dockerfile} did not build${at}: ${classification.meaning}${quoted}`;
  return `${dockerfile} did not build${at}${quoted}`;
}

// ---------------------------------------------------------------------------------------------------
// Bounded build output: a build may print at most `capBytes`; the log keeps its head and its tail.

export interface OutputCap {
  /** Past this many bytes the build is stopped. */
  capBytes: number;
  /** The first bytes kept in the log. */
  headBytes: number;
  /** The last bytes kept in the log. */
  tailBytes: number;
}

/** The line the platform appends to the log of a build it stopped at the output cap (rule output-cap quotes it). */
export function outputCapLine(cap: OutputCap): string {
  return (
    `[challenge] the build printed more than ${formatBytes(cap.capBytes)}; output is capped at ${formatBytes(cap.capBytes)} per Dockerfile, ` +
    `so the build was stopped (the log keeps the first ${formatBytes(cap.headBytes)} and the last ${formatBytes(cap.tailBytes)}). ` +
    'Print less: pip install -q, no progress bars, redirect verbose output to a file'
  );
}

/**
 * What a build printed, bounded: the first `headBytes` and the last `tailBytes`, and the count of everything.
 * `push` returns true from the chunk that takes the total past `capBytes` on.
 */
export class BoundedOutput {
  private readonly head: Buffer[] = [];
  private headLength = 0;
  private tail: Buffer[] = [];
  private tailLength = 0;
  /** Bytes pushed in all. */
  total = 0;

  constructor(readonly cap: OutputCap) {}

  get exceeded(): boolean {
    return this.total > this.cap.capBytes;
  }

  /** Bytes pushed but not kept. */
  get omitted(): number {
    return this.total - this.headLength - this.tailLength;
  }

  push(chunk: Buffer | string): boolean {
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += data.length;
    if (this.headLength < this.cap.headBytes) {
      const taken = data.subarray(0, this.cap.headBytes - this.headLength);
      this.head.push(taken);
      this.headLength += taken.length;
      data = data.subarray(taken.length);
    }
    if (data.length > 0 && this.cap.tailBytes > 0) {
      if (data.length >= this.cap.tailBytes) {
        this.tail = [data.subarray(data.length - this.cap.tailBytes)];
        this.tailLength = this.cap.tailBytes;
      } else {
        this.tail.push(data);
        this.tailLength += data.length;
        while (this.tailLength > this.cap.tailBytes) {
          const excess = this.tailLength - this.cap.tailBytes;
          const first = this.tail[0]!;
          if (first.length <= excess) {
            this.tail.shift();
            this.tailLength -= first.length;
          } else {
            this.tail[0] = first.subarray(excess);
            this.tailLength -= excess;
          }
        }
      }
    }
    return this.exceeded;
  }

  /** The kept output as text, with a line saying how much was left out between head and tail. */
  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    if (this.omitted === 0) return head + tail;
    const omitted = this.omitted >= 1024 ? `${formatBytes(this.omitted)} (${this.omitted} bytes)` : `${this.omitted} bytes`;
    return `${head}\n[challenge] … ${omitted} of build output left out …\n${tail}`;
  }
}
