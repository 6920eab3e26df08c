/** The backends.yaml schema: validated once at the boundary; inside, the resolved types are trusted. */
import { z } from 'zod';

export const BACKEND_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const positiveMs = z.number().int().positive();

const backoffSchema = z.strictObject({ initialMs: positiveMs.optional(), maxMs: positiveMs.optional() });

/** Per-backend settings: in `defaults:`, and overridable on each backend. */
const settingsShape = {
  timeoutMs: positiveMs.optional(),
  connectWaitMs: positiveMs.optional(),
  pingIntervalMs: positiveMs.optional(),
  pongTimeoutMs: positiveMs.optional(),
  backoff: backoffSchema.optional(),
  maxMessageBytes: positiveMs.optional(),
};

export const wsUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'ws:' || url.protocol === 'wss:';
    } catch {
      return false;
    }
  }, 'must be a ws:// or wss:// URL');

const backendSchema = z.strictObject({
  name: z.string().regex(BACKEND_NAME, 'must be 1-64 characters of letters, digits, _ or -'),
  url: wsUrl,
  subprotocol: z.union([z.string().min(1), z.literal(false), z.null()]).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  enabled: z.boolean().optional(),
  ...settingsShape,
});

export const configSchema = z
  .strictObject({
    backends: z.array(backendSchema).nullable().optional(),
    defaults: z.strictObject(settingsShape).nullable().optional(),
    startupGraceMs: z.number().int().nonnegative().optional(),
    maxClientMessageBytes: positiveMs.optional(),
    management: z.strictObject({ allowChanges: z.boolean().optional() }).nullable().optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    (config.backends ?? []).forEach((backend, index) => {
      const first = seen.get(backend.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['backends', index, 'name'],
          message: `duplicate backend name '${backend.name}' (also backends[${first}])`,
        });
      } else seen.set(backend.name, index);
    });
  });

export type RawConfig = z.infer<typeof configSchema>;

export interface BackendSettings {
  timeoutMs: number;
  connectWaitMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  maxMessageBytes: number;
}

export interface BackendEntry {
  name: string;
  url: string;
  /** null: offer no subprotocol */
  subprotocol: string | null;
  /** values with ${ENV} already substituted; never logged or shown */
  headers: Record<string, string>;
  enabled: boolean;
  settings: BackendSettings;
}

export interface RelayConfig {
  backends: BackendEntry[];
  startupGraceMs: number;
  maxClientMessageBytes: number;
  management: { allowChanges: boolean };
}

export const DEFAULT_SETTINGS: BackendSettings = {
  timeoutMs: 900_000,
  connectWaitMs: 10_000,
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  backoff: { initialMs: 5_000, maxMs: 300_000 },
  maxMessageBytes: 33_554_432,
};

export const DEFAULT_STARTUP_GRACE_MS = 5_000;
/** The SDK's stdio reader (Claude Code's) drops the whole connection on one message over 10 MB. */
export const DEFAULT_MAX_CLIENT_MESSAGE_BYTES = 9_000_000;

export const EMPTY_CONFIG: RelayConfig = {
  backends: [],
  startupGraceMs: DEFAULT_STARTUP_GRACE_MS,
  maxClientMessageBytes: DEFAULT_MAX_CLIENT_MESSAGE_BYTES,
  management: { allowChanges: true },
};
