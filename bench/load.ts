// The two loads every benchmark row uses: sequential calls (latency samples), and a fixed number of calls kept in
// flight for a while (calls per second).
import type { BenchClient } from './clients.js';

const now = () => performance.now();

/** `calls` tools/call one after another; each call's time in ms, in order */
export async function sequential(client: BenchClient, tool: string, calls: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = now();
    const response = await client.call('tools/call', { name: tool, arguments: { i } });
    samples.push(now() - started);
    if (!('result' in response)) throw new Error(`call failed: ${JSON.stringify(response).slice(0, 300)}`);
  }
  return samples;
}

/** `inFlight` calls kept going for `ms`: calls per second */
export async function saturate(client: BenchClient, inFlight: number, ms: number, tool = 't0_echo'): Promise<number> {
  let done = 0;
  const until = now() + ms;
  const worker = async () => {
    while (now() < until) {
      await client.call('tools/call', { name: tool, arguments: { n: done } });
      done += 1;
    }
  };
  const started = now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (done / (now() - started)) * 1000;
}
