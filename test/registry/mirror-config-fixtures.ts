/** Mirror configuration texts shared by the mirror-sources, mirror-set-file and registries-conf tests. */
import { isBaleError } from '../../src/errors.js';

export const DIGEST = `sha256:${'c0'.repeat(32)}`;
export const ART = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@${DIGEST}`;

export const IDMS = `apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  name: release-0
spec:
  imageDigestMirrors:
  - mirrors:
    - mirror.example.com:5000/ocp/release
    - backup.example.com/ocp/release
    source: quay.io/openshift-release-dev/ocp-v4.0-art-dev
  - mirrors:
    - mirror.example.com:5000/ocp/release
    source: quay.io/openshift-release-dev/ocp-release
    mirrorSourcePolicy: NeverContactSource
`;

export const ICSP = `apiVersion: operator.openshift.io/v1alpha1
kind: ImageContentSourcePolicy
metadata:
  name: example
spec:
  repositoryDigestMirrors:
  - mirrors:
    - icsp-mirror.example.com/ocp
    source: quay.io/openshift-release-dev
`;

export const CONF = `unqualified-search-registries = ["registry.fedoraproject.org"]
short-name-mode = "enforcing"

[[registry]]
prefix = "quay.io/openshift-release-dev"
location = "quay.io/openshift-release-dev"

[[registry.mirror]]
location = "conf-mirror.example.com/ocp"

[[registry.mirror]]
location = "tags.example.com/ocp"
pull-from-mirror = "tag-only"

[[registry]]
location = "registry.example.com/team"
insecure = true
mirror-by-digest-only = true

[[registry.mirror]]
location = "digest-mirror.example.com/team"

[[registry]]
prefix = "*.internal.example"
blocked = true

[[registry.mirror]]
location = "wild-mirror.example.com"
`;

export function failure(f: () => unknown): { code: string; message: string; hint?: string } {
  try {
    f();
  } catch (err) {
    if (isBaleError(err)) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('expected a failure');
}
