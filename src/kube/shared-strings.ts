/**
 * One copy of a string that many cached objects hold. JSON.parse (and node's X.509 parser) give
 * every object its own copy of every value; for values that thousands of cached objects repeat
 * (API versions, kinds, namespaces, condition reasons, issuer names) one shared copy is enough.
 * Bounded: a cluster has far fewer distinct common values; past the limit, strings stay as
 * they are.
 */
const sharedStrings = new Map<string, string>();
const sharedLimit = 10_000;

export function shared(s: string): string {
  const known = sharedStrings.get(s);
  if (known !== undefined) return known;
  if (sharedStrings.size < sharedLimit && s.length <= 128) sharedStrings.set(s, s);
  return s;
}

/** How many distinct strings are held (for tests and diagnostics). */
export function sharedCount(): number {
  return sharedStrings.size;
}
