/** The registry client's public API. */
export {
  DOCKER_HUB,
  formatReference,
  isLoopbackRegistry,
  isRepositoryPath,
  isTag,
  parseReference,
  referenceTarget,
  registryEndpoint,
  type ImageReference,
} from './reference.js';
export {
  loadCredentials,
  normalizeAuthKey,
  staticCredentials,
  type CredentialSource,
  type Credentials,
  type LoadCredentialsOptions,
} from './credentials.js';
export {
  ACCEPT_MANIFESTS,
  MANIFEST_MEDIA_TYPES,
  MEDIA_TYPES,
  isIndexMediaType,
  isManifestMediaType,
  parseImageConfig,
  parseManifest,
  type Descriptor,
  type ImageConfig,
  type ParsedManifest,
  type Platform,
} from './manifest.js';
export { RegistryClient, type RegistryClientOptions, type Repo } from './client.js';
export type { RegistryStats } from './registry-http.js';
export { parseWwwAuthenticate, type AuthChallenge } from './auth-challenge.js';
