/**
 * HELM's list of common misspellings (correct word → misspellings) for the robustness (MildMix) perturbation:
 * `correct_to_misspelling.json`, copied byte for byte from the crfm-helm 0.2.4 wheel
 * (helm/benchmark/augmentations/; the same file in 0.5.16), 6,523 words in HELM's order (the order of its regex
 * alternation, which decides between overlapping keys such as "about" and "about a"). crfm-helm is Apache-2.0
 * (./LICENSE-crfm-helm); HELM took the words from Wikipedia's "Lists of common misspellings" (CC BY-SA).
 * test/integration/helm-reference.test.ts checks the file against the pinned wheel.
 */
import helmList from './correct_to_misspelling.json' with { type: 'json' };

export const CORRECT_TO_MISSPELLING: Readonly<Record<string, readonly string[]>> = helmList;
