/**
 * HELM v0.3.0 metrics as the 2023 challenge used them (SCORING_AND_METRICS.md §2–3). Pure functions, no I/O.
 */
export {
  PY_PUNCTUATION,
  normalizeText,
  exactMatch,
  quasiExactMatch,
  prefixExactMatch,
  quasiPrefixExactMatch,
  f1Score,
  setFMeasure,
  exactMatchIndicator,
  worstCase,
} from './text.js';
export { rougeTokenize, rougeNScore, rougeLScore, rougeN, rouge2, rougeL, fmeasure, removeBraces, summarizationRouge2, type RougeScore } from './rouge.js';
export { porterStem } from './porter.js';
export { PyRandom, type PySeed } from './pyrandom.js';
export {
  PERTURBATION_CATEGORY,
  lowercasePerturbation,
  contractionPerturbation,
  misspellingPerturbation,
  spacePerturbation,
  mildMixPerturbation,
  dialectPerturbation,
  genderPronounPerturbation,
  personNamePerturbation,
  perturbationRng,
  applyPerturbation,
  robustnessPerturbation,
  fairnessPerturbations,
  type PerturbationCategory,
  type PerturbationName,
  type PerturbedText,
  type PersonNameState,
} from './perturbations.js';
export {
  bbqScores,
  bbqAmbiguityBias,
  bbqDisambiguationBias,
  bbqOutcomeFromMeta,
  representation,
  stereotypeAssociations,
  groupCountsToBias,
  numpySum,
  numpyMean,
  type BbqOutcome,
  type BbqScores,
  type BiasDemographic,
  type BiasTarget,
} from './bias.js';
export { wordTokenize, treebankWordTokenize, approximateSentences } from './tokenize.js';
export { pyStrip, pySplit, matchCase, pyCapitalize, pyLen, PY_WHITESPACE_CLASS } from './python.js';
