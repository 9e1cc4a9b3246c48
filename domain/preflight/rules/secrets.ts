/**
 * secret, secret-build-arg: no access token in the Dockerfile (it is published with the submission, and
 * ENV / ARG / RUN text is stored in the image). The way out is the platform's build secrets: the
 * operator holds them per team and a RUN fetches one from $CHALLENGE_BUILD_SECRETS_URL/<NAME>, never
 * writing it to a layer. RUN --mount=type=secret is reported here rather than as buildkit-only, with
 * that advice, because the legacy builder rejects it.
 */
import type { RuleModule } from '../family.js';
import { lineOf } from '../parse.js';
import { finding } from '../rules.js';

const TOKEN_PATTERNS: { name: string; re: RegExp }[] = [
  { name: 'Hugging Face token', re: /\bhf_[A-Za-z0-9]{30,}\b/g },
  { name: 'GitHub token', re: /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g },
  { name: 'GitHub token', re: /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g },
  { name: 'OpenAI key', re: /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g },
  { name: 'AWS access key id', re: /\bAKIA[0-9A-Z]{16}\b/g },
];
/** `name=value` where the name says it holds a secret; a fresh RegExp per use, since a /g regex keeps lastIndex. */
const secretAssignment = (): RegExp => /\b([A-Za-z0-9_.-]*(?:token|secret|password|passwd|api_key|apikey|access_key))\s*=\s*("[^"]*"|'[^']*'|\S+)/gi;
const SECRET_NAME = /(token|secret|password|passwd|api_?key|access_?key|credential)/i;
/** The build argument the platform sets to its build-secrets endpoint (infra/docker.ts BUILD_SECRETS_ARG); it holds no secret. */
const BUILD_SECRETS_ARG = 'CHALLENGE_BUILD_SECRETS_URL';

/** How a secret reaches a build here (Docker's legacy builder: no RUN --mount=type=secret). */
export const buildSecretFix = (name: string): string =>
  `have the operator hold it as a build secret of your team and fetch it inside the RUN that needs it: ARG ${BUILD_SECRETS_ARG}, then ` +
  `RUN ${name.toUpperCase()}="$(curl -fsS "$${BUILD_SECRETS_ARG}/${name}")" && … (or python3's urllib); it is never written to a layer. ` +
  "RUN --mount=type=secret does not work here: the platform builds with Docker's legacy builder";

/** All but the first 4 characters masked. */
export const maskSecret = (secret: string): string => `${secret.slice(0, 4)}${'*'.repeat(Math.max(4, Math.min(12, secret.length - 4)))}`;

const unquote = (value: string): string => (/^(["']).*\1$/s.test(value) ? value.slice(1, -1) : value);
const isVariableOnly = (value: string): boolean => value === '' || /^\$(\{[A-Za-z_][A-Za-z0-9_]*(:?[-=+?][^}]*)?\}|[A-Za-z_][A-Za-z0-9_]*)$/.test(value);

/**
 * A value assigned to a secret-named key that counts as a literal secret: 8+ characters, not a
 * variable reference, not a plain number or boolean, and not one of the TOKEN_PATTERNS (the line scan
 * reports those).
 */
function looksSecret(literal: string): boolean {
  if (literal.length < 8 || literal.includes('$') || /^(\d+|true|false|yes|no|none|null)$/i.test(literal)) return false;
  return !TOKEN_PATTERNS.some(({ re }) => new RegExp(re.source).test(literal));
}

export const secretRules: RuleModule = {
  family: 'secrets',
  // tokens with a recognizable shape, anywhere: comments are published too
  checkText(text, report) {
    text.split(/\r?\n/).forEach((lineText, i) => {
      const seen = new Set<string>();
      for (const { name, re } of TOKEN_PATTERNS) {
        for (const m of lineText.matchAll(re)) {
          if (seen.has(m[0])) continue;
          seen.add(m[0]);
          report(
            finding('secret', i + 1, {
              message: `a ${name} (${maskSecret(m[0])}) is written in the Dockerfile; it ends up in the published submission and in the image`,
              fix: `revoke the token now, delete it from the file, and ${buildSecretFix('token')} (never ENV/ARG)`,
            }),
          );
        }
      }
    });
  },

  checkInstruction(instruction, context, report) {
    const { keyword } = instruction;
    if (keyword === 'ENV' || keyword === 'ARG') {
      for (const { key, value } of instruction.assignments) {
        const line = lineOf(instruction, key);
        if (value !== null && !isVariableOnly(value)) {
          const generic = secretAssignment().exec(`${key}=${value}`);
          const literal = generic ? unquote(generic[2]!) : '';
          if (generic && looksSecret(literal)) {
            report(
              finding('secret', line, {
                message: `${keyword} ${key} holds what looks like a secret (${maskSecret(literal)}); ${keyword} values are stored in the image and its history`,
                fix: `remove it, revoke it if it is real, and ${buildSecretFix(key.toLowerCase())}`,
              }),
            );
          }
        } else if (SECRET_NAME.test(key) && key !== BUILD_SECRETS_ARG) {
          report(
            finding('secret-build-arg', line, {
              message: `${keyword} ${key} passes a secret through ${keyword === 'ARG' ? 'a build argument' : 'the environment'}; its value is recorded in the image metadata or history`,
              fix: `instead of ${keyword}, ${buildSecretFix(key.toLowerCase())}`,
            }),
          );
        }
      }
      return;
    }
    if (keyword !== 'RUN' || context.command === null) return;
    const secretMount = instruction.flags.find((flag) => flag.name === 'mount' && flag.options.get('type') === 'secret');
    if (secretMount !== undefined) {
      report(
        finding('secret', instruction.line, {
          message:
            "RUN --mount=type=secret needs BuildKit, but this platform builds with Docker's legacy builder, which rejects RUN --mount: the build would fail at this step",
          fix: buildSecretFix(secretMount.options.get('id') ?? '<name>'),
        }),
      );
    }
    // secret assignments in shell code (export HF_TOKEN=…)
    for (const m of context.command.script.matchAll(secretAssignment())) {
      const literal = unquote(m[2]!);
      if (!looksSecret(literal)) continue;
      report(
        finding('secret', context.command.lineAt(m.index), {
          message: `RUN sets ${m[1]} to what looks like a secret (${maskSecret(literal)}); it is stored in the image layer and the published Dockerfile`,
          fix: `remove it, revoke it if it is real, and ${buildSecretFix(m[1]!.toLowerCase())}`,
        }),
      );
    }
  },
};
