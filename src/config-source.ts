/** backends.yaml as a stream of file contents: read now, then again after every settled burst of changes. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { watch } from 'chokidar';
import { concat, debounceTime, defer, filter, interval, map, Observable, of, switchMap, take } from 'rxjs';
import type { ConfigInput } from '../streams/config/config.js';

/** editor saves arrive as bursts (truncate+write, delete+recreate, write temp+rename): one reload per burst */
const SETTLE_MS = 50;

export function readConfigFile(file: string): ConfigInput {
  try {
    return { kind: 'text', text: readFileSync(file, 'utf8') };
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', reason: error instanceof Error ? error.message : String(error) };
  }
}

/** a config path whose folder does not exist yet: look for the folder this often, then watch it */
const FOLDER_POLL_MS = 1_000;

/** Emits whenever anything happens to `file`; watches its directory so a missing or replaced file is seen too. */
export function fileChanges$(file: string): Observable<void> {
  const dir = dirname(file);
  return defer(() =>
    existsSync(dir)
      ? folderChanges$(file)
      : interval(FOLDER_POLL_MS).pipe(
          filter(() => existsSync(dir)),
          take(1),
          switchMap(() => concat(of(undefined), folderChanges$(file))),
        ),
  );
}

function folderChanges$(file: string): Observable<void> {
  return new Observable<void>((subscriber) => {
    const dir = dirname(file);
    const name = basename(file);
    const watcher = watch(dir, {
      depth: 0,
      ignoreInitial: true,
      ignored: (path: string) => path !== dir && basename(path) !== name,
    });
    watcher.on('all', () => subscriber.next());
    // a change during chokidar's initial scan counts as 'initial' and is not reported: read once more when ready
    watcher.on('ready', () => subscriber.next());
    watcher.on('error', (error) => subscriber.error(error));
    return () => void watcher.close();
  });
}

/** The first read is synchronous, so the relay never serves a request before its config is known. */
export function configFile$(file: string): Observable<ConfigInput> {
  return concat(
    defer(() => of(readConfigFile(file))),
    fileChanges$(file).pipe(
      debounceTime(SETTLE_MS),
      map(() => readConfigFile(file)),
    ),
  );
}
