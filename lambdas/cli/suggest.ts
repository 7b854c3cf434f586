/**
 * The Damerau-Levenshtein distance (optimal string alignment) of two strings: insertions,
 * deletions, substitutions and swaps of two neighbours count one each.
 *
 * @example editDistance('limt', 'limit') // 1
 */
export const editDistance = (a: string, b: string): number => {
  // Rows i-2, i-1 and i of the usual matrix; the words are a few characters long.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (before[j - 2] ?? 0) + 1);
      }
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
};

/**
 * The candidate closest to what was typed, if it is close enough to be a typo: at most 2 edits,
 * and fewer than a third of the candidate's length (so `rm` suggests nothing).
 *
 * @example closest('key list', ['keys list', 'keys create']) // 'keys list'
 */
export const closest = (typed: string, candidates: readonly string[]): string | undefined => {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(typed.toLowerCase(), candidate);
    if (distance > 2 || distance * 3 > candidate.length) continue;
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  return best?.candidate;
};
