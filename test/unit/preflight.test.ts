import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  lintDockerfile,
  lintRequirements,
  maskSecret,
  parseDockerfile,
  pipRequirementVerdict,
  preflightSubmission,
  preflightTexts,
  renderPreflight,
  shellCommands,
  type Finding,
  type LintOptions,
} from '../../domain/preflight/dockerfile.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { BUILD_SECRETS_ARG } from '../../infra/docker.js';

const BASE = 'FROM challenge/base:bookworm-python3';
const lint = (body: string, options: LintOptions = {}): Finding[] => lintDockerfile(`${BASE}\n${body}\n`, options);
const rules = (findings: Finding[]) => findings.map((f) => `${f.severity}:${f.rule}@${f.line}`);
const SHA = '0123456789abcdef0123456789abcdef01234567';
const HF_TOKEN = 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';

const created: string[] = [];
afterAll(() => created.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function submissionDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'preflight-'));
  created.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

describe('Dockerfile parser', () => {
  it('joins continuations, drops comment lines inside them, keeps # inside an instruction, reads exec form', () => {
    const parsed = parseDockerfile(
      [
        '# a comment',
        'FROM python:3.11-slim AS build',
        '',
        'RUN apt-get update && \\',
        '    # explain the next line',
        '    echo "a # b" \\',
        '    && true',
        'CMD ["python3", "server.py"]',
        'cmd not json [',
      ].join('\n'),
    );
    expect(parsed.instructions.map((i) => [i.keyword, i.line, i.endLine])).toEqual([
      ['FROM', 2, 2],
      ['RUN', 4, 7],
      ['CMD', 8, 8],
      ['CMD', 9, 9],
    ]);
    expect(parsed.instructions[1]!.args).toBe('apt-get update && echo "a # b" && true');
    expect(parsed.instructions[2]!.json).toEqual(['python3', 'server.py']);
    expect(parsed.instructions[3]!.json).toBeNull();
  });

  it('honours the escape directive and reads here-documents', () => {
    const parsed = parseDockerfile(
      [
        '# escape=`',
        'FROM mcr.microsoft.com/windows/servercore:ltsc2022',
        'RUN dir `',
        '    c:\\',
        'RUN <<EOF',
        'pip install transformers',
        'EOF',
        'ENV A=1',
      ].join('\n'),
    );
    expect(parsed.escape).toBe('`');
    expect(parsed.instructions.map((i) => i.keyword)).toEqual(['FROM', 'RUN', 'RUN', 'ENV']);
    expect(parsed.instructions[1]!.args).toBe('dir c:\\');
    expect(parsed.instructions[2]!.heredocs).toEqual(['pip install transformers']);
  });

  it('splits shell commands on operators, honouring quotes and escapes', () => {
    expect(shellCommands(`pip install "a b" 'c;d' && apt-get install -y x; echo $(curl -s y) | tee z # comment\nls \\\n -la`)).toEqual([
      ['pip', 'install', 'a b', 'c;d'],
      ['apt-get', 'install', '-y', 'x'],
      ['echo', '$'],
      ['curl', '-s', 'y'],
      ['tee', 'z'],
      ['ls', '-la'],
    ]);
  });
});

describe('unpinned installs', () => {
  it('flags an unpinned pip install transformers as an error, on the right line', () => {
    const findings = lint('WORKDIR /app\nRUN pip install --no-cache-dir \\\n    peft==0.5.0 \\\n    transformers');
    expect(rules(findings)).toEqual(['error:unpinned-pip@5']);
    expect(findings[0]!.message).toContain('transformers');
    expect(findings[0]!.fix).toContain('transformers==');
  });

  it('accepts exact pins, local paths and archives; rejects ranges, wildcards and missing versions', () => {
    expect(
      lint(
        'RUN pip install transformers==4.35.2 "peft===0.6.0" torch[cuda]==2.1.0 ./vendor/pkg dist/x-1.0-py3-none-any.whl https://example.com/x-1.0.tar.gz -e .',
      ),
    ).toEqual([]);
    expect(rules(lint('RUN pip3 install "transformers>=4.30" torch==2.1.* accelerate~=0.24'))).toEqual([
      'error:unpinned-pip@2',
      'error:unpinned-pip@2',
      'error:unpinned-pip@2',
    ]);
    expect(rules(lint('RUN python3 -m pip install -q datasets'))).toEqual(['error:unpinned-pip@2']);
    expect(rules(lint('RUN uv pip install einops'))).toEqual(['error:unpinned-pip@2']);
  });

  it('reads here-documents and the exec form of RUN', () => {
    // the here-document itself is BuildKit-only (the legacy builder fails on it); its body is still linted
    expect(rules(lint('RUN <<EOF\npip install peft==0.6.0\npip install transformers\nEOF\nRUN ["pip", "install", "einops"]'))).toEqual([
      'error:buildkit-only@2',
      'error:unpinned-pip@4',
      'error:unpinned-pip@6',
    ]);
    expect(rules(lint('RUN ["/bin/sh", "-c", "pip install einops==0.7.0 && pip install datasets"]'))).toEqual(['error:unpinned-pip@2']);
  });

  it('warns on --upgrade, and on unpinned build tooling (pip, setuptools, wheel)', () => {
    expect(rules(lint('RUN pip install --upgrade pip setuptools==69.0.0 && pip install -U wheel'))).toEqual([
      'warning:pip-upgrade@2',
      'warning:unpinned-pip@2',
      'warning:pip-upgrade@2',
      'warning:unpinned-pip@2',
    ]);
  });

  it('requires a 40-hex commit on git URLs', () => {
    expect(rules(lint('RUN pip install git+https://github.com/huggingface/peft.git'))).toEqual(['error:unpinned-git@2']);
    expect(rules(lint('RUN pip install "peft @ git+https://github.com/huggingface/peft.git@v0.6.0"'))).toEqual(['error:unpinned-git@2']);
    expect(rules(lint(`RUN pip install peft @ git+https://github.com/huggingface/peft.git@${SHA}`))).toEqual([]);
    expect(rules(lint(`RUN pip install git+ssh://git@github.com/org/repo.git@${SHA}#egg=repo`))).toEqual([]);
    expect(rules(lint('RUN pip install https://github.com/org/repo/archive/refs/heads/main.zip'))).toEqual(['error:unpinned-git@2']);
    expect(rules(lint('RUN git clone https://github.com/org/repo && pip install -e repo'))).toEqual(['warning:unpinned-git@2']);
    expect(rules(lint(`RUN git clone https://github.com/org/repo && git -C repo checkout ${SHA} && pip install -e repo`))).toEqual([]);
  });

  it('lints npm, apt-get and conda installs', () => {
    expect(rules(lint('RUN npm install -g left-pad@1.3.0 @scope/pkg@2.0.0-rc.1 && npm ci && npm install'))).toEqual([]);
    const npm = lint('RUN npm install express lodash@^4 @scope/pkg typescript@latest');
    expect(rules(npm)).toEqual(['error:unpinned-npm@2']);
    expect(npm[0]!.message).toContain('express, lodash@^4, @scope/pkg, typescript@latest');
    expect(rules(lint('RUN yarn add react'))).toEqual(['error:unpinned-npm@2']);
    expect(rules(lint('RUN npm install github:org/repo'))).toEqual(['error:unpinned-git@2']);
    expect(rules(lint(`RUN npm install git+https://github.com/org/repo.git#${SHA}`))).toEqual([]);
    expect(rules(lint('RUN apt-get update && apt-get install -y --no-install-recommends git curl=7.88.1-10+deb12u5 && rm -rf /var/lib/apt/lists/*'))).toEqual([
      'warning:unpinned-apt@2',
    ]);
    expect(rules(lint('RUN apt-get install -y curl=7.88.1-10'))).toEqual([]);
    expect(rules(lint('RUN conda install -c conda-forge numpy scipy=1.11.4'))).toEqual(['warning:unpinned-conda@2']);
  });
});

describe('requirements files', () => {
  const pinned = 'transformers==4.35.2\npeft==0.6.0 --hash=sha256:abc\n# comment\n\n-i https://pypi.org/simple\n';
  const loose = 'transformers==4.35.2\ntorch>=2.0  # any torch\naccelerate\n';

  it('lints a requirements file on its own', () => {
    expect(lintRequirements(pinned)).toEqual([]);
    const findings = lintRequirements(loose, 'requirements.txt');
    expect(findings.map((f) => `${f.file}:${f.line}:${f.rule}`)).toEqual(['requirements.txt:2:unpinned-pip', 'requirements.txt:3:unpinned-pip']);
    expect(lintRequirements(`-e git+https://github.com/org/repo.git#egg=repo\nx @ git+https://github.com/o/r@${SHA}\n`).map((f) => f.rule)).toEqual([
      'unpinned-git',
    ]);
  });

  it('follows pip install -r through COPY to the file in the submission', () => {
    const files: Record<string, string> = { 'deps/requirements-gpu.txt': loose };
    const findings = lint('WORKDIR /app\nCOPY deps/requirements-gpu.txt ./req.txt\nRUN pip install -r req.txt', { readContextFile: (p) => files[p] ?? null });
    expect(findings.map((f) => `${f.severity}:${f.file}:${f.line}`)).toEqual(['error:deps/requirements-gpu.txt:2', 'error:deps/requirements-gpu.txt:3']);
    const dirCopy = lint('COPY . /app\nRUN pip install -r /app/deps/requirements-gpu.txt', { readContextFile: (p) => files[p] ?? null });
    expect(dirCopy).toHaveLength(2);
    // a bind mount fails on the legacy builder (buildkit-only), and the file it would mount is still linted
    const mount = lint('RUN --mount=type=bind,source=deps/requirements-gpu.txt,target=/tmp/r.txt pip install -r /tmp/r.txt', {
      readContextFile: (p) => files[p] ?? null,
    });
    expect(mount.map((f) => `${f.severity}:${f.file}:${f.rule}@${f.line}`)).toEqual([
      'error:Dockerfile:buildkit-only@2',
      'error:deps/requirements-gpu.txt:unpinned-pip@2',
      'error:deps/requirements-gpu.txt:unpinned-pip@3',
    ]);
  });

  it('counts packages pinned by a constraints file as pinned, and warns about files it cannot find', () => {
    const files: Record<string, string> = { 'requirements.txt': 'torch\naccelerate\n', 'constraints.txt': 'torch==2.1.0\n' };
    const read = (p: string) => files[p] ?? null;
    const findings = lint('COPY requirements.txt constraints.txt /app/\nRUN pip install -r /app/requirements.txt -c /app/constraints.txt einops', {
      readContextFile: read,
    });
    expect(findings.map((f) => `${f.file}:${f.line}:${f.message.split(' ')[2]}`)).toEqual(['Dockerfile:3:einops', 'requirements.txt:2:accelerate']);
    expect(rules(lint('RUN pip install -r missing.txt', { readContextFile: read }))).toEqual(['warning:requirements-unreadable@2']);
  });
});

describe('base images', () => {
  const from = (text: string) => rules(lintDockerfile(text));
  it('requires a tag or digest and rejects latest', () => {
    expect(from('FROM ubuntu')).toEqual(['error:base-image-untagged@1']);
    expect(from('FROM python:latest')).toEqual(['error:base-image-latest@1']);
    expect(from('FROM localhost:5000/team/image')).toEqual(['error:base-image-untagged@1']);
    expect(from('FROM --platform=linux/amd64 nvcr.io/nvidia/pytorch:23.10-py3 AS build')).toEqual([]);
    expect(from(`FROM python:latest@sha256:${'a'.repeat(64)}`)).toEqual([]);
  });

  it('allows scratch and earlier stages, and resolves ARG defaults before FROM', () => {
    expect(from('FROM python:3.11-slim AS builder\nFROM builder\nFROM scratch\nCOPY --from=builder /x /x')).toEqual([]);
    expect(from('ARG BASE=python:3.11\nFROM ${BASE}')).toEqual([]);
    expect(from('ARG BASE=python\nFROM $BASE')).toEqual(['error:base-image-untagged@2']);
    expect(from('ARG BASE\nFROM ${BASE}')).toEqual(['warning:base-image-variable@2']);
  });
});

describe('secrets', () => {
  it('flags a planted Hugging Face token as an error without echoing it', () => {
    const findings = lint(`ENV HF_TOKEN=${HF_TOKEN}`);
    expect(rules(findings)).toEqual(['error:secret@2']);
    expect(findings[0]!.message).toContain(maskSecret(HF_TOKEN));
    expect(maskSecret(HF_TOKEN).startsWith('hf_A')).toBe(true);
    expect(maskSecret(HF_TOKEN)).not.toContain(HF_TOKEN.slice(4, 10));
    const text = renderPreflight(preflightTexts({ dockerfile: `${BASE}\nENV HF_TOKEN=${HF_TOKEN}\n`, trainDockerfile: BASE }));
    expect(text).not.toContain(HF_TOKEN);
    expect(text).not.toContain(HF_TOKEN.slice(4));
  });

  it('knows GitHub, OpenAI and AWS token shapes, anywhere in the file', () => {
    const github = `ghp_${'a1B2'.repeat(9)}`;
    const pat = `github_pat_${'A1b2_'.repeat(8)}`;
    const openai = `sk-${'x9Y8'.repeat(6)}`;
    const aws = 'AKIAIOSFODNN7EXAMPLE';
    const findings = lint(
      `ARG GH=${github}\n# old key: ${openai}\nRUN git clone https://x:${pat}@github.com/org/private.git /src && git -C /src checkout ${SHA}\nENV AWS_ACCESS_KEY_ID ${aws}`,
    );
    expect(rules(findings)).toEqual(['error:secret@2', 'error:secret@3', 'error:secret@4', 'error:secret@5']);
    for (const secret of [github, pat, openai, aws]) expect(JSON.stringify(findings)).not.toContain(secret);
  });

  it('flags secret-named assignments with literal values, and warns on secret build args', () => {
    expect(rules(lint('ENV DB_PASSWORD="hunter2hunter2" OTHER=1'))).toEqual(['error:secret@2']);
    expect(rules(lint('RUN export API_KEY=abcdefgh12345 && ./run.sh'))).toEqual(['error:secret@2']);
    expect(rules(lint('ARG HF_TOKEN\nENV HF_TOKEN=$HF_TOKEN'))).toEqual(['warning:secret-build-arg@2', 'warning:secret-build-arg@3']);
    expect(lint('ENV TOKENIZERS_PARALLELISM=false MAX_TOKENS=4096 HF_HUB_OFFLINE=1\nENV API_TOKEN=short')).toEqual([]);
  });

  // The builder is Docker's legacy builder (the only one that runs RUN steps on the firewalled build network with
  // memory, CPU and pids limits): it rejects RUN --mount. The advice is what the builder supports: the platform's
  // build secrets, fetched from $CHALLENGE_BUILD_SECRETS_URL inside the RUN that needs them.
  it('advises the build secrets the legacy builder supports, never a BuildKit secret mount', () => {
    const findings = [
      ...lint(`ENV HF_TOKEN=${HF_TOKEN}`),
      ...lint('ARG HF_TOKEN'),
      ...lint('RUN export API_KEY=abcdefgh12345 && ./run.sh'),
      ...lint('ENV DB_PASSWORD="hunter2hunter2"'),
    ];
    expect(findings).toHaveLength(4);
    for (const finding of findings) {
      expect(finding.fix).toMatch(/ARG CHALLENGE_BUILD_SECRETS_URL, then RUN [A-Z_]+="\$\(curl -fsS "\$CHALLENGE_BUILD_SECRETS_URL\/[a-z_]+"\)"/);
      expect(finding.fix).toMatch(/RUN --mount=type=secret does not work here: the platform builds with Docker's legacy builder/);
      expect(finding.fix).not.toMatch(/use (a BuildKit secret mount|RUN --mount)/);
    }
    expect(lint('ARG HF_TOKEN')[0]!.fix).toContain('"$CHALLENGE_BUILD_SECRETS_URL/hf_token"');
  });

  it('flags RUN --mount=type=secret as an error (the legacy builder rejects it), naming the secret in the fix', () => {
    const findings = lint('RUN --mount=type=secret,id=hf_token HF_TOKEN="$(cat /run/secrets/hf_token)" python3 download.py');
    expect(rules(findings)).toEqual(['error:secret@2']);
    expect(findings[0]!.message).toMatch(/needs BuildKit, but this platform builds with Docker's legacy builder, which rejects RUN --mount/);
    expect(findings[0]!.fix).toContain('RUN HF_TOKEN="$(curl -fsS "$CHALLENGE_BUILD_SECRETS_URL/hf_token")"');
    expect(rules(lint('RUN --mount=id=x,type=secret true'))).toEqual(['error:secret@2']);
    // not a secret; a BuildKit-only flag all the same
    expect(rules(lint('RUN --mount=type=bind,source=requirements.txt,target=/r.txt true'))).toEqual(['error:buildkit-only@2']);
  });

  it('does not flag the recommended way: ARG CHALLENGE_BUILD_SECRETS_URL and a fetch inside the RUN', () => {
    const recommended = 'ARG CHALLENGE_BUILD_SECRETS_URL\nRUN HF_TOKEN="$(curl -fsS "$CHALLENGE_BUILD_SECRETS_URL/hf_token")" && test -n "$HF_TOKEN"';
    expect(lint(recommended)).toEqual([]);
    expect(BUILD_SECRETS_ARG).toBe('CHALLENGE_BUILD_SECRETS_URL'); // the build argument the builder sets (infra/docker.ts)
  });
});

describe('weights fetched at run time', () => {
  it('warns when CMD / ENTRYPOINT download weights', () => {
    expect(rules(lint('CMD huggingface-cli download mistralai/Mistral-7B-v0.1 && python3 server.py'))).toEqual(['warning:runtime-download@2']);
    expect(rules(lint(`CMD ["python3", "-c", "from transformers import AutoModel; AutoModel.from_pretrained('mistralai/Mistral-7B-v0.1')"]`))).toEqual([
      'warning:runtime-download@2',
    ]);
    expect(rules(lint('ENTRYPOINT ["sh", "-c", "wget https://example.com/model.safetensors && python3 serve.py"]'))).toEqual(['warning:runtime-download@2']);
    const training = lintDockerfile(`${BASE}\nCMD python3 -c "from huggingface_hub import snapshot_download; snapshot_download('gpt2')"\n`, {
      role: 'training',
    });
    expect(training[0]!.message).toContain('no network');
  });

  it('warns on RUN downloads without a pinned revision; local paths are fine', () => {
    expect(rules(lint('RUN huggingface-cli download mistralai/Mistral-7B-v0.1 --local-dir /models'))).toEqual(['warning:runtime-download@2']);
    expect(lint(`RUN huggingface-cli download mistralai/Mistral-7B-v0.1 --revision ${SHA} --local-dir /models`)).toEqual([]);
    expect(lint('CMD ["python3", "-c", "AutoModel.from_pretrained(\'/artifacts/model\')"]')).toEqual([]);
    expect(lint('RUN curl -fsSL https://example.com/tool.sh -o /tmp/tool.sh')).toEqual([]);
  });
});

describe('ADD', () => {
  it('warns on URLs without a checksum and on unpinned git sources', () => {
    expect(rules(lint('ADD https://example.com/data.tar.gz /data/'))).toEqual(['warning:add-url@2']);
    // --checksum is "Unknown flag" to the legacy builder: reported once, as buildkit-only, not also as add-url
    expect(rules(lint(`ADD --checksum=sha256:${'b'.repeat(64)} https://example.com/data.tar.gz /data/`))).toEqual(['error:buildkit-only@2']);
    expect(rules(lint('ADD https://github.com/org/repo.git#main /src'))).toEqual(['warning:add-url@2']);
    expect(lint(`ADD https://github.com/org/repo.git#${SHA} /src`)).toEqual([]);
    expect(lint('ADD vendor.tar.gz /opt/')).toEqual([]);
  });
});

describe('pipRequirementVerdict', () => {
  it('classifies specs', () => {
    expect(pipRequirementVerdict('transformers==4.35.2').kind).toBe('pinned');
    expect(pipRequirementVerdict('transformers == 4.35.2 ; python_version >= "3.8"').kind).toBe('pinned');
    expect(pipRequirementVerdict('transformers').kind).toBe('unpinned');
    expect(pipRequirementVerdict('transformers!=4.0').kind).toBe('unpinned');
    expect(pipRequirementVerdict('$PKG').kind).toBe('unknown');
  });
});

describe('preflightSubmission', () => {
  const examples = readdirSync(path.join(PROJECT_ROOT, 'examples')).filter((name) => statSync(path.join(PROJECT_ROOT, 'examples', name)).isDirectory());

  // An example without Dockerfile.train is an inference-only submission (a phase without fine-tune).
  const inferenceOnly = (name: string): boolean => !existsSync(path.join(PROJECT_ROOT, 'examples', name, 'Dockerfile.train'));

  it.each(examples)('passes the shipped example %s with no errors', (name) => {
    const result = preflightSubmission(path.join(PROJECT_ROOT, 'examples', name), { inferenceOnly: inferenceOnly(name) });
    expect(result.errors).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('asks for Dockerfile.train unless the run is inference only', () => {
    const dir = path.join(PROJECT_ROOT, 'examples', 'baked-weights');
    expect(preflightSubmission(dir).errors.map((f) => [f.rule, f.file])).toEqual([['missing-dockerfile', 'Dockerfile.train']]);
    expect(preflightSubmission(dir, { inferenceOnly: true }).ok).toBe(true);
  });

  it('reports a planted token and an unpinned pip install, with the requirements file it references', () => {
    const dir = submissionDir({
      Dockerfile: `${BASE}\nENV HF_TOKEN=${HF_TOKEN}\nCOPY requirements.txt /app/\nRUN pip install -r /app/requirements.txt && pip install transformers\nCMD ["python3", "/app/server.py"]\n`,
      'Dockerfile.train': 'FROM python\nCMD ["python3", "train.py"]\n',
      'requirements.txt': 'peft\ntorch==2.1.0\n',
    });
    const result = preflightSubmission(dir);
    expect(result.ok).toBe(false);
    expect(result.errors.map((f) => `${f.file}:${f.line}:${f.rule}`)).toEqual([
      'Dockerfile:2:secret',
      'Dockerfile:4:unpinned-pip',
      'requirements.txt:1:unpinned-pip',
      'Dockerfile.train:1:base-image-untagged',
    ]);
    expect(result.warnings).toEqual([]);
    const text = renderPreflight(result);
    expect(text).toContain('preflight: 4 errors, 0 warnings');
    expect(text).toContain('Dockerfile:4: error [unpinned-pip]');
    expect(text).not.toContain(HF_TOKEN);
  });

  it('reports a missing Dockerfile', () => {
    const result = preflightSubmission(submissionDir({ Dockerfile: `${BASE}\n` }));
    expect(result.errors.map((f) => f.rule)).toEqual(['missing-dockerfile']);
    expect(result.errors[0]!.file).toBe('Dockerfile.train');
  });

  it('never reads outside the submission directory', () => {
    const dir = submissionDir({ Dockerfile: `${BASE}\nRUN pip install -r ../../../../etc/passwd\n`, 'Dockerfile.train': BASE });
    expect(rules(preflightSubmission(dir).findings)).toEqual(['warning:requirements-unreadable@2']);
  });
});
