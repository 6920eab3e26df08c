// What a 2026-07-28 request costs against a 2025 one (issue 13's benchmark): the same relay, the same backend, the
// same stdio connection (one that initialized, which may send both), tools/call with and without the _meta envelope.
// p50 of sequential calls and calls/s at 64 in flight, interleaved in slices. Target: modern ≤ 1.1× legacy.
import { RelayClient, type BenchClient, type Json } from './clients.js';
import { saturate, sequential } from './load.js';
import { startPool } from './pool-process.js';
import { median, percentile } from './stats.js';

export interface ErasRow {
  legacy: { p50: number; rate: number };
  modern: { p50: number; rate: number };
  /** modern p50 / legacy p50 */
  p50Ratio: number;
  /** legacy calls/s / modern calls/s: the cost of a modern call, as the p50 ratio is */
  rateCost: number;
}

const ENVELOPE = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' } };

/** the same connection, each tools/call with the envelope added to its params */
class ModernCalls implements BenchClient {
  constructor(private readonly relay: RelayClient) {}

  call(method: string, params: Json): Promise<Json> {
    return this.relay.call(method, { ...params, _meta: ENVELOPE });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export async function eras(options: { configFile: (urls: string[]) => string; rounds: number; calls: number; throughputMs: number }): Promise<ErasRow> {
  const pool = await startPool('sdk', 1, 2);
  const relay = new RelayClient(options.configFile(pool.urls));
  try {
    await relay.start();
    await relay.call('tools/list', {});
    const clients = { legacy: relay as BenchClient, modern: new ModernCalls(relay) as BenchClient };
    const first = await clients.modern.call('tools/call', { name: 't0_echo', arguments: {} });
    if ((first['result'] as Json | undefined)?.['resultType'] !== 'complete') throw new Error(`the modern call was not answered as one: ${JSON.stringify(first).slice(0, 300)}`);
    const samples = { legacy: { p50: [] as number[], rate: [] as number[] }, modern: { p50: [] as number[], rate: [] as number[] } };
    for (const era of ['legacy', 'modern'] as const) {
      await sequential(clients[era], 't0_echo', 300);
      await saturate(clients[era], 64, 300);
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? (['legacy', 'modern'] as const) : (['modern', 'legacy'] as const);
      for (const era of order) samples[era].p50.push(percentile((await sequential(clients[era], 't0_echo', options.calls)).sort((a, b) => a - b), 50));
      for (const era of order) samples[era].rate.push(await saturate(clients[era], 64, options.throughputMs));
    }
    const legacy = { p50: median(samples.legacy.p50), rate: median(samples.legacy.rate) };
    const modern = { p50: median(samples.modern.p50), rate: median(samples.modern.rate) };
    return { legacy, modern, p50Ratio: modern.p50 / legacy.p50, rateCost: legacy.rate / modern.rate };
  } finally {
    await relay.close();
    await pool.stop();
  }
}
