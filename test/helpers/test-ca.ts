/**
 * Per-run X.509 material made with openssl: a CA and a server certificate for
 * 127.0.0.1/localhost (TLS registry variant), and self-signed signing certificates
 * (token issuer). EC P-256 keys: fast to generate.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './run.js';

export interface TestCa {
  /** CA certificate, PEM. */
  caFile: string;
  caKeyFile: string;
  /** Server certificate (SAN IP:127.0.0.1, DNS:localhost), PEM, signed by the CA. */
  certFile: string;
  keyFile: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Writes ca.crt/ca.key/server.crt/server.key into dir. */
export async function makeTestCa(dir: string, commonName = 'bale-test-ca'): Promise<TestCa> {
  const caFile = join(dir, 'ca.crt');
  const caKeyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  const csrFile = join(dir, 'server.csr');
  const extFile = join(dir, 'server.ext');
  await runOk('openssl', [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    caKeyFile,
    '-out',
    caFile,
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await runOk('openssl', ['req', ...EC, '-keyout', keyFile, '-out', csrFile, '-subj', '/CN=127.0.0.1']);
  await writeFile(
    extFile,
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  await runOk('openssl', [
    'x509',
    '-req',
    '-in',
    csrFile,
    '-CA',
    caFile,
    '-CAkey',
    caKeyFile,
    '-CAcreateserial',
    '-out',
    certFile,
    '-days',
    '2',
    '-extfile',
    extFile,
  ]);
  return { caFile, caKeyFile, certFile, keyFile };
}

/** A self-signed EC P-256 certificate and its PKCS#8 key: `<name>.crt`, `<name>.key` in dir. */
export async function makeSelfSignedCert(
  dir: string,
  name: string,
): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await runOk('openssl', [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
  return { certFile, keyFile };
}
