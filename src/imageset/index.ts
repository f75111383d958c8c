export * from './image-set.js';
export {
  parseImageSetConfiguration,
  IMAGESET_API_VERSION,
  IMAGESET_KIND,
} from './image-set-configuration.js';
export { parsePromoterManifest, parseThinManifest, parseThinImages } from './promoter-manifest.js';
export { loadThinManifestDir } from './thin-manifests.js';
export { loadImageSetConfig, parseImageSetText } from './load.js';
