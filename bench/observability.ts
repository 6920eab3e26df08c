// What observability costs a call (issue 12's benchmark, first half): the same relay throughput at 64 in flight
// with the admin listener open and /metrics scraped every second, against a relay without it, interleaved in slices
// so the machine's drift hits both alike. Tracing is not built yet, so it has no row.
import { createServer } from 'node:net';
import { RELAY_MAIN, RelayClient } from './clients.js';
import { saturate } from './load.js';
import { startPool } from './pool-process.js';
import { median } from './stats.js';

export interface ObservabilityRow {
  inFlight: number;
  plain: number;
  metered: number;
  /** metered / plain calls/s */
  ratio: number;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const port = (probe.address() as { port: number }).port;
  await new Promise((done) => probe.close(done));
  return port;
}

export async function observability(options: { configFile: (urls: string[]) => string; rounds: number; slices: number; throughputMs: number }): Promise<ObservabilityRow> {
  const pool = await startPool('sdk', 1, 2);
  const file = options.configFile(pool.urls);
  const plain = new RelayClient(file);
  const port = await freePort();
  const metered = new RelayClient(file, {}, [RELAY_MAIN, '--config', file, '--admin', `127.0.0.1:${port}`]);
  await Promise.all([plain.start(), metered.start()]);
  await Promise.all([plain.call('tools/list', {}), metered.call('tools/list', {})]);
  // Prometheus's habit, sped up: a scrape a second
  const scraper = setInterval(() => void fetch(`http://127.0.0.1:${port}/metrics`).then((response) => response.text()).catch(() => ''), 1_000);
  const inFlight = 64;
  const rates = { plain: [] as number[], metered: [] as number[] };
  try {
    await saturate(plain, inFlight, 300);
    await saturate(metered, inFlight, 300);
    for (let round = 0; round < options.rounds; round++) {
      const done = { plain: 0, metered: 0 };
      for (let slice = 0; slice < options.slices; slice++) {
        const order = (round + slice) % 2 === 0 ? (['plain', 'metered'] as const) : (['metered', 'plain'] as const);
        for (const path of order) done[path] += (await saturate(path === 'plain' ? plain : metered, inFlight, options.throughputMs / options.slices)) / options.slices;
      }
      rates.plain.push(done.plain);
      rates.metered.push(done.metered);
    }
  } finally {
    clearInterval(scraper);
    await Promise.all([plain.close(), metered.close()]);
    await pool.stop();
  }
  const row = { inFlight, plain: median(rates.plain), metered: median(rates.metered), ratio: 0 };
  row.ratio = row.metered / row.plain;
  return row;
}
