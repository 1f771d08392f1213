// "Did you mean ...?": the nearest known name, only when it is near enough to be a likely typo.
import { closest, distance } from 'fastest-levenshtein';

/** The candidate nearest to `word`, or undefined when none is within a typo's distance. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  if (!candidates.length) return undefined;
  const best = closest(word, [...candidates]);
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** A hint sentence naming the nearest candidate, or `otherwise` when there is none. */
export function didYouMean(word: string, candidates: readonly string[], otherwise = ''): string {
  const n = nearest(word, candidates);
  return n ? `did you mean '${n}'?` : otherwise;
}
