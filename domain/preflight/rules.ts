/**
 * Every finding the Dockerfile preflight can report has an id here, with its severity, what it means and
 * the usual fix: one table that the rule modules, the CLI, the build activity and the tests share (the
 * same idea as domain/failures.ts). A rule module adds the specifics (the package, the URL, the line) to
 * a finding; it never chooses a severity of its own. Where a rule is milder in a known case, the table
 * says so in `lenient`, and the module can only ask for that one milder severity.
 *
 * Why these rules: in 2023 more than half of the submitted Dockerfiles failed to build, "most often
 * because of unpinned dependencies and breaking changes in HuggingFace PEFT and Transformers" (spec
 * CHALLENGE_2023 §2.7), finalists shipped `pip install transformers` and `pip install
 * git+https://github.com/huggingface/peft.git`, and §3.6 asks to "require pinned dependencies … forbid
 * secrets in Dockerfiles". The platform builds with Docker's legacy builder (README, "Builder and
 * secrets"), so BuildKit-only syntax fails the build and is flagged before any build starts.
 */
export type Severity = 'error' | 'warning';

/** The module under rules/ that reports a rule (submission: the file-level checks of the preflight itself). */
export type RuleFamily = 'base-image' | 'pins' | 'secrets' | 'downloads' | 'buildkit' | 'submission';

export interface RuleDefinition {
  family: RuleFamily;
  severity: Severity;
  /** When the rule reports a warning instead (build tooling, a file it could not read, …); absent: never. */
  lenient?: string;
  /** What is wrong and why it matters; a finding's own message adds the specifics. */
  message: string;
  /** The usual way out; a finding may name the package or secret in a fix of its own. */
  fix: string;
}

export const PREFLIGHT_RULES = {
  'unpinned-pip': {
    family: 'pins',
    severity: 'error',
    lenient: 'the package is build tooling (pip, setuptools, wheel), or a constraints file that may pin it could not be read',
    message:
      'pip installs a package without an exact == (or ===) pin, in a RUN or in a requirements file the RUN references; the build picks whatever is newest that day',
    fix: 'pin it exactly, e.g. transformers==<version you tested> (pip freeze prints them), or pin it in a constraints file (-c)',
  },
  'pip-upgrade': {
    family: 'pins',
    severity: 'warning',
    message: 'pip install --upgrade takes the newest release available on build day',
    fix: 'drop --upgrade and pin exact versions (==)',
  },
  'unpinned-npm': {
    family: 'pins',
    severity: 'error',
    message: 'npm install / yarn add / pnpm add of a package without an exact x.y.z version (ranges, tags and latest move)',
    fix: 'pin exact versions (name@<x.y.z>), or commit package-lock.json and run npm ci',
  },
  'unpinned-apt': {
    family: 'pins',
    severity: 'warning',
    message: 'apt-get / apt install of a package without =version; Debian point releases change them',
    fix: 'pin with package=version (apt-cache policy <package> shows it), or accept it knowingly',
  },
  'unpinned-conda': {
    family: 'pins',
    severity: 'warning',
    message: 'conda / mamba / micromamba install of a package without =version',
    fix: 'pin with name=version (or name==version=build)',
  },
  'unpinned-git': {
    family: 'pins',
    severity: 'error',
    lenient: 'a git clone not followed by a checkout of a 40-hex commit in the same RUN (the clone may be pinned elsewhere)',
    message: 'installs from a git URL (pip git+…, npm git+… / github:, a GitHub branch archive) without a full 40-hex commit: a branch or tag moves',
    fix: 'append @<40-hex commit sha> (pip) or #<40-hex commit sha> (npm) to the URL; after a git clone, git -C <dir> checkout <sha> in the same RUN',
  },
  'requirements-unreadable': {
    family: 'pins',
    severity: 'warning',
    message: "a requirements / constraints file that a RUN references is not in the submission (or not COPY'd from it), so its pins cannot be checked",
    fix: 'add the file to the submission and COPY it before the RUN that installs from it',
  },
  'base-image-untagged': {
    family: 'base-image',
    severity: 'error',
    message: 'FROM without a tag or digest means :latest, whatever that is on build day (FROM scratch and earlier stages are fine)',
    fix: 'name an exact tag or digest, e.g. FROM image:<version> or FROM image@sha256:<digest>',
  },
  'base-image-latest': {
    family: 'base-image',
    severity: 'error',
    message: 'FROM image:latest without a digest: "latest" moves, so the build is not reproducible',
    fix: 'use an exact tag or a digest, e.g. FROM image@sha256:<digest>',
  },
  'base-image-variable': {
    family: 'base-image',
    severity: 'warning',
    message: 'FROM takes its image from a build argument without a default, so its tag cannot be checked',
    fix: 'give the ARG a default with an exact tag (ARG BASE=image:1.2.3) or write the image directly',
  },
  secret: {
    family: 'secrets',
    severity: 'error',
    message:
      'an access token (Hugging Face, GitHub, OpenAI, AWS) anywhere in the Dockerfile, comments included, a literal value assigned to a secret-named ' +
      'ENV / ARG / shell variable, or RUN --mount=type=secret (which the legacy builder rejects); the Dockerfile is published with the submission and ' +
      'ENV / ARG / RUN text is stored in the image',
    fix: 'revoke it if it is real, delete it from the file, and fetch it as a build secret of your team from $CHALLENGE_BUILD_SECRETS_URL/<name> inside the RUN that needs it',
  },
  'secret-build-arg': {
    family: 'secrets',
    severity: 'warning',
    message: 'an ENV / ARG named like a secret, set from a variable or left empty: build arguments and ENV values are recorded in the image',
    fix: 'fetch it as a build secret of your team from $CHALLENGE_BUILD_SECRETS_URL/<name> inside the RUN that needs it (ARG CHALLENGE_BUILD_SECRETS_URL itself is fine)',
  },
  'runtime-download': {
    family: 'downloads',
    severity: 'warning',
    message:
      'model weights fetched by CMD / ENTRYPOINT (training runs with --network none, inference on an internal network), or by a RUN without a pinned ' +
      '40-hex revision',
    fix: 'download the weights in a RUN step at build time, pinned to a revision (--revision <sha>), or load fine-tuned weights from /artifacts',
  },
  'add-url': {
    family: 'downloads',
    severity: 'warning',
    message: 'ADD of a URL downloads at build time with no integrity check, or of a git repository at whatever commit its ref points to on build day',
    fix: 'vendor the file into the submission and COPY it, or download it in a RUN and check it (curl -fsSLo f <url> && echo "<sha256>  f" | sha256sum -c -)',
  },
  'buildkit-only': {
    family: 'buildkit',
    severity: 'error',
    message:
      "BuildKit-only syntax: the platform builds with Docker's legacy builder, which rejects RUN flags (--mount, --network, --security), COPY / ADD " +
      'flags other than --from and --chown (--chmod, --link, --exclude, --parents, --checksum, --keep-git-dir) and reads here-documents (<<EOF) as ' +
      'instructions: the build fails at that line',
    fix: 'write it for the legacy builder: chmod in the RUN after a COPY, a plain COPY instead of a bind mount, a file in the submission instead of a here-document',
  },
  'missing-dockerfile': {
    family: 'submission',
    severity: 'error',
    message: 'Dockerfile or Dockerfile.train is absent from the submission',
    fix: 'add it at the top of the submission directory',
  },
} as const satisfies Record<string, RuleDefinition>;

export type PreflightRule = keyof typeof PREFLIGHT_RULES;
export const PREFLIGHT_RULE_IDS = Object.keys(PREFLIGHT_RULES) as PreflightRule[];

export function isPreflightRule(value: unknown): value is PreflightRule {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PREFLIGHT_RULES, value);
}

export interface Finding {
  severity: Severity;
  rule: PreflightRule;
  /** File the finding is in (as given to the linter, e.g. "Dockerfile" or "requirements.txt"). */
  file: string;
  /** 1-based line; 0 when the finding is about a whole file. */
  line: number;
  message: string;
  fix: string;
}

/** A finding before the linter names its file (rule modules leave `file` to it unless it is another file). */
export type FindingDraft = Omit<Finding, 'file'> & { file?: string };

export interface FindingSpecifics {
  /** The message with the specifics (package, URL, secret masked); default: the table's message. */
  message?: string;
  /** A fix naming the specifics; default: the table's fix. */
  fix?: string;
  /** Report the milder severity the table describes in `lenient`. */
  lenient?: boolean;
  /** Another file than the Dockerfile (a requirements file it references). */
  file?: string;
}

/** The rules that have a milder severity (only these may ask for it; the compiler checks). */
export type LenientRule = { [Id in PreflightRule]: (typeof PREFLIGHT_RULES)[Id] extends { lenient: string } ? Id : never }[PreflightRule];

/** A finding of `rule` at `line`, with the table's severity. */
export function finding<Rule extends PreflightRule>(
  rule: Rule,
  line: number,
  specifics: FindingSpecifics & (Rule extends LenientRule ? unknown : { lenient?: false }) = {},
): FindingDraft {
  const definition: RuleDefinition = PREFLIGHT_RULES[rule];
  if (specifics.lenient === true && definition.lenient === undefined) throw new Error(`preflight rule ${rule} has no lenient severity`);
  const draft: FindingDraft = {
    severity: specifics.lenient === true ? 'warning' : definition.severity,
    rule,
    line,
    message: specifics.message ?? definition.message,
    fix: specifics.fix ?? definition.fix,
  };
  if (specifics.file !== undefined) draft.file = specifics.file;
  return draft;
}
