/** Dataset files → suite scenarios, as HELM v0.3.0 built them for the 2023 challenge. */
export { DatasetError, type LoaderOptions } from './errors.js';
export { parseCsv, type CsvRecord } from './csv.js';
export { parseJsonl, type JsonRecord } from './shared.js';
export { gsm8kScenario, gsm8kGold } from './gsm8k.js';
export { bbqScenario, bbqLetters } from './bbq.js';
export { mmluScenario, type MmluOptions } from './mmlu.js';
export { truthfulqaScenario, TRUTHFULQA_COLUMNS, type TruthfulqaOptions } from './truthfulqa.js';
export { readDatasetFile, loadGsm8kFile, loadBbqFile, loadBbqFiles, loadMmluFile, loadTruthfulqaFile } from './files.js';
export { corr2causeScenario, helmSampleExamples, CORR2CAUSE_CHOICES, CORR2CAUSE_INSTRUCTIONS, type Corr2causeOptions } from './corr2cause.js';
