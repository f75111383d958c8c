/**
 * POSIX shell quoting for the commands bale prints for the operator to copy and run.
 * A word made only of characters no POSIX shell treats specially is left bare (so
 * `--keep-manifest-list=true` stays readable); anything else is wrapped in single quotes,
 * inside which nothing is special, with each `'` written as `'\''`. Glob characters
 * (`*`, `?`, `[`) are always quoted: `file://openshift/release:4.18.1*` must reach oc
 * unexpanded whatever files sit in the current directory.
 */

const SAFE_RE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(word: string): string {
  if (word.length > 0 && SAFE_RE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Quotes each word and joins them with single spaces. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
