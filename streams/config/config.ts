/** File events -> the config in force: the last good config stays when a new file is bad or missing. */
import { distinctUntilChanged, scan, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import { parseConfig, type Env } from './parse-config.js';
import { EMPTY_CONFIG, type RelayConfig } from './schema.js';

export type ConfigInput = { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'unreadable'; reason: string };

export interface ConfigState {
  /** the config in force */
  config: RelayConfig;
  /** why the file on disk is not the config in force, or null */
  error: ConfigError | null;
  /** what this input did: for the config.reloaded / config.invalid events */
  outcome: 'loaded' | 'invalid' | 'unchanged';
}

export const INITIAL_CONFIG_STATE: ConfigState = { config: EMPTY_CONFIG, error: null, outcome: 'unchanged' };

const NOT_FOUND = 'file not found; watching for it to appear';

/** no file at all: nothing in it asked for anything (an unparsable one may have meant to require tokens) */
export const isMissingFile = (state: ConfigState): boolean => state.error?.message.includes(NOT_FOUND) ?? false;

function next(state: ConfigState, input: ConfigInput, file: string, env: Env): ConfigState {
  if (input.kind === 'missing') {
    return { config: state.config, error: new ConfigError(file, NOT_FOUND), outcome: 'invalid' };
  }
  if (input.kind === 'unreadable') {
    return { config: state.config, error: new ConfigError(file, `cannot read file: ${input.reason}`), outcome: 'invalid' };
  }
  const parsed = parseConfig(input.text, file, env);
  if (parsed instanceof ConfigError) return { config: state.config, error: parsed, outcome: 'invalid' };
  return { config: parsed, error: null, outcome: 'loaded' };
}

/** Identical file contents (an editor's touch, the watcher seeing our own write) are not a reload. */
export const configState =
  (file: string, env: Env): OperatorFunction<ConfigInput, ConfigState> =>
  (input$) =>
    input$.pipe(
      distinctUntilChanged((a, b) => (a.kind === 'text' ? b.kind === 'text' && a.text === b.text : a.kind === 'unreadable' ? b.kind === 'unreadable' && a.reason === b.reason : a.kind === b.kind)),
      scan((state: ConfigState, input: ConfigInput) => next(state, input, file, env), INITIAL_CONFIG_STATE),
    );
