/**
 * Generates the shipped evaluation suites, reproducible byte for byte (tests regenerate and compare them):
 * - the toy suites suites/open.json and suites/closed.json from suites/source/facts.json with a seeded PRNG;
 * - the NeurIPS 2023 suites suites/neurips2023/{open,closed,open-small,closed-small}.json from the datasets
 *   in suites/data, with crfm-helm's own code: scripts/ensure-helm.sh installs the pinned crfm-helm (cached),
 *   scripts/helm/generate.py runs it, domain/suites/neurips2023.ts assembles the suites and checks every prompt
 *   and request against HELM's. This script only runs Python and reads and writes files.
 *
 *   npm run suites            # rewrite all six
 *   npm run suites -- --check # regenerate all six and compare them with the committed files (exit 1 on a difference)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Suite, type MultipleChoiceInstance, type Scenario } from '../domain/harness/suite.js';
import { mulberry32, shuffle } from '../domain/random.js';
import { HelmOutput, type HelmRequest, type HelmRunEntry } from '../domain/suites/helm-runs.js';
import { buildNeurips2023Suites, neurips2023HelmEntries, NEURIPS2023_FILES, NEURIPS2023_KEYS, type Neurips2023Suites } from '../domain/suites/neurips2023.js';

const Pairs = z.array(z.tuple([z.string().min(1), z.string().min(1)])).min(8);
export const Facts = z.object({ opposites: Pairs, capitals: Pairs, animal_sounds: Pairs, colors: Pairs });
export type Facts = z.infer<typeof Facts>;

const article = (noun: string) => (/^[aeiou]/i.test(noun) ? `an ${noun}` : `a ${noun}`);

interface ScenarioRecipe {
  name: string;
  title: string;
  subject: string;
  pairs: [string, string][];
  question: (subject: string) => string;
  instances: number;
}

function buildScenario(recipe: ScenarioRecipe, random: () => number, inContextCount = 2): Scenario {
  const answers = [...new Set(recipe.pairs.map(([, answer]) => answer))];
  const makeInstance = ([subject, answer]: [string, string], id: string): MultipleChoiceInstance => {
    const distractors = shuffle(
      answers.filter((a) => a !== answer),
      random,
    ).slice(0, 3);
    const choices = shuffle([answer, ...distractors], random);
    return { id, question: recipe.question(subject), choices, answer: choices.indexOf(answer) };
  };
  const order = shuffle(recipe.pairs, random);
  const inContext = order.slice(0, inContextCount).map((pair, i) => makeInstance(pair, `train${i}`));
  const instances = order.slice(inContextCount, inContextCount + recipe.instances).map((pair, i) => makeInstance(pair, `id${i}`));
  return {
    name: recipe.name,
    title: recipe.title,
    kind: 'multiple_choice',
    metric: 'exact_match',
    instructions: `The following are multiple choice questions (with answers) about ${recipe.subject}.`,
    inContext,
    instances,
  };
}

export function generateSuites(facts: Facts, seed = 2023): { open: Suite; closed: Suite } {
  const random = mulberry32(seed);
  const bothWays = facts.opposites.flatMap(([a, b]) => [[a, b] as [string, string], [b, a] as [string, string]]);
  const open: Suite = {
    schemaVersion: 1,
    name: 'challenge-open',
    kind: 'open',
    version: `facts-seed-${seed}`,
    description: 'Published tasks: participants may look at these while they fine-tune.',
    scenarios: [
      buildScenario(
        { name: 'opposites', title: 'Opposites', subject: 'opposites', pairs: bothWays, question: (w) => `What is the opposite of ${w}?`, instances: 30 },
        random,
      ),
      buildScenario(
        {
          name: 'capitals',
          title: 'Capital cities',
          subject: 'capital cities',
          pairs: facts.capitals,
          question: (c) => `What is the capital of ${c}?`,
          instances: 30,
        },
        random,
      ),
    ],
  };
  const closed: Suite = {
    schemaVersion: 1,
    name: 'challenge-closed',
    kind: 'closed',
    version: `facts-seed-${seed}`,
    description: 'Hidden tasks: never shown to participants; only prompts leave the harness.',
    scenarios: [
      buildScenario(
        {
          name: 'animal-sounds',
          title: 'Animal sounds',
          subject: 'animal sounds',
          pairs: facts.animal_sounds,
          question: (a) => `What sound does ${article(a)} make?`,
          instances: 20,
        },
        random,
      ),
      buildScenario(
        { name: 'colors', title: 'Colors of things', subject: 'colors', pairs: facts.colors, question: (t) => `What color is ${t}?`, instances: 24 },
        random,
      ),
    ],
  };
  return { open: Suite.parse(open), closed: Suite.parse(closed) };
}

export const suitesDir = (root: string) => path.join(root, 'suites');
export const serializeSuite = (suite: Suite) => `${JSON.stringify(suite, null, 1)}\n`;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The pinned crfm-helm's python (scripts/ensure-helm.sh installs it once per machine and prints its path). */
export function helmPython(root = repoRoot): string {
  const result = spawnSync('bash', [path.join(root, 'scripts', 'ensure-helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const python = result.stdout.trim().split('\n').pop() ?? '';
  if (result.status !== 0 || python === '')
    throw new Error(`scripts/ensure-helm.sh failed (exit ${result.status}): the pinned crfm-helm is needed to generate the suites`);
  return python;
}

/** Runs crfm-helm (scripts/helm/generate.py) on `entries` over the data in `dataDir` and returns its parsed answer. */
export function runHelm(entries: readonly HelmRunEntry[], dataDir: string, options: { perturb?: boolean; python?: string; root?: string } = {}): HelmOutput {
  const root = options.root ?? repoRoot;
  const request: HelmRequest = { dataDir: path.resolve(dataDir), entries: [...entries], ...(options.perturb ? { perturb: true } : {}) };
  const result = spawnSync(options.python ?? helmPython(root), [path.join(root, 'scripts', 'helm', 'generate.py')], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (result.status !== 0) throw new Error(`scripts/helm/generate.py failed (exit ${result.status}):\n${result.stderr.split('\n').slice(-30).join('\n')}`);
  return HelmOutput.parse(JSON.parse(result.stdout));
}

/** The NeurIPS 2023 suites `keys` (default all four) built from the data files under `dataDir` (suites/data) with HELM. */
export function generateNeurips2023Suites(
  dataDir: string,
  keys: readonly (keyof Neurips2023Suites)[] = NEURIPS2023_KEYS,
  python?: string,
): Partial<Neurips2023Suites> {
  const helm = runHelm(neurips2023HelmEntries(keys), dataDir, python ? { python } : {});
  return buildNeurips2023Suites((relativePath) => readFileSync(path.join(dataDir, relativePath), 'utf8'), helm.runs, keys);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = process.cwd();
  const check = process.argv.includes('--check');
  const facts = Facts.parse(JSON.parse(readFileSync(path.join(suitesDir(root), 'source', 'facts.json'), 'utf8')));
  const suites = generateSuites(facts);
  const real = generateNeurips2023Suites(path.join(suitesDir(root), 'data'));
  const files: [string, Suite][] = [
    ...(['open', 'closed'] as const).map((kind): [string, Suite] => [path.join(suitesDir(root), `${kind}.json`), suites[kind]]),
    ...NEURIPS2023_KEYS.map((key): [string, Suite] => [path.join(suitesDir(root), 'neurips2023', NEURIPS2023_FILES[key]), real[key]!]),
  ];
  mkdirSync(path.join(suitesDir(root), 'neurips2023'), { recursive: true });
  let differ = 0;
  for (const [file, suite] of files) {
    const total = suite.scenarios.reduce((sum, s) => sum + s.instances.length, 0);
    if (check) {
      const same = readFileSync(file, 'utf8') === serializeSuite(suite);
      if (!same) differ++;
      console.log(`${file}: ${same ? 'identical' : 'DIFFERS from the regenerated suite'} (${suite.scenarios.length} scenarios, ${total} instances)`);
    } else {
      writeFileSync(file, serializeSuite(suite));
      console.log(`${file}: ${suite.scenarios.length} scenarios, ${total} instances`);
    }
  }
  if (differ > 0) process.exit(1);
}
