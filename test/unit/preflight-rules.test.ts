// The preflight's rule table drives every finding: each id has a family, a severity, a message and a fix;
// each family fires on a minimal bad Dockerfile and stays quiet on a good one; a finding's severity is
// always the table's (or the milder one the table names in `lenient`).
import { describe, expect, it } from '@jest/globals';
import { RULE_MODULES, lintDockerfile, type LintOptions } from '../../domain/preflight/lint.js';
import { preflightTexts } from '../../domain/preflight/preflight.js';
import {
  PREFLIGHT_RULES,
  PREFLIGHT_RULE_IDS,
  finding,
  isPreflightRule,
  type Finding,
  type PreflightRule,
  type RuleFamily,
} from '../../domain/preflight/rules.js';

const IMAGE = 'python:3.11-slim';
const BASE = `FROM ${IMAGE}`;
const SHA = '0123456789abcdef0123456789abcdef01234567';
const lint = (body: string, options: LintOptions = {}): Finding[] => lintDockerfile(`${BASE}\n${body}\n`, options);
const rules = (findings: readonly Finding[]) => findings.map((f) => `${f.severity}:${f.rule}@${f.line}`);

/** A minimal Dockerfile that breaks each rule; a Record, so that a new rule without an example does not compile. */
const BAD: Record<PreflightRule, () => Finding[]> = {
  'unpinned-pip': () => lint('RUN pip install transformers'),
  'pip-upgrade': () => lint('RUN pip install --upgrade transformers==4.35.2'),
  'unpinned-npm': () => lint('RUN npm install express'),
  'unpinned-apt': () => lint('RUN apt-get install -y git'),
  'unpinned-conda': () => lint('RUN conda install numpy'),
  'unpinned-git': () => lint('RUN pip install git+https://github.com/huggingface/peft.git'),
  'requirements-unreadable': () => lint('RUN pip install -r requirements.txt', { readContextFile: () => null }),
  'base-image-untagged': () => lintDockerfile('FROM ubuntu\n'),
  'base-image-latest': () => lintDockerfile('FROM ubuntu:latest\n'),
  'base-image-variable': () => lintDockerfile('ARG BASE\nFROM ${BASE}\n'),
  secret: () => lint('ENV HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'),
  'secret-build-arg': () => lint('ARG HF_TOKEN'),
  'runtime-download': () => lint('CMD huggingface-cli download mistralai/Mistral-7B-v0.1 && python3 server.py'),
  'add-url': () => lint('ADD https://example.com/data.tar.gz /data/'),
  'buildkit-only': () => lint('COPY --chmod=755 run.sh /run.sh'),
  'missing-dockerfile': () => preflightTexts({ dockerfile: `${BASE}\n`, trainDockerfile: null }).findings,
};

/** A Dockerfile that does everything the rules ask for, in every family. */
const GOOD = [
  'ARG BASE=python:3.11-slim',
  'FROM --platform=linux/amd64 ${BASE} AS builder',
  'ARG CHALLENGE_BUILD_SECRETS_URL',
  'WORKDIR /app',
  'COPY requirements.txt constraints.txt ./',
  'RUN HF_TOKEN="$(curl -fsS "$CHALLENGE_BUILD_SECRETS_URL/hf_token")" \\',
  `    && pip install --no-cache-dir -r requirements.txt -c constraints.txt torch git+https://github.com/huggingface/peft.git@${SHA} \\`,
  `    && huggingface-cli download mistralai/Mistral-7B-v0.1 --revision ${SHA} --local-dir /models`,
  `RUN git clone https://github.com/org/repo /src && git -C /src checkout ${SHA} && npm install left-pad@1.3.0`,
  'RUN apt-get install -y curl=7.88.1-10 && conda install numpy=1.26.4',
  `ADD https://github.com/org/repo.git#${SHA} /vendor`,
  'FROM python:3.11-slim@sha256:' + 'a'.repeat(64),
  'COPY --from=builder --chown=1000:1000 /app /app',
  'ENV TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1',
  'CMD ["python3", "/app/server.py"]',
].join('\n');
const GOOD_FILES: Record<string, string> = { 'requirements.txt': 'transformers==4.35.2\n', 'constraints.txt': 'torch==2.1.0\n' };
const lintGood = () => lintDockerfile(GOOD, { readContextFile: (p) => GOOD_FILES[p] ?? null });

/** A minimal bad Dockerfile per family (the submission family is the preflight's own file check). */
const BAD_BY_FAMILY: Record<RuleFamily, () => Finding[]> = {
  'base-image': BAD['base-image-untagged'],
  pins: BAD['unpinned-pip'],
  secrets: BAD.secret,
  downloads: BAD['runtime-download'],
  buildkit: BAD['buildkit-only'],
  submission: BAD['missing-dockerfile'],
};

describe('the rule table', () => {
  it('gives every rule a family, a severity, a message and a fix', () => {
    expect(PREFLIGHT_RULE_IDS.length).toBeGreaterThanOrEqual(16);
    for (const id of PREFLIGHT_RULE_IDS) {
      const rule = PREFLIGHT_RULES[id];
      expect(['error', 'warning']).toContain(rule.severity);
      expect(Object.keys(BAD_BY_FAMILY)).toContain(rule.family);
      expect(rule.message.length).toBeGreaterThan(20);
      expect(rule.fix.length).toBeGreaterThan(10);
      if ('lenient' in rule) {
        expect(rule.severity).toBe('error'); // a milder severity only exists below error
        expect(rule.lenient.length).toBeGreaterThan(10);
      }
    }
    expect(isPreflightRule('unpinned-pip')).toBe(true);
    expect(isPreflightRule('no-such-rule')).toBe(false);
  });

  it("has a module for every family but the preflight's own file check, and no module outside the table", () => {
    const modules = RULE_MODULES.map((m) => m.family).sort();
    const families = [...new Set(PREFLIGHT_RULE_IDS.map((id) => PREFLIGHT_RULES[id].family))].filter((f) => f !== 'submission').sort();
    expect(modules).toEqual(families);
  });

  it('takes severity, message and fix from the table unless a finding names its specifics', () => {
    expect(finding('pip-upgrade', 3)).toEqual({
      rule: 'pip-upgrade',
      line: 3,
      severity: 'warning',
      message: PREFLIGHT_RULES['pip-upgrade'].message,
      fix: PREFLIGHT_RULES['pip-upgrade'].fix,
    });
    expect(finding('unpinned-pip', 1, { lenient: true }).severity).toBe('warning');
    // @ts-expect-error: the table gives secret no milder severity, so the compiler refuses to ask for one
    expect(() => finding('secret', 1, { lenient: true })).toThrow(/no lenient severity/);
  });
});

describe.each(PREFLIGHT_RULE_IDS)('rule %s', (id) => {
  it("fires on its minimal bad example, with the table's severity", () => {
    const hits = BAD[id]().filter((f) => f.rule === id);
    expect(hits.length).toBeGreaterThan(0);
    for (const hit of hits) {
      expect(hit.severity).toBe(PREFLIGHT_RULES[id].severity);
      expect(hit.message).not.toBe('');
      expect(hit.fix).not.toBe('');
    }
  });
});

describe('families', () => {
  it.each(Object.keys(BAD_BY_FAMILY) as RuleFamily[])('%s fires on a minimal bad Dockerfile', (family) => {
    expect(BAD_BY_FAMILY[family]().some((f) => PREFLIGHT_RULES[f.rule].family === family)).toBe(true);
  });

  it('all stay quiet on a Dockerfile that does what they ask', () => {
    expect(lintGood()).toEqual([]);
    expect(preflightTexts({ dockerfile: GOOD, trainDockerfile: GOOD, readContextFile: (p) => GOOD_FILES[p] ?? null }).findings).toEqual([]);
  });

  it('report only the lenient severity where the table allows one', () => {
    const findings = [...Object.values(BAD).flatMap((example) => example()), ...lint('RUN pip install --upgrade pip && git clone https://github.com/org/repo')];
    for (const f of findings) {
      const rule = PREFLIGHT_RULES[f.rule];
      expect(f.severity === rule.severity || ('lenient' in rule && f.severity === 'warning')).toBe(true);
    }
    expect(rules(lint('RUN pip install --upgrade pip && git clone https://github.com/org/repo'))).toEqual([
      'warning:pip-upgrade@2',
      'warning:unpinned-pip@2',
      'warning:unpinned-git@2',
    ]);
  });
});

describe('buildkit-only', () => {
  it("flags every flag the legacy builder rejects, on the flag's line", () => {
    const findings = lint(
      [
        'RUN --mount=type=cache,target=/root/.cache \\',
        '    --network=none \\',
        '    pip install einops==0.7.0',
        'RUN --security=insecure true',
        'COPY --link --chmod=755 run.sh /run.sh',
        'COPY --exclude=*.md --parents docs/ /docs/',
        `ADD --checksum=sha256:${'b'.repeat(64)} https://example.com/x.tar.gz /x/`,
        `ADD --keep-git-dir=true https://github.com/org/repo.git#${SHA} /src`,
        'ADD --link vendor.tar.gz /opt/',
      ].join('\n'),
    );
    expect(rules(findings)).toEqual([
      'error:buildkit-only@2',
      'error:buildkit-only@3',
      'error:buildkit-only@5',
      'error:buildkit-only@6',
      'error:buildkit-only@6',
      'error:buildkit-only@7',
      'error:buildkit-only@7',
      'error:buildkit-only@8',
      'error:buildkit-only@9',
      'error:buildkit-only@10',
    ]);
    expect(findings[0]!.fix).toContain('--no-cache-dir');
    expect(findings[2]!.message).toContain('--security');
    expect(findings.find((f) => f.message.includes('--chmod'))!.fix).toBe('COPY without --chmod, then RUN chmod 755 <destination>');
  });

  it('flags here-documents in RUN, COPY and ADD once per instruction', () => {
    expect(rules(lint('RUN <<EOF\necho hi\nEOF\nCOPY <<A <<B /d/\na\nA\nb\nB\nADD <<EOF /x\nx\nEOF'))).toEqual([
      'error:buildkit-only@2',
      'error:buildkit-only@5',
      'error:buildkit-only@10',
    ]);
  });

  it('accepts what the legacy builder accepts: FROM --platform, COPY --from / --chown, ADD --chown, and leaves secret mounts to the secret rule', () => {
    expect(
      lintDockerfile(
        `FROM --platform=linux/amd64 ${IMAGE} AS a\n${BASE}\nCOPY --from=a --chown=1:1 /x /x\nADD --chown=1:1 vendor.tar.gz /opt/\nRUN echo "<<EOF"`,
      ),
    ).toEqual([]);
    expect(rules(lint('RUN --mount=type=secret,id=hf_token true'))).toEqual(['error:secret@2']);
  });
});
