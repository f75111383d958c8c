/**
 * The `UpdateService` resource (`updateservice.operator.openshift.io/v1`) that makes the
 * OpenShift Update Service operator run Cincinnati inside the gap from the mirrored
 * graph-data image. Fields, from the operator's CRD
 * (openshift/cincinnati-operator, config/crd/bases/updateservice.operator.openshift.io_updateservices.yaml):
 *
 * - `spec.releases` (required): the repository in which release images are tagged,
 *   e.g. `mirror.example.com:5000/ocp4/openshift/release` — a repository, no tag or digest;
 * - `spec.graphDataImage` (required): the container image with the graph data; bale
 *   always names it by digest so the service runs exactly what was carried;
 * - `spec.replicas` (required, int32, minimum 1): 2 or more adds a PodDisruptionBudget.
 *
 * It is namespaced; the operator's suggested namespace is `openshift-update-service`.
 * The operator derives Deployment, Service and Route names from `metadata.name`, so the
 * name must be a DNS-1123 label (at most 63 characters), not just a subdomain.
 */
import { BaleError } from '../errors.js';
import { formatReference, parseReference } from '../registry/reference.js';
import { isDns1123Label, validateNamespace } from './names.js';

export const UPDATE_SERVICE_API_VERSION = 'updateservice.operator.openshift.io/v1';
export const DEFAULT_UPDATE_SERVICE_NAME = 'bale-update-service';
export const DEFAULT_UPDATE_SERVICE_NAMESPACE = 'openshift-update-service';
export const DEFAULT_UPDATE_SERVICE_REPLICAS = 2;
const MAX_INT32 = 2 ** 31 - 1;

export interface UpdateService {
  apiVersion: typeof UPDATE_SERVICE_API_VERSION;
  kind: 'UpdateService';
  metadata: { name: string; namespace: string };
  spec: { graphDataImage: string; releases: string; replicas: number };
}

function refError(what: string, value: string, why: string, hint: string): BaleError {
  return new BaleError('E_REFERENCE', `invalid ${what} "${value}" for the UpdateService: ${why}`, {
    hint,
    details: { [what === 'release repository' ? 'releases' : 'graphDataImage']: value },
  });
}

/** A repository with its registry host, no tag, no digest, written canonically. */
function checkReleases(value: string): string {
  const hint =
    'Give the mirrored release repository, e.g. mirror.example.com:5000/ocp4/openshift/release (no tag, no digest).';
  const ref = parseReference(value);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw refError('release repository', value, 'it names a tag or digest', hint);
  }
  if (formatReference(ref) !== value) {
    throw refError('release repository', value, `write it in full as ${formatReference(ref)}`, hint);
  }
  return value;
}

/** `host/repo@sha256:<hex>`, canonical, without a tag. */
function checkGraphDataImage(value: string): string {
  const hint =
    'Give the mirrored graph-data image by digest, e.g. mirror.example.com:5000/ocp4/openshift/graph-data@sha256:<64 hex>.';
  const ref = parseReference(value);
  if (ref.digest === undefined) throw refError('graph-data image', value, 'it is not pinned by digest', hint);
  if (ref.tag !== undefined)
    throw refError('graph-data image', value, 'it names a tag as well as a digest', hint);
  if (formatReference(ref) !== value) {
    throw refError('graph-data image', value, `write it in full as ${formatReference(ref)}`, hint);
  }
  return value;
}

export function updateService(opts: {
  releases: string;
  graphDataImage: string;
  replicas?: number;
  name?: string;
  namespace?: string;
}): UpdateService {
  const name = opts.name ?? DEFAULT_UPDATE_SERVICE_NAME;
  if (!isDns1123Label(name)) {
    throw new BaleError('E_USAGE', `invalid UpdateService name "${name}"`, {
      hint: 'Use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit: the operator names its Deployment, Service and Route after it.',
      details: { name },
    });
  }
  const namespace = validateNamespace(opts.namespace ?? DEFAULT_UPDATE_SERVICE_NAMESPACE);
  const replicas = opts.replicas ?? DEFAULT_UPDATE_SERVICE_REPLICAS;
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > MAX_INT32) {
    throw new BaleError('E_USAGE', `invalid UpdateService replicas ${String(replicas)}`, {
      hint: 'Give a whole number of at least 1 (2 or more keeps the service up during node drains).',
      details: { replicas },
    });
  }
  return {
    apiVersion: UPDATE_SERVICE_API_VERSION,
    kind: 'UpdateService',
    metadata: { name, namespace },
    spec: {
      graphDataImage: checkGraphDataImage(opts.graphDataImage),
      releases: checkReleases(opts.releases),
      replicas,
    },
  };
}
