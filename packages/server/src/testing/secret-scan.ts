const CAIRN_TOKEN = /^cairn_[0-9a-f]{16}_([A-Za-z0-9_-]{43})$/;
/** Characters of token texts, base64url secrets and hex salts and hashes. */
const WORD = /[A-Za-z0-9_-]+/g;

/**
 * The secrets (token texts, the secret part of Cairn tokens, salts, hashes)
 * that occur anywhere in `text`. Every secret is made of word characters
 * (letters, digits, `_`, `-`), so only windows of a needle's length inside a
 * run of those characters can match: a scan of set lookups rather than one
 * `includes` per secret over megabytes of answers.
 */
export function secretsIn(text: string, secrets: readonly string[]): string[] {
  const needles = new Set<string>();
  for (const secret of secrets) {
    needles.add(secret);
    const part = CAIRN_TOKEN.exec(secret)?.[1];
    if (part !== undefined) needles.add(part);
  }
  const lengths = [...new Set([...needles].map((n) => n.length))];
  const shortest = Math.min(...lengths);
  const found = new Set<string>();
  for (const [word] of text.matchAll(WORD)) {
    if (word.length < shortest) continue;
    for (const length of lengths) {
      for (let at = 0; at + length <= word.length; at++) {
        const window = word.slice(at, at + length);
        if (needles.has(window)) found.add(window);
      }
    }
  }
  return [...found];
}
