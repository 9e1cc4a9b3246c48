/**
 * crfm-helm (the version scripts/ensure-helm.sh pins, installed once per machine) as the reference of what the
 * harness computes at run time: the misspelling list is HELM's file byte for byte; the canonical perturbations
 * the harness replays per instance (domain/metrics/perturbations.ts) equal HELM's own classes on every instance
 * of the small open suite (MildMix and gender pronouns: the two whose word lists ship in the wheel); and HELM's
 * exact-match metric functions agree with the project's on a wide set of completions. No HELM is a failure.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMultipleChoiceInstance, loadSuite, perturbedVariants, type Scenario } from '../../domain/harness/suite.js';
import { exactMatch, exactMatchIndicator, quasiExactMatch } from '../../domain/metrics/index.js';
import { neurips2023HelmEntries } from '../../domain/suites/neurips2023.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { helmPython, runHelm } from '../../scripts/generate-suites.js';

const python = helmPython(PROJECT_ROOT);
const DATA = path.join(PROJECT_ROOT, 'suites', 'data');
const openSmall = loadSuite(path.join(PROJECT_ROOT, 'suites', 'neurips2023', 'open-small.json'));

describe('crfm-helm as the reference', () => {
  it("ships HELM's correct_to_misspelling.json byte for byte (6,523 words)", () => {
    const wheel = spawnSync(
      python,
      ['-c', 'import helm.benchmark.augmentations as a, os; print(os.path.join(os.path.dirname(a.__file__), "correct_to_misspelling.json"))'],
      {
        encoding: 'utf8',
      },
    );
    const helmFile = readFileSync(wheel.stdout.trim(), 'utf8');
    expect(readFileSync(path.join(PROJECT_ROOT, 'domain', 'metrics', 'data', 'correct_to_misspelling.json'), 'utf8')).toBe(helmFile);
    expect(Object.keys(JSON.parse(helmFile) as object)).toHaveLength(6523);
  });

  it("the harness's MildMix and gender variants equal HELM's on every instance of open-small", () => {
    const entries = neurips2023HelmEntries(['openSmall']).filter((entry) => entry.description.includes('data_augmentation=canonical'));
    const helm = runHelm(entries, DATA, { perturb: true, python });
    let compared = 0;
    let changed = 0;
    for (const run of helm.runs) {
      const subject = /^mmlu:subject=([a-z_]+),/.exec(run.description)?.[1];
      const name = subject === undefined ? 'truthfulqa' : `mmlu-${subject.replaceAll('_', '-')}`;
      const scenario = openSmall.scenarios.find((s) => s.name === name) as Scenario;
      expect(scenario).toBeDefined();
      for (const instance of scenario.instances) {
        const ours = new Map(perturbedVariants(scenario, instance).map((v) => [v.perturbation, v.instance]));
        const theirs = run.perturbed?.[instance.id] ?? {};
        for (const [helmName, name] of [
          ['mild_mix', 'mild_mix'],
          ['gender', 'gender'],
        ] as const) {
          const mine = ours.get(name);
          const reference = theirs[helmName];
          compared++;
          // HELM keeps a variant only when the input changed (should_skip_unchanged_eval), as the harness does
          expect(mine === undefined).toBe(reference === undefined);
          if (mine === undefined || reference === undefined) continue;
          changed++;
          if (!isMultipleChoiceInstance(mine)) throw new Error('open-small canonical scenarios are multiple choice');
          expect([mine.question, mine.choices]).toEqual([reference.input, reference.references]);
        }
      }
    }
    // 55 MMLU subjects + TruthfulQA of the 100-instance suite, two perturbations each
    expect(compared).toBe(2 * (100 - 7 - 7));
    expect(changed).toBeGreaterThan(80);
  }, 120_000);

  it("HELM's exact_match, quasi_exact_match and exact_match_indicator agree with the project's on every pair", () => {
    const golds = ['B', 'The answer is 72.', 'Cecum', "Can't be determined", 'The answer is 1,000.', 'yes', 'Ileum.'];
    const preds = [
      'B',
      ' B',
      'b',
      'B.',
      ' B\n\nQuestion',
      'The answer is 72.',
      'so the answer is 72.',
      'The answer is 72',
      '72.',
      ' the answer is 72.\n\nQ: x',
      'cecum',
      'Cecum!',
      'the Cecum',
      "can't be determined",
      'Cant be determined',
      'The answer is 1,000.',
      '1000',
      'Yes',
      'YES.',
      '',
      ' ',
      'Ileum',
      'ileum.',
      'É',
      'Answer: B',
      'B\nC',
    ];
    const pairs = golds.flatMap((gold) => preds.map((pred) => [gold, pred] as [string, string]));
    const result = spawnSync(python, [path.join(PROJECT_ROOT, 'scripts', 'helm', 'metrics.py')], { input: JSON.stringify({ pairs }), encoding: 'utf8' });
    expect(result.status).toBe(0);
    const helm = JSON.parse(result.stdout) as Record<'exact_match' | 'quasi_exact_match' | 'exact_match_indicator', number[]>;
    const ours = {
      exact_match: pairs.map(([g, p]) => exactMatch(g, p)),
      quasi_exact_match: pairs.map(([g, p]) => quasiExactMatch(g, p)),
      exact_match_indicator: pairs.map(([g, p]) => exactMatchIndicator(g, p)),
    };
    expect(ours).toEqual(helm);
    expect(pairs).toHaveLength(golds.length * preds.length);
    expect(helm.quasi_exact_match.filter((x) => x === 1).length).toBeGreaterThan(helm.exact_match.filter((x) => x === 1).length);
  });
});
