import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSuite, multipleChoicePrompt, scoreMultipleChoice, countInstances } from '../../domain/harness/suite.js';
import { Facts, generateSuites, serializeSuite } from '../../scripts/generate-suites.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

describe('multiple choice (HELM multiple_choice_joint)', () => {
  const scenario = {
    instructions: 'The following are multiple choice questions (with answers) about opposites.',
    inContext: [{ id: 'train0', question: 'What is the opposite of tall?', choices: ['short', 'green'], answer: 0 }],
  };
  const instance = { id: 'id0', question: 'What is the opposite of hot?', choices: ['wet', 'cold', 'fast'], answer: 1 };

  it('renders instructions, in-context examples and the eval block ending in "Answer:"', () => {
    expect(multipleChoicePrompt(scenario, instance)).toBe(
      'The following are multiple choice questions (with answers) about opposites.\n' +
        '\nQuestion: What is the opposite of tall?\nA. short\nB. green\nAnswer: A\n' +
        '\nQuestion: What is the opposite of hot?\nA. wet\nB. cold\nC. fast\nAnswer:',
    );
  });

  it('scores the stripped letter mapped to its choice; anything else scores 0', () => {
    expect(scoreMultipleChoice(instance, ' B')).toBe(1);
    expect(scoreMultipleChoice(instance, 'B\n')).toBe(1);
    expect(scoreMultipleChoice(instance, ' A')).toBe(0);
    expect(scoreMultipleChoice(instance, 'B.')).toBe(0);
    expect(scoreMultipleChoice(instance, 'b')).toBe(0);
    expect(scoreMultipleChoice(instance, 'D')).toBe(0);
    expect(scoreMultipleChoice(instance, '')).toBe(0);
    expect(scoreMultipleChoice(instance, null)).toBe(0);
  });
});

describe('shipped suites', () => {
  it('are exactly what the generator makes from suites/source/facts.json', () => {
    const facts = Facts.parse(JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'suites/source/facts.json'), 'utf8')));
    const generated = generateSuites(facts);
    for (const kind of ['open', 'closed'] as const) {
      expect(readFileSync(path.join(PROJECT_ROOT, 'suites', `${kind}.json`), 'utf8')).toBe(serializeSuite(generated[kind]));
    }
  });

  it('load, and have four distinct choices with the answer among them', () => {
    for (const kind of ['open', 'closed'] as const) {
      const suite = loadSuite(path.join(PROJECT_ROOT, 'suites', `${kind}.json`));
      expect(suite.kind).toBe(kind);
      expect(countInstances(suite)).toBeGreaterThanOrEqual(40);
      for (const scenario of suite.scenarios) {
        // the shipped suites are multiple choice only
        if (scenario.kind !== 'multiple_choice') throw new Error(`${scenario.name} is not multiple choice`);
        for (const instance of scenario.instances) {
          expect(new Set(instance.choices).size).toBe(4);
          expect(instance.choices[instance.answer]).toBeDefined();
        }
        // in-context examples are never evaluated
        const evalQuestions = new Set(scenario.instances.map((i) => i.question));
        expect(scenario.inContext.some((e) => evalQuestions.has(e.question))).toBe(false);
      }
    }
  });

  it('have no scenario groups, and parse and serialize back to the same bytes (the optional `group` adds nothing)', () => {
    for (const kind of ['open', 'closed'] as const) {
      const file = path.join(PROJECT_ROOT, 'suites', `${kind}.json`);
      const suite = loadSuite(file);
      expect(suite.scenarios.every((scenario) => !('group' in scenario))).toBe(true);
      expect(serializeSuite(suite)).toBe(readFileSync(file, 'utf8'));
    }
  });

  it('reject a malformed suite file with the file and field named', () => {
    const file = path.join(PROJECT_ROOT, 'package.json');
    expect(() => loadSuite(file)).toThrow(/package\.json does not follow the suite format/);
  });
});
