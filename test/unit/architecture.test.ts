/**
 * The layer rules of .dependency-cruiser.cjs hold on the sources, and each rule fires on a tree made to break
 * it (a rule that cannot fail checks nothing). Also: no module in activities/ or domain/ is over 400 lines
 * unless its header says why ("Size:").
 */
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';

const CONFIG = path.join(PROJECT_ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'depcruise');
const LAYERS = ['activities', 'contract', 'domain', 'infra', 'workflows', 'workers', 'web', 'cli', 'operations', 'bench', 'scripts', 'temporal.config.ts'];

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

async function violations(cwd: string, targets: string[]): Promise<Violation[]> {
  const result = await execa(DEPCRUISE, ['--config', CONFIG, '--output-type', 'json', ...targets], { cwd, reject: false });
  const parsed = JSON.parse(result.stdout) as { summary: { violations: Violation[] } };
  return parsed.summary.violations;
}

describe('layers (dependency-cruiser)', () => {
  it('the sources break no layer rule and have no import cycle', async () => {
    const found = await violations(PROJECT_ROOT, [...LAYERS, 'test']);
    expect(found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  });

  it('every rule fires on a tree that breaks it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'layers-'));
    try {
      const files: Record<string, string> = {
        'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true } }),
        'package.json': JSON.stringify({ type: 'module' }),
        'cli/tool.ts': "export const tool = 1;\n",
        'web/page.ts': "import { tool } from '../cli/tool.js';\nexport const page = tool;\n",
        'workflows/flow.ts': "import { readFileSync } from 'node:fs';\nimport { db } from '../infra/db.js';\nexport const flow = [readFileSync, db];\n",
        'activities/act.ts': "import { flow } from '../workflows/flow.js';\nexport const act = flow;\n",
        'domain/pure.ts': "import { db } from '../infra/db.js';\nimport { proxyActivities } from '@temporalio/workflow';\nexport const pure = [db, proxyActivities];\n",
        'infra/db.ts': "import { act } from '../activities/act.js';\nexport const db = act;\n",
        'infra/artifact-store.ts': "import { FsStore } from './artifact-store-fs.js';\nexport const open = () => new FsStore();\n",
        'infra/artifact-store-fs.ts': "import { open } from './artifact-store.js';\nexport class FsStore { open = open; }\n",
        'operations/ops.ts': "import { tool } from '../cli/tool.js';\nexport const ops = tool;\n",
        'contract/names.ts': "import { readFileSync } from 'node:fs';\nimport { act } from '../activities/act.js';\nexport const names = [readFileSync, act];\n",
      };
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        writeFileSync(path.join(dir, name), text);
      }
      mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
      const names = new Set((await violations(dir, ['cli', 'web', 'workflows', 'activities', 'domain', 'infra', 'operations', 'contract'])).map((v) => v.rule.name));
      expect([...names].sort()).toEqual(
        [
          'activities-no-workflow-values',
          'contract-is-shared-ground',
          'contract-no-node-builtins',
          'domain-is-pure',
          'infra-below-activities',
          'no-circular',
          'nothing-imports-entry-points',
          'store-interface-not-implementations',
          'web-not-cli',
          'workflows-no-node-builtins',
          'workflows-only-orchestrate',
        ].sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shared names (contract/)', () => {
  const sources = (dir: string, out: string[] = []): string[] => {
    for (const entry of readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) sources(rel, out);
      else if (entry.name.endsWith('.ts')) out.push(rel);
    }
    return out;
  };

  it('every signal, query, update and search-attribute key is defined in contract/ and nowhere else', () => {
    const definer = /\bdefine(Signal|Query|Update|SearchAttributeKey)\s*[<(]/;
    const all = ['activities', 'workflows', 'operations', 'infra', 'cli', 'web', 'workers', 'bench', 'scripts', 'domain', 'contract'].flatMap((dir) => sources(dir));
    const outside = all.filter((file) => !file.startsWith('contract/') && definer.test(readFileSync(path.join(PROJECT_ROOT, file), 'utf8')));
    const inside = all.filter((file) => file.startsWith('contract/') && definer.test(readFileSync(path.join(PROJECT_ROOT, file), 'utf8')));
    expect(outside).toEqual([]);
    // The check can fail: the contract itself is found by the same pattern.
    expect(inside.sort()).toEqual(['contract/batch.ts', 'contract/competition.ts', 'contract/pipeline.ts', 'contract/placement.ts', 'contract/search-attributes.ts']);
  });

  it('the typed search-attribute keys are exactly the registered table', async () => {
    const { SA, SEARCH_ATTRIBUTES } = await import('../../contract/search-attributes.js');
    expect(Object.values(SA).map((key) => `${key.name}=${key.type}`).sort()).toEqual(Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => `${name}=${type.toUpperCase()}`).sort());
    expect(Object.keys(SA).every((name) => SA[name as keyof typeof SA].name === name)).toBe(true);
  });
});

describe('module size', () => {
  it('no module in activities/ or domain/ is over 400 lines without a reason in its header', () => {
    const over: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true })) {
        const rel = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(rel);
        else if (entry.name.endsWith('.ts')) {
          const text = readFileSync(path.join(PROJECT_ROOT, rel), 'utf8');
          const lines = text.split('\n').length;
          const header = text.slice(0, text.indexOf('*/') + 2);
          if (lines > 400 && !/\bSize:/.test(header)) over.push(`${rel} (${lines} lines)`);
        }
      }
    };
    walk('activities');
    walk('domain');
    expect(over).toEqual([]);
  });
});
