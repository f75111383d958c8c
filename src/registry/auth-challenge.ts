/**
 * WWW-Authenticate parsing (RFC 7235): one header may hold several challenges, each a
 * scheme followed by comma-separated `name=value` parameters whose values may be
 * quoted strings containing commas, `=` and backslash escapes.
 */

export interface AuthChallenge {
  /** Lowercased: `bearer`, `basic`, ... */
  scheme: string;
  /** Parameter names lowercased; values as given (unquoted). */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

export function parseWwwAuthenticate(header: string | string[] | undefined): AuthChallenge[] {
  if (header === undefined) return [];
  if (Array.isArray(header)) return header.flatMap((h) => parseWwwAuthenticate(h));

  const s = header;
  let i = 0;
  const out: AuthChallenge[] = [];
  let current: AuthChallenge | undefined;

  const skipSpace = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < s.length && TOKEN_CHAR.test(s[i] ?? '')) i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    // s[i] === '"'
    i++;
    let v = '';
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      v += s[i];
      i++;
    }
    i++; // closing quote (or end of input)
    return v;
  };

  while (i < s.length) {
    skipSpace();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const token = readToken();
    if (token.length === 0) {
      i++; // junk: skip a character
      continue;
    }
    skipSpace();
    if (s[i] === '=' && current !== undefined) {
      // name=value parameter of the current challenge (token68 values are rare here)
      i++;
      skipSpace();
      let value: string;
      if (s[i] === '"') value = readQuoted();
      else {
        const vs = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
        value = s.slice(vs, i);
      }
      current.params[token.toLowerCase()] = value;
      continue;
    }
    if (s[i] === '=' && current === undefined) {
      // a parameter before any scheme: malformed, skip it
      i = start + token.length + 1;
      continue;
    }
    // a new challenge: `Scheme` possibly followed by parameters
    current = { scheme: token.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}

/** The challenge to answer: Bearer preferred over Basic; others are ignored. */
export function pickChallenge(challenges: AuthChallenge[]): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

/** The scopes named in a challenge's `scope` parameter (space-separated; never split on ':'). */
export function challengeScopes(challenge: AuthChallenge): string[] {
  const scope = challenge.params.scope;
  return scope === undefined ? [] : scope.split(' ').filter((s) => s.length > 0);
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}
