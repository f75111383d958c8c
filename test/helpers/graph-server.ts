/** The loopback update service lives in fixtures/ (the demo serves it too); tests import it from here. */
export * from '../../fixtures/graph-server.js';
