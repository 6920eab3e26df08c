// Small but real MCP services for the demo, on fixed ports so the demo's
// backends config can name them. "weather" is started too but left out of the
// initial config: the demo adds it while the relay runs.
import { z } from 'zod';
import { startBackend, type FixtureTool, type RunningBackend, type ToolExtra } from '../test/fixtures/mcp-ws-backend.js';
import { sleep } from '../test/fixtures/tools.js';

export const EXAMPLE_PORTS = { notes: 7301, calc: 7302, clock: 7303, weather: 7304 } as const;

export type ExampleName = keyof typeof EXAMPLE_PORTS;

const EXAMPLE_TOOLS: Record<ExampleName, () => FixtureTool[]> = { notes: notesTools, calc: calcTools, clock: clockTools, weather: weatherTools };

/** one example service on `port` (0: any free one): the status page's browser test stops one and starts it again */
export function startExampleBackend(name: ExampleName, port: number = EXAMPLE_PORTS[name]): Promise<RunningBackend> {
  return startBackend({ name, tools: EXAMPLE_TOOLS[name](), port });
}

export async function startExampleBackends(): Promise<{ backends: RunningBackend[]; close(): Promise<void> }> {
  const backends: RunningBackend[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(backends.map((b) => b.close()));
  };
  try {
    for (const name of Object.keys(EXAMPLE_TOOLS) as ExampleName[]) {
      backends.push(await startExampleBackend(name));
    }
  } catch (err) {
    // e.g. a port already taken: do not leave the others listening.
    await close();
    throw err;
  }
  return { backends, close };
}

/**
 * One schema drives both the advertised inputSchema and argument checking.
 * Bad arguments and thrown errors become isError results (tool errors the model
 * can read), not protocol errors.
 */
function defineTool<S extends z.ZodObject>(
  name: string,
  description: string,
  schema: S,
  run: (args: z.infer<S>, extra: ToolExtra) => unknown,
  readOnly = true,
): FixtureTool {
  const { $schema: _ignored, ...inputSchema } = z.toJSONSchema(schema);
  return {
    definition: { name, description, inputSchema, annotations: { readOnlyHint: readOnly } },
    handler: async (raw, extra) => {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) return errorResult(`Invalid arguments for ${name}:\n${z.prettifyError(parsed.error)}`);
      try {
        const value = await run(parsed.data, extra);
        return {
          content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
          structuredContent: value as Record<string, unknown>,
        };
      } catch (err) {
        if (extra.signal.aborted) throw err;
        return errorResult(err instanceof Error ? err.message : String(err));
      }
    },
  };
}

function errorResult(text: string): Record<string, unknown> {
  return { content: [{ type: 'text', text }], isError: true };
}

function notesTools(): FixtureTool[] {
  const notes: Array<{ id: number; text: string; createdAt: string }> = [];
  return [
    defineTool(
      'notes_add',
      'Save a short note in the in-memory notebook. Returns the stored note with its id.',
      z.object({ text: z.string().min(1).describe('The note text') }),
      ({ text }) => {
        const note = { id: notes.length + 1, text, createdAt: new Date().toISOString() };
        notes.push(note);
        return note;
      },
      false,
    ),
    defineTool('notes_list', 'List every saved note, oldest first.', z.object({}), () => ({ notes })),
    defineTool(
      'notes_search',
      'Find saved notes whose text contains the query (case-insensitive).',
      z.object({ query: z.string().min(1).describe('Text to look for') }),
      ({ query }) => ({ notes: notes.filter((n) => n.text.toLowerCase().includes(query.toLowerCase())) }),
    ),
  ];
}

function calcTools(): FixtureTool[] {
  const pair = z.object({ a: z.number().describe('First operand'), b: z.number().describe('Second operand') });
  return [
    defineTool('calc_add', 'Add two numbers.', pair, ({ a, b }) => ({ result: a + b })),
    defineTool('calc_multiply', 'Multiply two numbers.', pair, ({ a, b }) => ({ result: a * b })),
    defineTool(
      'calc_stats',
      'Mean, minimum and maximum of a non-empty list of numbers.',
      z.object({ numbers: z.array(z.number()).min(1).describe('The numbers to summarise') }),
      ({ numbers }) => ({
        count: numbers.length,
        mean: numbers.reduce((sum, n) => sum + n, 0) / numbers.length,
        min: Math.min(...numbers),
        max: Math.max(...numbers),
      }),
    ),
  ];
}

function clockTools(): FixtureTool[] {
  return [
    defineTool(
      'clock_now',
      'Current time as ISO 8601: UTC, and local time with offset in the given IANA time zone.',
      z.object({ timezone: z.string().optional().describe('IANA time zone, e.g. "Europe/Paris" (default "UTC")') }),
      ({ timezone = 'UTC' }) => {
        const now = new Date();
        return { utc: now.toISOString(), timezone, local: isoInZone(now, timezone) };
      },
    ),
    defineTool(
      'clock_sleep',
      'Wait for the given number of milliseconds (at most 5000), reporting progress; useful to try cancellation.',
      z.object({ ms: z.number().int().min(0).max(5000).describe('How long to wait, in milliseconds') }),
      async ({ ms }, { signal, sendProgress }) => {
        const steps = 5;
        for (let i = 1; i <= steps; i++) {
          await sleep(ms / steps, signal);
          await sendProgress(Math.round((ms * i) / steps), ms);
        }
        return { sleptMs: ms };
      },
    ),
  ];
}

/** `date` as local ISO 8601 in `timeZone`, e.g. 2025-01-02T03:04:05+01:00. Throws RangeError for an unknown zone. */
function isoInZone(date: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  }).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  const offset = get('timeZoneName').replace('GMT', '') || '+00:00';
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}${offset}`;
}

function weatherTools(): FixtureTool[] {
  const conditions = ['sunny', 'partly cloudy', 'cloudy', 'light rain', 'windy', 'thunderstorms'];
  return [
    defineTool(
      'weather_forecast',
      'Three-day weather forecast for a city (canned demo data, not a real weather service).',
      z.object({ city: z.string().min(1).describe('City name, e.g. "Lisbon"') }),
      ({ city }) => {
        // Deterministic per city, so the demo output is stable.
        const seed = [...city.toLowerCase()].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
        const days = [0, 1, 2].map((d) => {
          const date = new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
          const high = 12 + ((seed >> (d * 3)) % 15);
          return { date, condition: conditions[(seed + d) % conditions.length], highC: high, lowC: high - 6 - (d % 3) };
        });
        return { city, days };
      },
    ),
  ];
}
