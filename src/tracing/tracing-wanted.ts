/**
 * Whether the environment asks for traces (the OpenTelemetry SDK's standard variables), and the tracing module,
 * loaded only then: without them the relay never imports the SDK, and its per-call path has no tracing in it at all.
 */
import type * as TracingModule from './start-tracing.js';

export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return false;
  const exporters = env['OTEL_TRACES_EXPORTER']?.split(',').map((name) => name.trim().toLowerCase()) ?? ['otlp'];
  if (!exporters.includes('otlp')) return false;
  return Boolean(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_ENDPOINT']);
}

export async function loadTracing(env: NodeJS.ProcessEnv): Promise<typeof TracingModule | null> {
  return tracingWanted(env) ? await import('./start-tracing.js') : null;
}
