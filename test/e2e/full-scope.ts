// Per-file test scope for the full-feature backend: everything started in a test is stopped after it.
import { afterEach, expect } from 'vitest';
import { startFullBackend, type FullBackend, type FullBackendOptions } from '../fixtures/full-backend.js';
import { INITIALIZE, startRawRelay, startSdkRelay, type RawRelay, type SdkRelay } from './relay-process.js';

export function fullScope(): {
  backend: (opts: FullBackendOptions) => Promise<FullBackend>;
  sdkRelay: (file: string) => Promise<SdkRelay>;
  /** a raw peer, already initialized */
  rawRelay: (file: string) => Promise<RawRelay>;
} {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  return {
    backend: async (opts) => {
      const started = await startFullBackend(opts);
      cleanups.push(() => started.close());
      return started;
    },
    sdkRelay: async (file) => {
      const relay = await startSdkRelay(file);
      cleanups.push(() => relay.close());
      return relay;
    },
    rawRelay: async (file) => {
      const relay = startRawRelay(['--config', file]);
      cleanups.push(() => relay.stop());
      expect((await relay.request('init', 'initialize', INITIALIZE))['result']).toBeDefined();
      relay.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      return relay;
    },
  };
}
