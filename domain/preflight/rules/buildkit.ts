/**
 * buildkit-only: syntax that Docker's legacy builder, which the platform builds with (README, "Builder
 * and secrets"), rejects. Checked on the platform's engine (20.10, DOCKER_BUILDKIT=0):
 *  - RUN takes no flag at all ("the --mount option requires BuildKit", "Unknown flag: network");
 *  - COPY takes --from and --chown, ADD --chown; --chmod fails ("the --chmod option requires BuildKit")
 *    and --link, --exclude, --parents, --checksum, --keep-git-dir are "Unknown flag";
 *  - a here-document's lines are read as instructions ("unknown instruction: PIP").
 * RUN --mount=type=secret is left to rules/secrets.ts, which advises the platform's build secrets.
 */
import type { RuleModule } from '../family.js';
import type { InstructionFlag } from '../parse.js';
import { finding } from '../rules.js';

/** Flags the legacy builder accepts, per instruction; FROM --platform is accepted and not checked here. */
const LEGACY_FLAGS: Readonly<Record<string, readonly string[]>> = {
  RUN: [],
  COPY: ['from', 'chown'],
  ADD: ['chown'],
};

/** How to write what a BuildKit-only flag did for the legacy builder. */
function legacyWay(keyword: string, flag: InstructionFlag): string {
  switch (flag.name) {
    case 'mount': {
      const type = flag.options.get('type') ?? 'bind';
      if (type === 'cache') return 'drop the cache mount (and use pip install --no-cache-dir): every build here starts without a cache anyway';
      if (type === 'bind') return 'COPY the files into the image in an earlier step and use them from there';
      return `drop --mount=type=${type}; a build step here sees only what earlier steps put in the image`;
    }
    case 'network':
    case 'security':
      return `drop --${flag.name}: build steps run on the platform's firewalled build network, with its limits`;
    case 'chmod':
      return `${keyword} without --chmod, then RUN chmod ${flag.value ?? '<mode>'} <destination>`;
    case 'link':
      return `drop --link (it only changes how BuildKit caches the layer)`;
    case 'exclude':
      return `name the sources to ${keyword} instead, or list what to leave out in .dockerignore`;
    case 'parents':
      return `${keyword} each directory to its destination`;
    case 'checksum':
      return 'vendor the file into the submission and COPY it, or download it in a RUN and check it (curl -fsSLo f <url> && echo "<sha256>  f" | sha256sum -c -)';
    case 'keep-git-dir':
      return 'git clone the repository in a RUN and git checkout a 40-hex commit there';
    default:
      return `drop --${flag.name}`;
  }
}

export const buildkitRules: RuleModule = {
  family: 'buildkit',
  checkInstruction(instruction, _context, report) {
    const { keyword } = instruction;
    const allowed = LEGACY_FLAGS[keyword];
    if (allowed === undefined) return;
    for (const flag of instruction.flags) {
      if (allowed.includes(flag.name)) continue;
      if (keyword === 'RUN' && flag.name === 'mount' && flag.options.get('type') === 'secret') continue; // the secret rule's
      const written = `--${flag.name}${flag.value === null ? '' : `=${flag.value}`}`;
      report(
        finding('buildkit-only', flag.line, {
          message:
            `${keyword} ${written.length > 80 ? `${written.slice(0, 80)}…` : written} needs BuildKit, but the platform builds with ` +
            `Docker's legacy builder, which rejects --${flag.name}: the build would fail at this step`,
          fix: legacyWay(keyword, flag),
        }),
      );
    }
    if (instruction.heredocs.length > 0) {
      report(
        finding('buildkit-only', instruction.line, {
          message: `${keyword} with a here-document (<<EOF) needs BuildKit; the platform's legacy builder reads the here-document's lines as instructions and fails`,
          fix:
            keyword === 'RUN'
              ? 'write the commands in the RUN itself, joined with && and continued with \\ at the end of each line, or put a script in the submission and COPY and run it'
              : `put the file in the submission and ${keyword} it`,
        }),
      );
    }
  },
};
