// Every workflow the orchestrator worker registers (the bundle's entry point).
export { submissionPipeline } from './submission-pipeline.js';
export { batchEvaluation, reevaluateSubmission } from './batch-evaluation.js';
export { trackPlacement } from './placement.js';
export { competitionClock } from './competition-clock.js';
