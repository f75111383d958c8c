/**
 * The mirror-set YAML that `oc` takes for the same purpose (`--idms-file`,
 * `--icsp-file`), one or more `---`-separated documents, or a `kind: List`:
 *
 * - ImageDigestMirrorSet (`config.openshift.io/v1`): `spec.imageDigestMirrors[]`
 *   with `source`, `mirrors[]`, `mirrorSourcePolicy` (`AllowContactingSource`,
 *   `NeverContactSource`);
 * - ImageContentSourcePolicy (`operator.openshift.io/v1alpha1`):
 *   `spec.repositoryDigestMirrors[]` with `source`, `mirrors[]`.
 *
 * Both are digest-only, as on a cluster. Unknown fields in `spec` are errors;
 * `metadata` is not read.
 */
import { readFile } from 'node:fs/promises';
import { BaleError, messageOf } from '../errors.js';
import { YamlSource, type Field } from '../strict-yaml.js';
import { MirrorSources, prefixProblem, type MirrorRule } from './mirror-sources.js';

export type MirrorSetKind = 'ImageDigestMirrorSet' | 'ImageContentSourcePolicy';

const KINDS: Record<MirrorSetKind, { apiVersion: string; list: string; flag: string }> = {
  ImageDigestMirrorSet: {
    apiVersion: 'config.openshift.io/v1',
    list: 'imageDigestMirrors',
    flag: '--idms-file',
  },
  ImageContentSourcePolicy: {
    apiVersion: 'operator.openshift.io/v1alpha1',
    list: 'repositoryDigestMirrors',
    flag: '--icsp-file',
  },
};

const HINT =
  'Give the ImageDigestMirrorSet (--idms-file) or ImageContentSourcePolicy (--icsp-file) YAML as oc writes it.';
const MAX_BYTES = 4 * 1024 * 1024;

function prefix(f: Field, allowWildcard: boolean): string {
  const v = f.string();
  const why = prefixProblem(v, allowWildcard);
  if (why !== undefined) throw f.fail(`${JSON.stringify(v)} ${why}`);
  return v;
}

function readObject(obj: Field, expect: MirrorSetKind | undefined, rules: MirrorRule[]): void {
  const o = obj.mapping(['apiVersion', 'kind', 'metadata', 'spec', 'items']);
  const kind = obj.at('kind').string();
  if (kind === 'List') {
    for (const item of obj.at('items').list()) readObject(item, expect, rules);
    return;
  }
  if (o['items'] !== undefined) throw obj.at('items').fail('is only allowed in a kind: List');
  if (!(kind in KINDS)) {
    throw obj
      .at('kind')
      .fail(`is ${JSON.stringify(kind)}; bale reads ImageDigestMirrorSet and ImageContentSourcePolicy`);
  }
  const k = kind as MirrorSetKind;
  if (expect !== undefined && k !== expect) {
    throw obj
      .at('kind')
      .fail(`is ${k}, but this file was given as ${KINDS[expect].flag}`, `Give it with ${KINDS[k].flag}.`);
  }
  const apiVersion = obj.at('apiVersion').string();
  if (apiVersion !== KINDS[k].apiVersion) {
    throw obj.at('apiVersion').fail(`is ${JSON.stringify(apiVersion)}; a ${k} is ${KINDS[k].apiVersion}`);
  }
  const spec = obj.at('spec');
  spec.mapping([KINDS[k].list]);
  const idms = k === 'ImageDigestMirrorSet';
  for (const entry of spec.at(KINDS[k].list).list()) {
    entry.mapping(idms ? ['source', 'mirrors', 'mirrorSourcePolicy'] : ['source', 'mirrors']);
    const source = prefix(entry.at('source'), idms);
    const mirrors = entry
      .at('mirrors')
      .list()
      .map((m) => ({ location: prefix(m, false), digestOnly: true, tagOnly: false, insecure: false }));
    const policy = entry.at('mirrorSourcePolicy').optString();
    if (policy !== undefined && policy !== 'AllowContactingSource' && policy !== 'NeverContactSource') {
      throw entry.at('mirrorSourcePolicy').fail('must be AllowContactingSource or NeverContactSource');
    }
    if (mirrors.length === 0 && policy !== 'NeverContactSource') {
      throw entry.at('mirrors').fail('is empty: name at least one mirror');
    }
    rules.push({
      prefix: source,
      mirrors,
      neverContactSource: policy === 'NeverContactSource',
      origin: `${entry.src.file}${entry.src.documentLabel} (${entry.name})`,
    });
  }
}

/** Parses the text of a mirror-set file. `expect` refuses the other kind (the wrong flag). */
export function parseMirrorSetFile(text: string, file: string, expect?: MirrorSetKind): MirrorSources {
  const rules: MirrorRule[] = [];
  for (const doc of YamlSource.parseAll(text, file, { code: 'E_MIRROR_CONFIG_INVALID', hint: HINT })) {
    readObject(doc.top(), expect, rules);
  }
  return new MirrorSources(rules);
}

/** Reads a mirror-set file (`--idms-file`, `--icsp-file`). */
export async function loadMirrorSetFile(path: string, expect?: MirrorSetKind): Promise<MirrorSources> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new BaleError('E_IO', `cannot read mirror configuration ${path}: ${messageOf(err)}`, {
      hint: 'Check the path given to --idms-file or --icsp-file.',
      cause: err,
      details: { file: path },
    });
  }
  if (buf.length > MAX_BYTES) {
    throw new BaleError('E_MIRROR_CONFIG_INVALID', `${path}: larger than ${MAX_BYTES} bytes`, {
      hint: HINT,
      details: { file: path },
    });
  }
  return parseMirrorSetFile(buf.toString('utf8'), path, expect);
}
