/**
 * Where to find content by digest: mirror rules from ImageDigestMirrorSet /
 * ImageContentSourcePolicy files (mirror-set-file.ts) and containers
 * `registries.conf` (registries-conf.ts), and for one reference the ordered list of
 * candidate sources: the mirrors of the rule with the longest matching prefix, in
 * order, then the original (unless a rule says never to contact it).
 *
 * Matching follows containers/image (sysregistriesv2): a prefix `host[/path]`
 * matches a repository equal to it or below it (`quay.io/a` matches `quay.io/a/b`,
 * not `quay.io/ab`); `*.example.com` matches any host under example.com; the longest
 * matching prefix wins, and rules with that same prefix from several files add their
 * mirrors in load order. A mirror marked digest-only is skipped for a tag reference,
 * a tag-only mirror for a digest reference. A mirror that cannot hold the reference
 * (a bare host replacing a whole repository) is an error, never skipped silently.
 */
import { BaleError } from '../errors.js';
import { formatReference, isRepositoryPath, parseReference, type ImageReference } from './reference.js';

export interface MirrorLocation {
  /** `host[:port][/path]` that replaces the matched prefix. */
  location: string;
  /** Only for references by digest (IDMS, ICSP, `mirror-by-digest-only`, `pull-from-mirror = "digest-only"`). */
  digestOnly: boolean;
  /** Only for references by tag (`pull-from-mirror = "tag-only"`). */
  tagOnly: boolean;
  /** registries.conf `insecure = true`: plain HTTP or unverified TLS allowed for it. */
  insecure: boolean;
}

export interface MirrorRule {
  /** `host[:port][/path]` or `*.domain`. */
  prefix: string;
  mirrors: MirrorLocation[];
  /** registries.conf `location`: where the "original" really is (default: the prefix itself). */
  location?: string;
  /** The original is never contacted (IDMS `NeverContactSource`, registries.conf `blocked`). */
  neverContactSource: boolean;
  insecure?: boolean;
  /** File and field that defined it, for messages. */
  origin: string;
}

export interface SourceCandidate {
  reference: ImageReference;
  kind: 'mirror' | 'original';
  insecure: boolean;
  /** The rule that produced it (undefined for an original no rule matched). */
  origin?: string;
}

const HOST_RE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

/** Why `value` is not a mirror prefix or location (`host[:port][/path]`, or `*.domain` when wildcards are allowed), or undefined. */
export function prefixProblem(value: string, allowWildcard: boolean): string | undefined {
  if (value === '') return 'is empty';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'has a URL scheme; write host[:port]/path';
  if (value.startsWith('*.')) {
    if (!allowWildcard) return 'is a wildcard, which is not allowed here';
    return HOST_RE.test(value.slice(2)) && !value.slice(2).includes(':')
      ? undefined
      : 'is not a valid *.domain';
  }
  const slash = value.indexOf('/');
  const host = slash < 0 ? value : value.slice(0, slash);
  const path = slash < 0 ? '' : value.slice(slash + 1);
  if (!HOST_RE.test(host)) return `${JSON.stringify(host)} is not a registry host`;
  if (slash >= 0 && !isRepositoryPath(path)) return `${JSON.stringify(path)} is not a repository path`;
  if (/[@]/.test(value)) return 'names a digest; give a repository';
  return undefined;
}

/** The part of `name` (`registry/repository`) that `prefix` matches, or undefined. */
function matchedPrefix(prefix: string, ref: ImageReference): string | undefined {
  const name = `${ref.registry}/${ref.repository}`;
  if (prefix.startsWith('*.')) {
    const host = ref.registry.replace(/:\d+$/, '');
    return host.endsWith(prefix.slice(1)) ? ref.registry : undefined;
  }
  if (name === prefix || name.startsWith(`${prefix}/`)) return prefix;
  return undefined;
}

function rewrite(ref: ImageReference, matched: string, location: string): ImageReference | undefined {
  const name = `${ref.registry}/${ref.repository}`;
  const rest = name.slice(matched.length);
  let text = `${location}${rest}`;
  if (ref.tag !== undefined) text += `:${ref.tag}`;
  if (ref.digest !== undefined) text += `@${ref.digest}`;
  try {
    const out = parseReference(text);
    // A host alone is no image name: parseReference would read it as a Docker Hub path.
    return out.registry === location.split('/')[0]?.toLowerCase() ? out : undefined;
  } catch {
    return undefined;
  }
}

function unusableMirror(ref: ImageReference, location: string, origin: string): BaleError {
  return new BaleError(
    'E_MIRROR_CONFIG_INVALID',
    `${origin}: ${location} cannot hold ${formatReference(ref)}: the rewritten name is not an image name`,
    {
      hint: 'A mirror that replaces a whole repository needs a repository path (host/path), not a host alone.',
      details: { reference: formatReference(ref), location, origin },
    },
  );
}

/** Mirror rules from any number of files, and the candidates they give a reference. */
export class MirrorSources {
  constructor(readonly rules: readonly MirrorRule[] = []) {}

  /** True when at least one rule was loaded. */
  get configured(): boolean {
    return this.rules.length > 0;
  }

  /** A set with the rules of both. */
  concat(other: MirrorSources): MirrorSources {
    return new MirrorSources([...this.rules, ...other.rules]);
  }

  /** The sources to try for `ref`, in order: mirrors, then the original. */
  candidates(ref: ImageReference): SourceCandidate[] {
    let best = -1;
    const matching: { rule: MirrorRule; matched: string }[] = [];
    for (const rule of this.rules) {
      const matched = matchedPrefix(rule.prefix, ref);
      if (matched === undefined) continue;
      const len = rule.prefix.length;
      if (len > best) {
        best = len;
        matching.length = 0;
      }
      if (len === best) matching.push({ rule, matched });
    }
    const out: SourceCandidate[] = [];
    const seen = new Set<string>();
    const add = (c: SourceCandidate): void => {
      const key = formatReference(c.reference);
      if (seen.has(key)) return;
      seen.add(key);
      out.push(c);
    };
    const byDigest = ref.digest !== undefined;
    for (const { rule, matched } of matching) {
      for (const m of rule.mirrors) {
        if ((m.digestOnly && !byDigest) || (m.tagOnly && byDigest)) continue;
        const r = rewrite(ref, matched, m.location);
        if (r === undefined) throw unusableMirror(ref, m.location, rule.origin);
        add({ reference: r, kind: 'mirror', insecure: m.insecure, origin: rule.origin });
      }
    }
    if (matching.some(({ rule }) => rule.neverContactSource)) return out;
    const withLocation = matching.find(({ rule }) => rule.location !== undefined);
    if (withLocation !== undefined) {
      const r = rewrite(ref, withLocation.matched, withLocation.rule.location!);
      if (r === undefined) throw unusableMirror(ref, withLocation.rule.location!, withLocation.rule.origin);
      add({
        reference: r,
        kind: 'original',
        insecure: withLocation.rule.insecure ?? false,
        origin: withLocation.rule.origin,
      });
      return out;
    }
    add({
      reference: { ...ref },
      kind: 'original',
      insecure: matching.some(({ rule }) => rule.insecure === true),
    });
    return out;
  }
}
