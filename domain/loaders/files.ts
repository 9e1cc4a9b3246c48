/** Thin file readers around the pure loaders: read UTF-8 text, name the file in every error. */
import { readFileSync } from 'node:fs';
import type { GenerationScenario, MultipleChoiceScenario } from '../harness/suite.js';
import { DatasetError, type LoaderOptions } from './errors.js';
import { gsm8kScenario } from './gsm8k.js';
import { bbqScenario } from './bbq.js';
import { mmluScenario, type MmluOptions } from './mmlu.js';
import { truthfulqaScenario, type TruthfulqaOptions } from './truthfulqa.js';

export function readDatasetFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new DatasetError(file, null, null, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

export const loadGsm8kFile = (file: string, options: LoaderOptions = {}): GenerationScenario => gsm8kScenario(readDatasetFile(file), { file, ...options });

export const loadBbqFile = (file: string, options: LoaderOptions = {}): MultipleChoiceScenario => bbqScenario(readDatasetFile(file), { file, ...options });

/** Several BBQ category files as one scenario (ids carry the category, so they stay unique). */
export function loadBbqFiles(files: readonly string[], options: LoaderOptions = {}): MultipleChoiceScenario {
  if (files.length === 0) throw new Error('loadBbqFiles: no files given');
  const text = files.map((file) => readDatasetFile(file).replace(/\n?$/, '\n')).join('');
  return bbqScenario(text, { file: files.join(' + '), ...options });
}

export function loadMmluFile(file: string, subject: string, options: MmluOptions & { devPath?: string } = {}): MultipleChoiceScenario {
  const { devPath, ...rest } = options;
  return mmluScenario(readDatasetFile(file), subject, {
    file,
    ...rest,
    ...(devPath === undefined ? {} : { devCsvText: readDatasetFile(devPath), devFile: devPath }),
  });
}

export const loadTruthfulqaFile = (file: string, options: TruthfulqaOptions = {}): MultipleChoiceScenario => truthfulqaScenario(readDatasetFile(file), { file, ...options });
