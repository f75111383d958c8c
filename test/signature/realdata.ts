/** Paths and facts about the genuine release signatures in fixtures/data (see its README). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REALDATA_DIR } from '../helpers/fixture-data.js';

export const REALDATA = `${REALDATA_DIR}/release-signatures`;
export const STORE = join(REALDATA, 'store');
export const REDHAT_KEYRING = join(REALDATA, 'redhat.txt');
export const CI_KEYRING = join(REALDATA, 'simple.txt');
export const COMBINED_KEYRING = join(REALDATA, 'combined.txt');

export const REDHAT = {
  digest: 'sha256:e3f12513a4b22a2d7c0e7c9207f52128113758d9d68c7d06b11a0ac7672966f7',
  keyId: '199E2F91FD431D51',
  userId: 'Red Hat, Inc. (release key 2) <security@redhat.com>',
  identity: 'registry.access.redhat.com/rhel7:7.6',
};
export const CI = {
  digest: 'sha256:edd9824f0404f1a139688017e7001370e2f3fbc088b94da84506653b473fe140',
  keyId: '28B76E05B923888E',
  userId: 'openshift-ci',
  identity: 'registry.svc.ci.openshift.org/ocp/release:4.0.0-0.ci-2019-04-19-181452',
};

export function signaturePath(digest: string, index = 1): string {
  return join(STORE, `sha256=${digest.slice('sha256:'.length)}`, `signature-${index}`);
}

export function readSignature(digest: string): Buffer {
  return readFileSync(signaturePath(digest));
}
