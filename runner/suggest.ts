// "Did you mean ...?": the nearest known name, only when it is near enough to be a likely typo
// (`comand` → `command`, `cpoy` → `copy`), never a short unrelated word (`apt` is not `set`).

/**
 * The edit distance of Damerau (optimal string alignment): insertions, deletions, substitutions
 * and swaps of two neighbouring letters each count 1, so a swapped pair is one typo, not two.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** How many typos a word of this length may hold and still be recognised: 1 up to 4 letters, 2 up to 8, then 3. */
export function typoBudget(word: string): number {
  return word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
}

/** The candidate nearest to `word`, or undefined when none is within a typo's distance (case ignored). */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= typoBudget(word) && bestDistance < word.length ? best : undefined;
}

/** A hint sentence naming the nearest candidate, or `otherwise` when there is none. */
export function didYouMean(word: string, candidates: readonly string[], otherwise = ''): string {
  const n = nearest(word, candidates);
  return n ? `did you mean '${n}'?` : otherwise;
}
