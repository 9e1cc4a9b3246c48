/**
 * domain/build-failures.ts: each rule of the table against log excerpts of the legacy builder (DOCKER_BUILDKIT=0)
 * as docker, pip, apt and curl print them, ANSI colours included. Infrastructure evidence wins over the symptoms
 * pip and apt print after it; the participant is charged only when nothing of ours shows.
 */
import { describe, expect, it } from '@jest/globals';
import {
  BUILD_FAILURE_RULES,
  DECISIVE_LINE_MAX,
  BoundedOutput,
  buildFailureCategory,
  buildFailureReason,
  classifyBuildFailure,
  cleanBuildLog,
  fromImageOf,
  outputCapLine,
  type BuildFailureRuleId,
  type ClassifyOptions,
} from '../../domain/build-failures.js';
import { FAILURE_CATEGORIES } from '../../domain/failures.js';
import { inRange, refusalsBetween, refusedDestinations } from '../../domain/build-refusals.js';
import { ACTIVITY_POLICY, TRACKS, TRACK_IDS, retryPolicyWith } from '../../temporal.config.js';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import { buildArgs, failingStepContainer } from '../../infra/docker.js';
import { BUILD_BLOCKED_RANGES, buildChainName, buildChainRules, resolversOf } from '../../infra/firewall.js';

const RED = '\u001b[91m';
const RESET = '\u001b[0m';
/** The legacy builder prints a RUN's stderr red: `ESC[91m<line>\nESC[0m`. */
const stderr = (...lines: string[]) => lines.map((line) => `${RED}${line}\n${RESET}`).join('');
const BANNER = `DEPRECATED: The legacy builder is deprecated and will be removed in a future release.
            BuildKit is currently disabled; enable it by removing the DOCKER_BUILDKIT=0
            environment-variable.

Sending build context to Docker daemon  23.55kB
`;
/** The banner and the `Step N/M` headers of the steps that ran; the last one is the failing step. */
const header = (steps: string[], total = steps.length) =>
  BANNER +
  steps
    .map((step, i) => {
      const last = i === steps.length - 1;
      if (step.startsWith('FROM ')) return `Step ${i + 1}/${total} : ${step}\n${last ? '' : ' ---> c1998cb954ec\n'}`;
      return `Step ${i + 1}/${total} : ${step}\n ---> Running in 8098cce474f${i}\n${last ? '' : `Removing intermediate container 8098cce474f${i}\n ---> 0cd5d22df5a${i}\n`}`;
    })
    .join('');
const failedRun = (command: string, code: number) => `The command '/bin/sh -c ${command}' returned a non-zero code: ${code}\n`;

const PIP_RETRY = (total: number, cause: string) =>
  `WARNING: Retrying (Retry(total=${total}, connect=None, read=None, redirect=None, status=None)) after connection broken by '${cause}': /simple/six/`;
const SSL_CAUSE =
  "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:992)'))";
const REFUSED_CAUSE =
  "NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7ff3869d8250>: Failed to establish a new connection: [Errno 111] Connection refused')";

/** One excerpt per rule (the test below checks that every rule of the table has one). */
const CAP = ACTIVITY_POLICY.buildOutput;
const OOM_STEP = 'RUN python3 -c "b = bytearray(3 * 1024**3)"';

const METADATA_STEP = 'RUN python3 -c "import urllib.request; urllib.request.urlopen(\'http://169.254.169.254/latest/meta-data/\', timeout=3)"';
const METADATA_REFUSED = '169.254.169.254:80 (link-local, where the cloud instance metadata service (169.254.169.254) answers)';
const CASES: {
  name: string;
  log: string;
  rule: BuildFailureRuleId;
  line: RegExp | string;
  step?: string | null;
  options?: ClassifyOptions;
  /** The meaning when it adds to the table's (the destinations of a refusal). */
  meaning?: string;
}[] = [
  {
    name: 'pip retries after TLS verification failed, then "No matching distribution": infrastructure',
    log:
      header(['FROM challenge/base:bookworm-python3', 'WORKDIR /app', 'RUN echo step two', 'RUN pip install six==1.16.0'], 5) +
      stderr(...[4, 3, 2, 1, 0].map((n) => PIP_RETRY(n, SSL_CAUSE))) +
      (`Could not fetch URL https://pypi.org/simple/six/: There was a problem confirming the ssl certificate: HTTPSConnectionPool(host='pypi.org', port=443): ` +
        `Max retries exceeded with url: /simple/six/ (Caused by ${SSL_CAUSE}) - skipping\n`) +
      stderr(
        'ERROR: Could not find a version that satisfies the requirement six==1.16.0 (from versions: none)',
        'ERROR: No matching distribution found for six==1.16.0',
      ) +
      failedRun('pip install six==1.16.0', 1),
    rule: 'tls-verification',
    line: PIP_RETRY(4, SSL_CAUSE),
    step: 'Step 4/5 : RUN pip install six==1.16.0',
  },
  {
    name: 'pip retries after connection refused, then "No matching distribution": infrastructure',
    log:
      header(['FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2', 'RUN pip install --index-url https://127.0.0.1:9/simple six==1.16.0']) +
      'Looking in indexes: https://127.0.0.1:9/simple\n' +
      stderr(...[4, 3, 2, 1, 0].map((n) => PIP_RETRY(n, REFUSED_CAUSE))) +
      stderr(
        'ERROR: Could not find a version that satisfies the requirement six==1.16.0 (from versions: none)',
        'ERROR: No matching distribution found for six==1.16.0',
      ) +
      failedRun('pip install --index-url https://127.0.0.1:9/simple six==1.16.0', 1),
    rule: 'connection-refused',
    line: PIP_RETRY(4, REFUSED_CAUSE),
  },
  {
    name: 'urllib to a closed port: connection refused',
    log:
      header(['FROM challenge/base:bookworm-python3', `RUN python3 -c "import urllib.request; urllib.request.urlopen('https://127.0.0.1:9/simple/')"`]) +
      stderr(
        'Traceback (most recent call last):',
        '  File "/usr/lib/python3.11/socket.py", line 836, in create_connection',
        '    sock.connect(sa)',
        'ConnectionRefusedError: [Errno 111] Connection refused',
        '',
        'During handling of the above exception, another exception occurred:',
        'urllib.error.URLError: <urlopen error [Errno 111] Connection refused>',
      ) +
      failedRun(`python3 -c "import urllib.request; urllib.request.urlopen('https://127.0.0.1:9/simple/')"`, 1),
    rule: 'connection-refused',
    line: 'ConnectionRefusedError: [Errno 111] Connection refused',
  },
  {
    name: 'a pinned version that does not exist: charged, quoting pip',
    log:
      header(['FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2', 'RUN pip install six==99.0']) +
      stderr(
        'ERROR: Could not find a version that satisfies the requirement six==99.0 (from versions: 0.9.0, 0.9.1, 1.15.0, 1.16.0, 1.17.0)',
        'ERROR: No matching distribution found for six==99.0',
      ) +
      failedRun('pip install six==99.0', 1),
    rule: 'package-version-missing',
    line: 'ERROR: No matching distribution found for six==99.0',
    step: 'Step 2/2 : RUN pip install six==99.0',
  },
  {
    name: 'only "Could not find a version" (a cut log): charged',
    log:
      header(['FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2', 'RUN pip install torch==2.15.0+cu999']) +
      stderr('ERROR: Could not find a version that satisfies the requirement torch==2.15.0+cu999 (from versions: 2.14.0, 2.15.0)'),
    rule: 'package-version-unsatisfiable',
    line: /^ERROR: Could not find a version that satisfies the requirement torch==2\.15\.0\+cu999/,
  },
  {
    name: 'pins that conflict: charged',
    log:
      header(['FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2', 'RUN pip install transformers==5.23.0 tokenizers==0.1.0']) +
      stderr(
        'ERROR: Cannot install tokenizers==0.1.0 and transformers==5.23.0 because these package versions have conflicting dependencies.',
        'ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts',
      ) +
      failedRun('pip install transformers==5.23.0 tokenizers==0.1.0', 1),
    rule: 'package-conflict',
    line: /^ERROR: Cannot install tokenizers==0\.1\.0/,
  },
  {
    name: 'apt mirror answering 503: infrastructure, although apt then cannot locate the package',
    log:
      header(['FROM challenge/base:bookworm-python3', 'RUN apt-get update && apt-get install -y --no-install-recommends git=1:2.39.5-0+deb12u2']) +
      'Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]\n' +
      'Err:2 http://deb.debian.org/debian bookworm-updates InRelease\n' +
      '  503  Service Unavailable [IP: 151.101.2.132 80]\n' +
      'Reading package lists...\n' +
      stderr(
        'E: Failed to fetch http://deb.debian.org/debian/dists/bookworm-updates/InRelease  503  Service Unavailable [IP: 151.101.2.132 80]',
        'E: Some index files failed to download. They have been ignored, or old ones used instead.',
        'E: Unable to locate package git',
      ) +
      failedRun('apt-get update && apt-get install -y --no-install-recommends git=1:2.39.5-0+deb12u2', 100),
    rule: 'http-5xx',
    line: '503  Service Unavailable [IP: 151.101.2.132 80]',
  },
  {
    name: 'pip download answered 502 by the index',
    log:
      header(['FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2', 'RUN pip install accelerate==1.2.0']) +
      stderr(
        'ERROR: HTTP error 502 while getting https://files.pythonhosted.org/packages/accelerate-1.2.0-py3-none-any.whl',
        'ERROR: 502 Server Error: Bad Gateway for url: https://files.pythonhosted.org/packages/accelerate-1.2.0-py3-none-any.whl',
      ) +
      failedRun('pip install accelerate==1.2.0', 1),
    rule: 'http-5xx',
    line: /^ERROR: HTTP error 502 while getting/,
  },
  {
    name: 'an apt package that does not exist: charged',
    log:
      header(['FROM challenge/base:bookworm-python3', 'RUN apt-get install -y nosuchpackage-xyz']) +
      'Reading package lists...\nBuilding dependency tree...\n' +
      `${RED}E${RESET}${RED}: ${RESET}${RED}Unable to locate package nosuchpackage-xyz${RESET}${RED}\n${RESET}` +
      failedRun('apt-get install -y nosuchpackage-xyz', 100),
    rule: 'apt-package-missing',
    line: 'E: Unable to locate package nosuchpackage-xyz',
  },
  {
    name: 'DNS: pip cannot resolve the index (a NewConnectionError too, DNS is named)',
    log:
      header(['FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2', 'RUN pip install six==1.16.0']) +
      stderr(
        PIP_RETRY(
          4,
          "NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f1c2a3b4c50>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')",
        ),
        'ERROR: No matching distribution found for six==1.16.0',
      ) +
      failedRun('pip install six==1.16.0', 1),
    rule: 'dns',
    line: /Temporary failure in name resolution/,
  },
  {
    name: 'DNS: curl cannot resolve the host',
    log:
      header([
        'FROM challenge/base:bookworm-python3',
        'RUN curl -fsSLo /tmp/x.tgz https://github.com/org/repo/archive/0123456789abcdef0123456789abcdef01234567.tar.gz',
      ]) +
      stderr('curl: (6) Could not resolve host: github.com') +
      failedRun('curl -fsSLo /tmp/x.tgz https://github.com/org/repo/archive/0123456789abcdef0123456789abcdef01234567.tar.gz', 6),
    rule: 'dns',
    line: 'curl: (6) Could not resolve host: github.com',
  },
  {
    name: 'a read timeout while downloading a wheel',
    log:
      header(['FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2', 'RUN pip install bitsandbytes==0.45.0']) +
      stderr(
        'Collecting bitsandbytes==0.45.0',
        "pip._vendor.urllib3.exceptions.ReadTimeoutError: HTTPSConnectionPool(host='files.pythonhosted.org', port=443): Read timed out.",
      ) +
      failedRun('pip install bitsandbytes==0.45.0', 2),
    rule: 'network-timeout',
    line: /ReadTimeoutError: HTTPSConnectionPool\(host='files\.pythonhosted\.org', port=443\): Read timed out\.$/,
  },
  {
    name: 'apt cannot connect: the connection timed out',
    log:
      header(['FROM challenge/base:bookworm-python3', 'RUN apt-get update']) +
      'Err:1 http://deb.debian.org/debian bookworm InRelease\n  Could not connect to deb.debian.org:80 (151.101.2.132), connection timed out\n' +
      stderr(
        'E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Could not connect to deb.debian.org:80 (151.101.2.132), connection timed out',
      ) +
      failedRun('apt-get update', 100),
    rule: 'network-timeout',
    line: 'Could not connect to deb.debian.org:80 (151.101.2.132), connection timed out',
  },
  {
    name: 'the connection reset mid-download',
    log:
      header(['FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2', 'RUN pip install datasets==3.2.0']) +
      stderr(
        PIP_RETRY(4, "ProtocolError('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"),
        'ERROR: No matching distribution found for datasets==3.2.0',
      ) +
      failedRun('pip install datasets==3.2.0', 1),
    rule: 'connection-reset',
    line: /ConnectionResetError\(104, 'Connection reset by peer'\)/,
  },
  {
    name: 'no route to the network',
    log:
      header(['FROM challenge/base:bookworm-python3', 'RUN python3 -m pip download six==1.16.0']) +
      stderr('urllib.error.URLError: <urlopen error [Errno 101] Network is unreachable>') +
      failedRun('python3 -m pip download six==1.16.0', 1),
    rule: 'network-unreachable',
    line: 'urllib.error.URLError: <urlopen error [Errno 101] Network is unreachable>',
  },
  {
    name: 'the Docker engine is gone',
    log: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
    rule: 'docker-daemon-unreachable',
    line: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    step: null,
  },
  {
    name: 'the disk is full',
    log:
      header(['FROM challenge/base:bookworm-python3', 'COPY corpus /data']) +
      'Error processing tar file(exit status 1): write /data/corpus/part-0004.txt: no space left on device\n',
    rule: 'disk-full',
    line: 'Error processing tar file(exit status 1): write /data/corpus/part-0004.txt: no space left on device',
  },
  {
    name: 'the engine cannot store a layer',
    log:
      header(['FROM challenge/base:bookworm-python3', 'RUN python3 -c "print(1)"']) +
      'failed to register layer: error creating overlay mount to /var/lib/docker/overlay2/4f1e/merged: invalid argument\n',
    rule: 'layer-registration',
    line: /^failed to register layer: /,
  },
  {
    name: 'an engine call times out',
    log: header(['FROM challenge/base:bookworm-python3', 'COPY . /app']) + 'Error response from daemon: context deadline exceeded\n',
    rule: 'engine-deadline',
    line: 'Error response from daemon: context deadline exceeded',
  },
  {
    name: "the platform's own base image is missing on the host: infrastructure",
    log:
      header(['FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2'], 2) +
      'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host\n',
    rule: 'platform-image-missing',
    line: 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host',
    step: 'Step 1/2 : FROM challenge/llm-base:torch2.15.0-transformers5.23.0-peft0.21.2',
  },
  {
    name: 'FROM an image of a public registry, which the platform cannot reach: charged (DNS of the registry is not our outage)',
    log: `${BANNER}Step 1/3 : FROM python:3.11-slim\nGet "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host\n`,
    rule: 'base-image-unavailable',
    line: /no such host$/,
    step: 'Step 1/3 : FROM python:3.11-slim',
  },
  {
    name: 'a Dockerfile syntax error: charged',
    log: `${BANNER}Error response from daemon: dockerfile parse error line 2: unknown instruction: RUNN\n`,
    rule: 'dockerfile-syntax',
    line: 'Error response from daemon: dockerfile parse error line 2: unknown instruction: RUNN',
    step: null,
  },
  {
    name: 'a COPY of a file that is not in the submission: charged',
    log:
      header(['FROM challenge/base:bookworm-python3', 'COPY model.py /app/']) +
      'COPY failed: file not found in build context or excluded by .dockerignore: stat model.py: file does not exist\n',
    rule: 'copy-source-missing',
    line: /^COPY failed: file not found in build context/,
  },
  {
    name: "the participant's Python raises: charged, quoting the exception",
    log:
      header(
        [
          'FROM challenge/base:bookworm-python3',
          'ENV PYTHONDONTWRITEBYTECODE=1',
          'WORKDIR /app',
          'COPY server.py /app/server.py',
          'RUN python3 -c "import transformers; print(transformers.__version__)"',
        ],
        7,
      ) +
      stderr('Traceback (most recent call last):', '  File "<string>", line 1, in <module>', "ModuleNotFoundError: No module named 'transformers'") +
      failedRun('python3 -c "import transformers; print(transformers.__version__)"', 1),
    rule: 'python-exception',
    line: "ModuleNotFoundError: No module named 'transformers'",
    step: 'Step 5/7 : RUN python3 -c "import transformers; print(transformers.__version__)"',
  },
  {
    name: "a RUN of the participant's code exits 3: charged",
    log: header(['FROM challenge/base:bookworm-python3', "RUN python3 -c 'raise SystemExit(3)'"]) + failedRun("python3 -c 'raise SystemExit(3)'", 3),
    rule: 'run-exit-code',
    line: "The command '/bin/sh -c python3 -c 'raise SystemExit(3)'' returned a non-zero code: 3",
    step: "Step 2/2 : RUN python3 -c 'raise SystemExit(3)'",
  },
  {
    name: 'the platform stopped a build at its output cap: its own reason, whatever the flood printed',
    log:
      header(['FROM challenge/base:bookworm-python3', 'RUN python3 -c "while True: print(\'Connection refused\')"'], 3) +
      'Connection refused\n'.repeat(50) +
      `${outputCapLine(CAP)}\n`,
    rule: 'output-cap',
    line: outputCapLine(CAP),
    step: 'Step 2/3 : RUN python3 -c "while True: print(\'Connection refused\')"',
    options: { outputCapped: true },
  },
  {
    name: "the engine reported an out-of-memory kill of the failing step's container: OutOfMemory",
    log: header(['FROM challenge/llm-base:x', OOM_STEP]) + failedRun('python3 -c "b = bytearray(3 * 1024**3)"', 137),
    rule: 'out-of-memory',
    line: `The command '/bin/sh -c python3 -c "b = bytearray(3 * 1024**3)"' returned a non-zero code: 137`,
    step: `Step 2/2 : ${OOM_STEP}`,
    options: { memoryKilled: true },
  },
  {
    name: 'the sandbox refused a connection of the build (its counters moved): BuildFailed naming the destination, although the log reads as a network failure',
    log:
      header(['FROM challenge/base:bookworm-python3', METADATA_STEP]) +
      stderr(
        'Traceback (most recent call last):',
        'urllib.error.URLError: <urlopen error [Errno 113] No route to host>',
        "requests.exceptions.ConnectionError: HTTPConnectionPool(host='169.254.169.254', port=80): Max retries exceeded (No route to host)",
      ) +
      failedRun('python3 -c ...', 1),
    rule: 'sandbox-refused',
    line: "requests.exceptions.ConnectionError: HTTPConnectionPool(host='169.254.169.254', port=80): Max retries exceeded (No route to host)",
    step: `Step 2/2 : ${METADATA_STEP}`,
    options: { sandboxRefused: [METADATA_REFUSED] },
    meaning: `a build step connected to a destination the build sandbox refuses (the build host, private ranges, link-local): ${METADATA_REFUSED}`,
  },
];

describe('classifyBuildFailure', () => {
  it.each(CASES)('$name', ({ log, rule, line, step, options, meaning }) => {
    const c = classifyBuildFailure(log, options);
    expect(c.rule).toBe(rule);
    const expected = BUILD_FAILURE_RULES.find((r) => r.id === rule)!;
    expect(c.category).toBe(expected.category);
    expect(c.meaning).toBe(meaning ?? expected.meaning);
    if (typeof line === 'string') expect(c.line).toBe(line);
    else expect(c.line).toMatch(line);
    // eslint-disable-next-line no-control-regex -- an ANSI escape is what must not be there
    expect(c.line).not.toMatch(/\u001b/);
    if (step !== undefined) expect(c.step).toBe(step);
  });

  it('has an excerpt for every rule of the table, and unique rule ids', () => {
    const ids = BUILD_FAILURE_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !CASES.some((c) => c.rule === id))).toEqual([]);
    for (const rule of BUILD_FAILURE_RULES) expect(rule.meaning.length).toBeGreaterThan(10);
  });

  it('charges a plain "No matching distribution found for six==99.0" and lets network evidence win over the same line', () => {
    const plain =
      header(['FROM challenge/llm-base:x', 'RUN pip install six==99.0']) +
      stderr('ERROR: No matching distribution found for six==99.0') +
      failedRun('pip install six==99.0', 1);
    expect(classifyBuildFailure(plain)).toMatchObject({ category: 'participant', rule: 'package-version-missing' });
    const afterRetries =
      header(['FROM challenge/llm-base:x', 'RUN pip install six==99.0']) +
      stderr(PIP_RETRY(0, SSL_CAUSE), 'ERROR: No matching distribution found for six==99.0') +
      failedRun('pip install six==99.0', 1);
    expect(classifyBuildFailure(afterRetries)).toMatchObject({ category: 'infrastructure', rule: 'tls-verification' });
  });

  it('looks only at the failing step: a retry warning of an earlier step that succeeded decides nothing', () => {
    const log =
      header(['FROM challenge/llm-base:x', 'RUN pip install six==1.16.0'], 3) +
      stderr(PIP_RETRY(4, REFUSED_CAUSE)) +
      'Successfully installed six-1.16.0\nRemoving intermediate container 8098cce474f1\n ---> 0cd5d22df5a8\n' +
      "Step 3/3 : RUN python3 -c 'raise SystemExit(3)'\n ---> Running in 91099889f898\n" +
      failedRun("python3 -c 'raise SystemExit(3)'", 3);
    expect(classifyBuildFailure(log)).toMatchObject({
      category: 'participant',
      rule: 'run-exit-code',
      step: "Step 3/3 : RUN python3 -c 'raise SystemExit(3)'",
    });
  });

  it("does not read the participant's own command text as evidence (the step header and the quoted command)", () => {
    const command = `echo "Connection refused; Temporary failure in name resolution" > /dev/null; exit 2`;
    const log = header(['FROM challenge/base:bookworm-python3', `RUN ${command}`]) + failedRun(command, 2);
    expect(classifyBuildFailure(log)).toMatchObject({
      category: 'participant',
      rule: 'run-exit-code',
      line: `The command '/bin/sh -c ${command}' returned a non-zero code: 2`,
    });
  });

  it('does not count a timeout of the participant’s own code as a network timeout', () => {
    const log =
      header(['FROM challenge/base:bookworm-python3', 'RUN python3 -m unittest tests/test_model.py']) +
      stderr('FAIL: test_generate (tests.test_model.GenerateTest)', 'AssertionError: generation timed out after 5 s') +
      failedRun('python3 -m unittest tests/test_model.py', 1);
    expect(classifyBuildFailure(log)).toMatchObject({
      category: 'participant',
      rule: 'python-exception',
      line: 'AssertionError: generation timed out after 5 s',
    });
  });

  it('falls back to the participant, quoting the last line, when no rule matches; an empty log quotes nothing', () => {
    expect(classifyBuildFailure(`${BANNER}something odd happened\n`)).toMatchObject({
      category: 'participant',
      rule: 'unrecognised',
      line: 'something odd happened',
      step: null,
    });
    expect(classifyBuildFailure('')).toMatchObject({ rule: 'unrecognised', line: null, step: null });
  });

  it('clips the decisive line and the step to DECISIVE_LINE_MAX characters', () => {
    const long = 'x'.repeat(1000);
    const log = header(['FROM challenge/base:bookworm-python3', `RUN python3 -c "${long}"`]) + stderr(`NameError: name '${long}' is not defined`);
    const c = classifyBuildFailure(log);
    expect(c.line!.length).toBe(DECISIVE_LINE_MAX);
    expect(c.line!.endsWith('…')).toBe(true);
    expect(c.step!.length).toBeLessThanOrEqual(DECISIVE_LINE_MAX);
  });

  it('strips ANSI colours and carriage returns', () => {
    expect(cleanBuildLog(`${RED}ERROR: x\r\n${RESET}done`)).toBe('ERROR: x\ndone');
  });

  it('reads the image of a FROM step', () => {
    expect(fromImageOf('Step 1/4 : FROM challenge/base:bookworm-python3 AS build')).toBe('challenge/base:bookworm-python3');
    expect(fromImageOf('Step 1/4 : FROM --platform=linux/amd64 python:3.11-slim')).toBe('python:3.11-slim');
    expect(fromImageOf('Step 2/4 : FROM ${BASE_IMAGE}')).toBeNull();
    expect(fromImageOf('Step 2/4 : RUN true')).toBeNull();
    expect(fromImageOf(null)).toBeNull();
  });
});

describe('the failure a classification becomes', () => {
  it('names the step and quotes pip for a charged failure', () => {
    const c = classifyBuildFailure(CASES.find((x) => x.rule === 'package-version-missing')!.log);
    expect(buildFailureCategory(c)).toBe('BuildFailed');
    expect(buildFailureReason('Dockerfile.train', c)).toBe(
      'Dockerfile.train did not build at "Step 2/2 : RUN pip install six==99.0": ERROR: No matching distribution found for six==99.0',
    );
    expect(FAILURE_CATEGORIES.BuildFailed).toMatchObject({ charged: true, retryable: false });
  });

  it("says it is the platform's and quotes the decisive line for infrastructure, which is retried and not charged", () => {
    const c = classifyBuildFailure(CASES[0]!.log);
    expect(buildFailureCategory(c)).toBe('BuildInfrastructure');
    expect(buildFailureReason('Dockerfile', c)).toBe(
      `building Dockerfile failed for a reason of the platform (package index unreachable: TLS verification failed): ${PIP_RETRY(4, SSL_CAUSE)}`,
    );
    expect(FAILURE_CATEGORIES.BuildInfrastructure).toMatchObject({ charged: false, retryable: true });
  });

  it('charges a build the sandbox refused, naming the destination, and does not retry it; the same log without a refusal stays ours', () => {
    const refused = CASES.find((x) => x.rule === 'sandbox-refused')!;
    const c = classifyBuildFailure(refused.log, refused.options);
    expect(buildFailureCategory(c)).toBe('BuildFailed');
    expect(buildFailureReason('Dockerfile.train', c)).toBe(
      `Dockerfile.train did not build at "Step 2/2 : ${METADATA_STEP}": a build step connected to a destination the build sandbox refuses ` +
        `(the build host, private ranges, link-local): ${METADATA_REFUSED}: ${refused.line as string}`,
    );
    expect(classifyBuildFailure(refused.log)).toMatchObject({ category: 'infrastructure', rule: 'network-unreachable' });
  });

  it("quotes the step's exit status when no output line names the refused destination (the quoted command is not output); the output cap decides first", () => {
    const log = header(['FROM challenge/base:bookworm-python3', 'RUN curl -s http://10.1.2.3/']) + failedRun('curl -s http://10.1.2.3/', 7);
    const c = classifyBuildFailure(log, { sandboxRefused: ['10.1.2.3 (a private network)'] });
    expect(c).toMatchObject({ rule: 'sandbox-refused', line: "The command '/bin/sh -c curl -s http://10.1.2.3/' returned a non-zero code: 7" });
    const capped = classifyBuildFailure(`${log}${outputCapLine(CAP)}\n`, { sandboxRefused: ['10.1.2.3 (a private network)'], outputCapped: true });
    expect(capped.rule).toBe('output-cap');
  });

  it('omits what it does not know', () => {
    expect(buildFailureReason('Dockerfile', { category: 'participant', rule: 'unrecognised', meaning: 'm', line: null, step: null })).toBe(
      'Dockerfile did not build',
    );
  });
});

describe('the build sandbox rules', () => {
  it('does not take a 137 for an out-of-memory kill without the engine saying so, nor the cap line without the platform', () => {
    const oom = CASES.find((c) => c.rule === 'out-of-memory')!.log;
    expect(classifyBuildFailure(oom)).toMatchObject({ rule: 'run-exit-code', category: 'participant' });
    const capped = CASES.find((c) => c.rule === 'output-cap')!.log;
    expect(classifyBuildFailure(capped).rule).toBe('connection-refused'); // what the flood printed, had the platform not stopped it
  });

  it('an out-of-memory kill wins over what the killed step printed, and names the limit', () => {
    const log =
      header(['FROM challenge/llm-base:x', 'RUN pip install torch==2.15.0']) +
      stderr(PIP_RETRY(1, REFUSED_CAUSE), 'Killed') +
      failedRun('pip install torch==2.15.0', 137);
    const c = classifyBuildFailure(log, { memoryKilled: true, memoryLimit: '2g per build step' });
    expect(c).toMatchObject({
      rule: 'out-of-memory',
      category: 'participant',
      meaning: "a build step was killed for exceeding the build's memory limit (2g per build step)",
    });
    expect(buildFailureCategory(c)).toBe('OutOfMemory');
    expect(buildFailureReason('Dockerfile.train', c)).toBe(
      `Dockerfile.train ran out of memory at "Step 2/2 : RUN pip install torch==2.15.0": a build step was killed for exceeding the build's memory limit (2g ` +
        `per build step): The command '/bin/sh -c pip install torch==2.15.0' returned a non-zero code: 137`,
    );
    expect(FAILURE_CATEGORIES.OutOfMemory).toMatchObject({ charged: true, retryable: false });
  });

  it('a build stopped at the output cap is BuildFailed (charged) and its reason says why, not only the step', () => {
    const c = classifyBuildFailure(CASES.find((x) => x.rule === 'output-cap')!.log, { outputCapped: true });
    expect(buildFailureCategory(c)).toBe('BuildFailed');
    const reason = buildFailureReason('Dockerfile', c);
    expect(reason).toBe(`Dockerfile was stopped at "Step 2/3 : RUN python3 -c "while True: print('Connection refused')"": ${outputCapLine(CAP)}`);
    expect(reason).toMatch(/the build printed more than 20 MiB; output is capped at 20 MiB per Dockerfile, so the build was stopped/);
  });
});

describe('bounded build output', () => {
  const small = { capBytes: 100, headBytes: 30, tailBytes: 20 };

  it('keeps everything while the output fits in head and tail', () => {
    const out = new BoundedOutput(small);
    expect(out.push('a'.repeat(25))).toBe(false);
    expect(out.push(Buffer.from('b'.repeat(25)))).toBe(false);
    expect(out.total).toBe(50);
    expect(out.omitted).toBe(0);
    expect(out.text()).toBe('a'.repeat(25) + 'b'.repeat(25));
  });

  it('keeps the first headBytes and the last tailBytes, says how much it left out, and reports the cap once passed', () => {
    const out = new BoundedOutput(small);
    let exceededAt = -1;
    for (let i = 0; i < 40; i++) if (out.push(`${String(i).padStart(2, '0')}\n`) && exceededAt < 0) exceededAt = i;
    expect(out.total).toBe(120);
    expect(exceededAt).toBe(33); // bytes 100 → 102: the chunk that takes the total past capBytes
    expect(out.exceeded).toBe(true);
    expect(out.omitted).toBe(120 - 30 - 20);
    const text = out.text();
    expect(text.startsWith('00\n01\n02\n03\n04\n05\n06\n07\n08\n09\n')).toBe(true);
    expect(text.endsWith('\n3\n34\n35\n36\n37\n38\n39\n')).toBe(true); // the last 20 bytes
    expect(text).toContain('[challenge] … 70 bytes of build output left out …');
  });

  it('handles a chunk larger than the tail, and one that spans head and tail', () => {
    const out = new BoundedOutput(small);
    out.push('h'.repeat(40) + 'x'.repeat(500) + 't'.repeat(20));
    expect(out.omitted).toBe(560 - 50);
    expect(out.text()).toBe(`${'h'.repeat(30)}\n[challenge] … 510 bytes of build output left out …\n${'t'.repeat(20)}`);
  });

  it('bounds what it holds however much is pushed: a stored log is at most head + tail + one line', () => {
    const out = new BoundedOutput(CAP);
    const chunk = Buffer.alloc(64 * 1024, 'y');
    for (let i = 0; i < 1024; i++) out.push(chunk); // 64 MiB
    expect(out.total).toBe(64 * 1024 * 1024);
    expect(out.exceeded).toBe(true);
    expect(Buffer.byteLength(out.text())).toBeLessThan(CAP.headBytes + CAP.tailBytes + 200);
  });

  it('writes the cap line from ACTIVITY_POLICY.buildOutput', () => {
    expect(CAP).toEqual({ capBytes: 20 * 1024 * 1024, headBytes: 10 * 1024 * 1024, tailBytes: 10 * 1024 * 1024 });
    expect(CAP.headBytes + CAP.tailBytes).toBeLessThanOrEqual(CAP.capBytes);
    expect(outputCapLine(CAP)).toMatch(
      /^\[challenge\] the build printed more than 20 MiB; output is capped at 20 MiB per Dockerfile, so the build was stopped \(the log keeps the first 10 MiB and the last 10 MiB\)/,
    );
  });
});

describe('the build sandbox, as arguments and rules', () => {
  it('gives every track build limits, and builds the docker arguments from them', () => {
    for (const track of TRACK_IDS) {
      const { memory, cpus, pids } = TRACKS[track].build;
      expect(memory).toMatch(/^\d+[mg]$/);
      expect(cpus).toBeGreaterThan(0);
      expect(pids).toBeGreaterThanOrEqual(256);
    }
    expect(TRACKS.cpu.build).toEqual({ memory: '2g', cpus: 2, pids: 512 });
    const args = buildArgs({
      context: '/s',
      dockerfile: '/s/Dockerfile',
      tag: 't:1',
      labels: { stage: 'build' },
      sandbox: { network: 'challenge-build-x', memory: '2g', cpus: 1.5, cgroupParent: '/challenge-build-x' },
      buildArgs: { CHALLENGE_BUILD_SECRETS_URL: 'http://172.18.0.1:4000/abc' },
    });
    expect(args.join(' ')).toBe(
      'build --force-rm --network challenge-build-x --memory 2g --memory-swap 2g --cpu-period 100000 --cpu-quota 150000 --cgroup-parent /challenge-build-x ' +
        '--build-arg CHALLENGE_BUILD_SECRETS_URL=http://172.18.0.1:4000/abc -f /s/Dockerfile -t t:1 --label challenge.stage=build /s',
    );
  });

  it("refuses the private ranges and link-local after allowing the resolvers and the operator's exceptions, in that order", () => {
    const rules = buildChainRules([{ address: '10.1.2.3', port: 3128, protocol: 'tcp' }], ['10.255.255.53']).map((r) => r.join(' '));
    expect(rules).toEqual([
      '-d 10.255.255.53 -p udp --dport 53 -j RETURN',
      '-d 10.255.255.53 -p tcp --dport 53 -j RETURN',
      '-d 10.1.2.3 -p tcp --dport 3128 -j RETURN',
      ...BUILD_BLOCKED_RANGES.map((range) => `-d ${range} -j REJECT --reject-with icmp-admin-prohibited`),
    ]);
    expect(BUILD_BLOCKED_RANGES).toEqual(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16']);
    expect(buildChainName('br-0123456789ab')).toBe('CHALLENGE-br-0123456789ab');
    expect(buildChainName('br-0123456789ab').length).toBeLessThanOrEqual(28);
  });

  it('reads the host resolvers a build needs (not loopback ones, which Docker does not use)', () => {
    expect(
      resolversOf('# generated\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nsearch x\nnameserver 1.1.1.1\nnameserver 10.255.255.53\nnameserver ::1\n'),
    ).toEqual(['10.255.255.53', '1.1.1.1']);
  });

  it('reads CHALLENGE_BUILD_EGRESS_ALLOW and CHALLENGE_BUILD_SECRETS, and names a malformed entry', () => {
    const config = loadRuntimeConfig(
      { CHALLENGE_BUILD_EGRESS_ALLOW: '10.0.0.5:3128, 10.8.0.0/16:443/tcp,10.0.0.2:53/udp', CHALLENGE_BUILD_SECRETS: '/etc/challenge/secrets' },
      '/tmp',
    );
    expect(config.buildEgressAllow).toEqual([
      { address: '10.0.0.5', port: 3128, protocol: 'tcp' },
      { address: '10.8.0.0/16', port: 443, protocol: 'tcp' },
      { address: '10.0.0.2', port: 53, protocol: 'udp' },
    ]);
    expect(config.buildSecretsDir).toBe('/etc/challenge/secrets');
    expect(loadRuntimeConfig({}, '/tmp')).toMatchObject({ buildEgressAllow: [], buildSecretsDir: null });
    expect(() => loadRuntimeConfig({ CHALLENGE_BUILD_EGRESS_ALLOW: 'proxy.internal' }, '/tmp')).toThrow(
      /buildEgressAllow\.0\.address: an IPv4 address or CIDR/,
    );
  });

  it("finds the failing step's container, not an earlier step's", () => {
    const log = header(['FROM challenge/base:bookworm-python3', 'RUN true', 'RUN python3 -c "x = 1"']) + failedRun('python3 -c "x = 1"', 137);
    expect(failingStepContainer(log)).toBe('8098cce474f2');
    expect(failingStepContainer(header(['FROM challenge/base:bookworm-python3']))).toBeNull();
  });
});

describe('the build retry policy', () => {
  it('comes from ACTIVITY_POLICY.buildRetry; a run may shorten it', () => {
    expect(retryPolicyWith(ACTIVITY_POLICY.buildRetry)).toEqual(ACTIVITY_POLICY.buildRetry);
    expect(ACTIVITY_POLICY.buildRetry.maximumAttempts).toBeGreaterThan(1);
    expect(retryPolicyWith(ACTIVITY_POLICY.buildRetry, { initialIntervalMs: 200, maximumAttempts: 3 })).toEqual({
      ...ACTIVITY_POLICY.buildRetry,
      initialInterval: 200,
      maximumAttempts: 3,
    });
  });
});

describe('what the build sandbox refused (domain/build-refusals.ts)', () => {
  it('takes the counters of one build: what moved between before and after', () => {
    expect(refusalsBetween({ '10.0.0.0/8': 3, host: 1 }, { '10.0.0.0/8': 5, '169.254.0.0/16': 0, host: 1 })).toEqual({ '10.0.0.0/8': 2 });
  });

  it('matches IPv4 ranges exactly at their edges', () => {
    expect(['172.16.0.0', '172.31.255.255', '172.32.0.0', '172.15.255.255'].map((a) => inRange(a, '172.16.0.0/12'))).toEqual([true, true, false, false]);
    expect(inRange('169.254.169.254', '169.254.0.0/16')).toBe(true);
    expect(inRange('not.an.ip.x', '10.0.0.0/8')).toBe(false);
  });

  it('names the address and port the log shows inside the refused range, else the range, and the host by its gateway', () => {
    const log = [
      'curl: (7) Failed to connect to 10.20.30.40 port 8080 after 0 ms: No route to host',
      "HTTPConnectionPool(host='10.20.30.40', port=8080): Max retries exceeded",
      'listening on 8.8.8.8:53 is not refused',
      'OSError: [Errno 113] No route to host',
    ].join('\n');
    expect(refusedDestinations(log, { '10.0.0.0/8': 2, '169.254.0.0/16': 1 })).toEqual([
      '10.20.30.40:8080 (a private network)',
      '169.254.0.0/16 (link-local, where the cloud instance metadata service (169.254.169.254) answers)',
    ]);
    expect(refusedDestinations('connect to 172.18.0.1:41234 timed out', { host: 1 }, '172.18.0.1')).toEqual(['172.18.0.1:41234 (the build host itself)']);
    expect(refusedDestinations('no address at all', { host: 1 }, '172.18.0.1')).toEqual(['172.18.0.1 (the build host itself)']);
    expect(refusedDestinations(log, {})).toEqual([]);
  });
});
