export * from './update-graph.js';
export * from './fetch-graph.js';
export * from './resolve-channel.js';
