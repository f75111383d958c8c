/**
 * The shape of a Kubernetes object as bale handles it: any kind (ConfigMap, or a
 * custom resource such as ImageDigestMirrorSet), with the few metadata fields apply
 * looks at typed and everything else carried through untouched.
 */
export interface KubeMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [key: string]: unknown;
}

/** `ConfigMap ns/name` or `ImageDigestMirrorSet name`, for messages. */
export function describeObject(o: { kind: string; namespace?: string | undefined; name: string }): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}
