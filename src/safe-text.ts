/**
 * Printing strings that come from the media. A bundle is hostile input: a version, tag,
 * path or message built from it may hold terminal escape sequences, carriage returns
 * or newlines that rewrite what the user sees. `safeText` shows each control character
 * as a visible `\xNN` escape; `shellQuote` makes an argument safe to paste into a shell.
 */

// C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and bidi overrides.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
// eslint-disable-next-line no-control-regex
const UNSAFE_OR_NEWLINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

function escape(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line of text with every control character (newlines too) made visible. */
export function safeText(s: string): string {
  return s.replace(UNSAFE_OR_NEWLINE, escape);
}

/** Multi-line text (tabs and newlines kept) with every other control character made visible. */
export function safeLines(s: string): string {
  return s.replace(UNSAFE, escape);
}

/** An argument quoted for a POSIX shell: unchanged when it is plainly safe, else in single quotes. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${safeText(arg).replace(/'/g, `'\\''`)}'`;
}

/** A command line from its words, each quoted as needed. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
