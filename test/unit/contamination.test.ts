import { afterAll, describe, expect, it } from '@jest/globals';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  WITHHELD_EXAMPLE,
  instanceText,
  renderContaminationReport,
  scanContamination,
  tokenize,
  type ContaminationReport,
  type ScannableSuite,
} from '../../domain/reports/contamination.js';
import { loadSuite } from '../../domain/harness/suite.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'contamination-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileCounter = 0;
function trainingFile(text: string): string {
  const file = path.join(tmp, `train-${fileCounter++}.txt`);
  writeFileSync(file, text);
  return file;
}

const LONG_Q = 'Which of the following statements about the water cycle is correct when the sun heats the ocean surface?';
const LONG_A = 'Water evaporates and later condenses into clouds';

const openSuite: ScannableSuite = {
  name: 'tiny-open',
  kind: 'open',
  scenarios: [
    {
      name: 'science',
      instances: [
        { id: 'q-long', question: LONG_Q, choices: ['Nothing happens', LONG_A, 'The ocean freezes'], answer: 1 },
        { id: 'q-other', question: 'Which planet in the solar system has the largest number of confirmed moons as of this year?', choices: ['Saturn', 'Mars'], answer: 0 },
        { id: 'q-short', question: 'What is the opposite of win?', choices: ['lose', 'open'], answer: 0 },
      ],
    },
  ],
};

const closedSuite: ScannableSuite = {
  name: 'tiny-closed',
  kind: 'closed',
  scenarios: [
    {
      name: 'summaries',
      instances: [
        { id: 'g1', input: 'Summarize: the committee met on Tuesday to discuss the annual budget for the city library', references: ['The committee discussed the library budget.'] },
        { id: 'weird', prompt: 'not a known instance shape' },
      ],
    },
  ],
};

const byScenario = (report: ContaminationReport, scenario: string) => {
  const found = report.suites.find((s) => s.scenario === scenario);
  if (!found) throw new Error(`no scenario ${scenario}`);
  return found;
};

describe('tokenizer and instance text', () => {
  it('lowercases ASCII letters and splits on everything else', () => {
    expect(tokenize("What's the Opposite of WIN?\nlose—yes 42x")).toEqual(['what', 's', 'the', 'opposite', 'of', 'win', 'lose', 'yes', '42x']);
    expect(tokenize('café')).toEqual(['caf']);
  });

  it('uses question + correct choice for multiple choice and input + first reference for generation', () => {
    expect(instanceText({ id: 'a', question: 'Q?', choices: ['x', 'y'], answer: 1 })).toEqual({ id: 'a', text: 'Q? y' });
    expect(instanceText({ id: 'b', input: 'In', references: ['r1', 'r2'] })).toEqual({ id: 'b', text: 'In r1' });
    expect(instanceText({ id: 'c', input: 'In', references: [{ text: 'obj ref' }] })).toEqual({ id: 'c', text: 'In obj ref' });
    expect(instanceText({ id: 'd', input: 'In', references: [] })).toEqual({ id: 'd', text: 'In' });
    expect(instanceText({ id: 'e' })).toBeNull();
  });
});

describe('scanContamination', () => {
  it('detects an eval question copied verbatim and names the instance', async () => {
    const text = `Some unrelated text about cooking pasta.\nQ: ${LONG_Q}\nA: ${LONG_A}.\nMore unrelated text.\n`;
    const file = trainingFile(text);
    const report = await scanContamination({ files: [file], suites: [openSuite, closedSuite] });
    expect(report.n).toBe(13);
    const science = byScenario(report, 'science');
    expect(science.contaminated.map((c) => c.instanceId)).toEqual(['q-long']);
    const hit = science.contaminated[0]!;
    expect(hit.ngrams).toBe(tokenize(`${LONG_Q} ${LONG_A}`).length - 12);
    // "A:" sits between question and answer, so only the 13-grams inside the question match
    expect(hit.matchedNgrams).toBe(tokenize(LONG_Q).length - 12);
    expect(hit.firstMatch).toEqual({ path: file, line: 2 });
    expect(hit.example.split(' ')).toHaveLength(13);
    expect(science.rate).toBeCloseTo(1 / 3);
    expect(byScenario(report, 'summaries').contaminated).toEqual([]);
    expect(report.totalContaminated).toBe(1);
    expect(report.trainingFiles[0]).toEqual({ path: file, bytes: Buffer.byteLength(text), tokens: tokenize(text).length });
  });

  it('does not flag a paraphrase', async () => {
    const file = trainingFile(
      'When sunlight warms the sea, which statement on the hydrological cycle holds? Ocean water turns to vapour and then forms clouds.\n' +
        'How many moons does the planet with the most confirmed moons have today?\n',
    );
    const report = await scanContamination({ files: [file], suites: [openSuite] });
    expect(report.totalContaminated).toBe(0);
  });

  it('finds a match split across lines (the window crosses line boundaries), with any punctuation and case', async () => {
    const words = LONG_Q.split(' ');
    const file = trainingFile(`intro line\n${words.slice(0, 7).join(' ').toUpperCase()}\n\n   ${words.slice(7).join(' ')} --\n`);
    const report = await scanContamination({ files: [file], suites: [openSuite] });
    const science = byScenario(report, 'science');
    expect(science.contaminated.map((c) => c.instanceId)).toEqual(['q-long']);
    expect(science.contaminated[0]!.matchedNgrams).toBe(tokenize(LONG_Q).length - 12);
    expect(science.contaminated[0]!.firstMatch.line).toBe(4);
  });

  it('has a configurable n', async () => {
    // shares 8 consecutive tokens with q-other ("has the largest number of confirmed moons as"), not 13
    const file = trainingFile('Which gas giant has the largest number of confirmed moons as reported by NASA?\n');
    const at13 = await scanContamination({ files: [file], suites: [openSuite], n: 13 });
    expect(at13.totalContaminated).toBe(0);
    const at8 = await scanContamination({ files: [file], suites: [openSuite], n: 8 });
    expect(at8.n).toBe(8);
    expect(byScenario(at8, 'science').contaminated.map((c) => c.instanceId)).toEqual(['q-other']);
    expect(byScenario(at8, 'science').contaminated[0]!.matchedNgrams).toBe(1);
    await expect(scanContamination({ files: [file], suites: [openSuite], n: 0 })).rejects.toThrow(RangeError);
  });

  it('uses the whole text of an instance shorter than n as its only n-gram', async () => {
    const report = await scanContamination({ files: [trainingFile('Trivia: what is the OPPOSITE of win? Lose, of course.\n')], suites: [openSuite] });
    const hit = byScenario(report, 'science').contaminated;
    expect(hit.map((c) => c.instanceId)).toEqual(['q-short']);
    expect(hit[0]).toMatchObject({ ngrams: 1, matchedNgrams: 1, occurrences: 1, example: 'what is the opposite of win lose' });
    const missing = await scanContamination({ files: [trainingFile('what is the opposite of win\n')], suites: [openSuite] });
    expect(missing.totalContaminated).toBe(0); // the answer is part of the instance text
  });

  it('reads generation instances, skips unknown shapes, and withholds closed-suite examples unless asked', async () => {
    const file = trainingFile('Summarize: the committee met on Tuesday to discuss the annual budget for the city library. The committee discussed the library budget.\n');
    const report = await scanContamination({ files: [file], suites: [closedSuite] });
    const summaries = byScenario(report, 'summaries');
    expect(summaries).toMatchObject({ suite: 'tiny-closed', suiteKind: 'closed', instances: 2, skipped: 1, rate: 0.5 });
    expect(summaries.contaminated[0]).toMatchObject({ instanceId: 'g1', example: WITHHELD_EXAMPLE });
    const revealed = await scanContamination({ files: [file], suites: [closedSuite], revealClosedExamples: true });
    expect(byScenario(revealed, 'summaries').contaminated[0]!.example).not.toBe(WITHHELD_EXAMPLE);
    expect(renderContaminationReport(report)).not.toContain('committee');
  });

  it('counts occurrences across files and keeps files apart (no n-gram spans two files)', async () => {
    const words = LONG_Q.split(' ');
    const a = trainingFile(`${words.slice(0, 8).join(' ')}\n`);
    const b = trainingFile(`${words.slice(8).join(' ')}\n`);
    expect((await scanContamination({ files: [a, b], suites: [openSuite] })).totalContaminated).toBe(0);
    const c = trainingFile(`${LONG_Q}\n${LONG_Q}\n`);
    const report = await scanContamination({ files: [c, c], suites: [openSuite] });
    const hit = byScenario(report, 'science').contaminated[0]!;
    const questionGrams = tokenize(LONG_Q).length - 12; // the answer is not in the file
    expect(hit.matchedNgrams).toBe(questionGrams);
    expect(hit.occurrences).toBe(4 * questionGrams);
    await expect(scanContamination({ files: [path.join(tmp, 'nope.txt')], suites: [openSuite] })).rejects.toThrow(/nope\.txt/);
  });
});

describe('chunk boundaries (the stream reads 64 KiB at a time)', () => {
  it('tokenizes exactly like tokenize() when tokens and n-grams straddle chunks', async () => {
    for (const offset of [1, 2, 3, 5, 40]) {
      // the first chunk ends `offset` characters into the question ("W|HICH", "WH|ICH", …, mid-question)
      const filler = `${'Lorem IPSUM dolor, sit amet. '.repeat(3000).slice(0, 65535 - offset)} `;
      const text = `${filler}${LONG_Q.toUpperCase()} ${LONG_A}\n${filler}`;
      const report = await scanContamination({ files: [trainingFile(text)], suites: [openSuite] });
      expect(report.trainingFiles[0]!.tokens).toBe(tokenize(text).length);
      const hit = byScenario(report, 'science').contaminated;
      expect(hit.map((c) => c.instanceId)).toEqual(['q-long']);
      expect(hit[0]!.matchedNgrams).toBe(hit[0]!.ngrams);
    }
  });

  it('survives a token longer than a chunk', async () => {
    const text = `${'x'.repeat(200_000)} ${LONG_Q}\n`;
    const report = await scanContamination({ files: [trainingFile(text)], suites: [openSuite] });
    expect(report.trainingFiles[0]!.tokens).toBe(tokenize(text).length);
    expect(report.totalContaminated).toBe(1);
  });
});

describe('shipped samples against the shipped suites', () => {
  const suites = [loadSuite(path.join(PROJECT_ROOT, 'suites/open.json')), loadSuite(path.join(PROJECT_ROOT, 'suites/closed.json'))];

  it('examples/overfit-open/data/open-suite.txt is what data/make_corpus.py makes from suites/open.json', () => {
    const expected = suites[0]!.scenarios.flatMap((scenario) =>
      scenario.instances.map((instance) => {
        const found = instanceText(instance);
        if (found === null) throw new Error('open suite instance without text');
        return found.text;
      }),
    );
    expect(readFileSync(path.join(PROJECT_ROOT, 'examples/overfit-open/data/open-suite.txt'), 'utf8')).toBe(`${expected.join('\n')}\n`);
  });

  it('flags examples/overfit-open: every open instance, no closed one', async () => {
    const report = await scanContamination({ files: [path.join(PROJECT_ROOT, 'examples/overfit-open/data/open-suite.txt')], suites });
    for (const s of report.suites) {
      if (s.suiteKind === 'open') expect(s.rate).toBe(1);
      else expect(s.rate).toBe(0);
    }
    expect(report.totalContaminated).toBe(suites[0]!.scenarios.reduce((sum, s) => sum + s.instances.length, 0));
    const text = renderContaminationReport(report);
    expect(text).toContain('opposites');
    expect(text).toMatch(/60 evaluation instances share text/);
  });

  it('good-cooccurrence: no 13-gram overlap, yet its corpus states the answer of every toy instance, closed ones included', async () => {
    // The scan sees no shared 13-gram because every toy question is shorter than 13 tokens ...
    const corpusFile = path.join(PROJECT_ROOT, 'examples/good-cooccurrence/data/corpus.txt');
    const report = await scanContamination({ files: [corpusFile], suites });
    expect(report.totalContaminated).toBe(0);
    expect(Math.max(...suites.flatMap((suite) => suite.scenarios.flatMap((scenario) => scenario.instances.map((i) => tokenize(instanceText(i)!.text).length))))).toBeLessThan(13);
    // ... but the corpus is written from the facts.json both toy suites are generated from: for every
    // instance, one corpus line names the question's subject and the gold answer. Its closed tasks are not
    // held out, so its closed score says nothing about generalization (the README says so).
    const lines = readFileSync(corpusFile, 'utf8').toLowerCase().split('\n');
    const generic = new Set('what is the of does a an make sound color colour capital opposite'.split(' '));
    for (const suite of suites) {
      for (const scenario of suite.scenarios) {
        for (const instance of scenario.instances as { id: string; question: string; choices: string[]; answer: number }[]) {
          const subject = tokenize(instance.question.toLowerCase()).filter((w) => /^[a-z]/.test(w) && !generic.has(w));
          const gold = instance.choices[instance.answer]!.toLowerCase();
          const stated = lines.some((line) => line.includes(gold) && subject.every((w) => line.includes(w)));
          if (!stated) throw new Error(`${suite.kind}/${scenario.name}/${instance.id}: no corpus line states "${instance.question}" → ${gold}`);
        }
      }
    }
  });
});

describe('the real LLM sample against the real suites', () => {
  const real = ['open', 'closed', 'open-small', 'closed-small'].map((name) => loadSuite(path.join(PROJECT_ROOT, 'suites/neurips2023', `${name}.json`)));

  it('examples/llm-finetune: its training text shares no 13-gram with any instance of the real suites', async () => {
    const report = await scanContamination({ files: [path.join(PROJECT_ROOT, 'examples/llm-finetune/data/train.jsonl')], suites: real });
    expect(report.trainingFiles[0]!.tokens).toBeGreaterThan(50_000);
    expect(report.suites.reduce((n, s) => n + s.instances, 0)).toBeGreaterThan(3000);
    expect(report.totalContaminated).toBe(0);
    expect(renderContaminationReport(report)).toContain('No evaluation instance shares a 13-gram');
  });

  it('the scan would see a real instance planted in that text', async () => {
    const mmlu = real[0]!.scenarios.find((s) => s.name.startsWith('mmlu-'))!;
    const planted = instanceText(mmlu.instances[0]!)!.text;
    const file = trainingFile(`${readFileSync(path.join(PROJECT_ROOT, 'examples/llm-finetune/data/train.jsonl'), 'utf8')}${JSON.stringify({ text: planted })}\n`);
    const report = await scanContamination({ files: [file], suites: [real[0]!] });
    expect(report.totalContaminated).toBeGreaterThanOrEqual(1);
  });
});

describe('streaming', () => {
  const SIZE_MB = Number(process.env.CONTAMINATION_TEST_MB ?? 200);
  const file = path.join(tmp, 'big-training.txt');
  afterAll(() => rmSync(file, { force: true }));

  it(
    `scans a ${SIZE_MB} MB training file with a bounded heap`,
    async () => {
      const vocabulary = 'the of and a to in is was for on that with as by at from it an be this which or are were model data train token language learning'.split(' ');
      const imul = Math.imul; // global lookups are slow inside jest's vm context
      const floor = Math.floor;
      let seed = 7;
      const random = () => {
        seed = (imul(seed, 1103515245) + 12345) & 0x7fffffff;
        return seed / 0x7fffffff;
      };
      const target = SIZE_MB * 1024 * 1024;
      const writeStarted = Date.now();
      let written = 0;
      let planted = 0;
      await new Promise<void>((resolve, reject) => {
        const out = createWriteStream(file);
        out.on('error', reject);
        const write = (): void => {
          let ok = true;
          while (written < target && ok) {
            const lines: string[] = [];
            for (let l = 0; l < 200; l++) {
              const k = 5 + floor(random() * 20);
              const words: string[] = [];
              for (let i = 0; i < k; i++) words.push(vocabulary[floor(random() * vocabulary.length)]!);
              lines.push(words.join(' '));
            }
            // plant the long question half-way through the file, split over two lines
            if (!planted && written >= target / 2) planted = lines.push(LONG_Q.split(' ').slice(0, 5).join(' '), LONG_Q.split(' ').slice(5).join(' '));
            const chunk = `${lines.join('.\n')}.\n`;
            written += Buffer.byteLength(chunk);
            ok = out.write(chunk);
          }
          if (written >= target) out.end(() => resolve());
          else out.once('drain', write);
        };
        write();
      });

      const baseline = process.memoryUsage().heapUsed;
      let peak = baseline;
      const started = Date.now();
      console.log(`contamination test: wrote ${(written / 1024 / 1024).toFixed(0)} MiB in ${((started - writeStarted) / 1000).toFixed(1)} s`);
      const report = await scanContamination({
        files: [file],
        suites: [openSuite],
        onProgress: () => {
          peak = Math.max(peak, process.memoryUsage().heapUsed);
        },
      });
      const seconds = (Date.now() - started) / 1000;
      const deltaMb = (peak - baseline) / 1024 / 1024;
      const mbPerSecond = written / 1024 / 1024 / seconds;
      console.log(`contamination scan: ${(written / 1024 / 1024).toFixed(0)} MiB in ${seconds.toFixed(1)} s = ${mbPerSecond.toFixed(1)} MiB/s, peak heap delta ${deltaMb.toFixed(1)} MiB`);
      expect(report.trainingFiles[0]!.bytes).toBe(written);
      expect(byScenario(report, 'science').contaminated.map((c) => c.instanceId)).toEqual(['q-long']);
      expect(deltaMb).toBeLessThan(100);
    },
    180_000,
  );
});
