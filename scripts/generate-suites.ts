/**
 * Generates the shipped evaluation suites, reproducible byte for byte (unit tests regenerate and compare them):
 * - the toy suites suites/open.json and suites/closed.json from suites/source/facts.json with a seeded PRNG;
 * - the NeurIPS 2023 suites suites/neurips2023/{open,closed,open-small,closed-small}.json from the datasets
 *   in suites/data (domain/suites/neurips2023.ts builds them; this script only reads and writes files).
 *
 *   npm run suites            # rewrite all six
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Suite, type MultipleChoiceInstance, type Scenario } from '../domain/harness/suite.js';
import { mulberry32, shuffle } from '../domain/random.js';
import { buildNeurips2023Suites, NEURIPS2023_FILES, type Neurips2023Suites } from '../domain/suites/neurips2023.js';

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

/** The NeurIPS 2023 suites built from the data files under `dataDir` (suites/data). */
export const generateNeurips2023Suites = (dataDir: string): Neurips2023Suites =>
  buildNeurips2023Suites((relativePath) => readFileSync(path.join(dataDir, relativePath), 'utf8'));

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = process.cwd();
  const facts = Facts.parse(JSON.parse(readFileSync(path.join(suitesDir(root), 'source', 'facts.json'), 'utf8')));
  const suites = generateSuites(facts);
  for (const kind of ['open', 'closed'] as const) {
    const file = path.join(suitesDir(root), `${kind}.json`);
    writeFileSync(file, serializeSuite(suites[kind]));
    console.log(`${file}: ${suites[kind].scenarios.map((s) => `${s.name} (${s.instances.length})`).join(', ')}`);
  }
  const real = generateNeurips2023Suites(path.join(suitesDir(root), 'data'));
  mkdirSync(path.join(suitesDir(root), 'neurips2023'), { recursive: true });
  for (const key of Object.keys(NEURIPS2023_FILES) as (keyof Neurips2023Suites)[]) {
    const file = path.join(suitesDir(root), 'neurips2023', NEURIPS2023_FILES[key]);
    writeFileSync(file, serializeSuite(real[key]));
    const total = real[key].scenarios.reduce((sum, s) => sum + s.instances.length, 0);
    console.log(`${file}: ${real[key].scenarios.length} scenarios, ${total} instances`);
  }
}
