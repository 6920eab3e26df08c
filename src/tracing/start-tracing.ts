/**
 * OpenTelemetry traces, exported over OTLP/HTTP, when the standard variables ask for them: OTEL_EXPORTER_OTLP_ENDPOINT
 * (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none. The SDK
 * reads the rest itself (OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, OTEL_BSP_*, OTEL_RESOURCE_ATTRIBUTES, ...).
 * This module is imported only then (tracing-wanted.ts): a relay without traces never loads the SDK.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { EmitEvent, RelayEvent } from '../../streams/catalogue/events.js';
import type { Tracing } from '../../streams/core/tracing.js';
import { ConnectSpans } from './connect-spans.js';
import { OtelTracing } from './otel-tracing.js';

export interface RunningTracing {
  tracing: Tracing;
  /** every event of the log: backend connection attempts become spans */
  observe(event: RelayEvent): void;
  /** the spans still queued are exported (bounded by the exporter's own timeout) */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  env: NodeJS.ProcessEnv;
  version: string;
  emit: EmitEvent;
  /** a test's exporter instead of OTLP/HTTP */
  exporter?: SpanExporter;
}

/** an export failing (the collector down) is logged once a minute at most, with how many failures it stands for */
const ERROR_LOG_MS = 60_000;

export function startTracing(options: TracingOptions): RunningTracing {
  const { env, emit } = options;
  let lastLogged = 0;
  let unlogged = 0;
  const report = (error: unknown) => {
    unlogged++;
    const now = Date.now();
    if (now - lastLogged < ERROR_LOG_MS) return;
    lastLogged = now;
    emit({ event: 'tracing.error', error: error instanceof Error ? error.message : String(error), failures: unlogged, action: 'spans are dropped until the collector answers; calls are not affected', level: 'warn' });
    unlogged = 0;
  };
  setGlobalErrorHandler(report);
  // the SDK's own complaints go to the event log (never to stdout, which may be the MCP channel)
  diag.setLogger({ error: (message) => report(message), warn: () => undefined, info: () => undefined, debug: () => undefined, verbose: () => undefined }, DiagLogLevel.ERROR);
  const resource = resourceFromAttributes({ 'service.name': env['OTEL_SERVICE_NAME'] ?? 'mcp-relay', 'service.version': options.version }).merge(detectResources({ detectors: [envDetector] }));
  const exporter = options.exporter ?? new OTLPTraceExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  const tracer = provider.getTracer('mcp-relay', options.version);
  const connects = new ConnectSpans(tracer);
  const protocol = env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'];
  emit({
    event: 'tracing.start',
    endpoint: env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'],
    protocol: 'http/json',
    ...(protocol !== undefined && protocol !== 'http/json' ? { warning: `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: spans go as OTLP/HTTP JSON, which collectors accept on the same port` } : {}),
    level: 'info',
  });
  return {
    tracing: new OtelTracing(tracer),
    observe: (event) => connects.observe(event),
    shutdown: async () => {
      connects.closeAll();
      await provider.shutdown().catch(report);
    },
  };
}
