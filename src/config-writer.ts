/** relay_add_server / relay_remove_server edits of backends.yaml: comment- and order-keeping, atomic, one at a time. */
import { readFileSync, renameSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { defer, type Observable } from 'rxjs';
import { isMap, isSeq, parseDocument, type YAMLSeq } from 'yaml';
import type { ConfigInput } from '../streams/config/config.js';
import { ConfigError } from '../streams/core/errors.js';
import type { ConfigEdit } from '../streams/management/management.js';
import { parseConfig, type Env } from '../streams/config/parse-config.js';

export class ConfigEditError extends Error {
  override readonly name = 'ConfigEditError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot change ${file}: ${reason}`);
  }
}

/** the file's text; null when it does not exist */
async function readIfThere(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function applyEdit(text: string, edit: ConfigEdit, file: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigEditError(file, `the file is not valid YAML now (${doc.errors[0]?.message.split('\n')[0]}); fix it by hand first`);
  // an editor's truncate-then-write leaves the file empty for a moment: an edit built on that would drop every backend
  if (doc.contents === null) throw new ConfigEditError(file, 'the file is empty right now (an editor may be saving it); try again in a moment, or write `backends: []` to start from none');
  if (!isMap(doc.contents)) throw new ConfigEditError(file, 'the top level is not a mapping');
  let backends = doc.get('backends');
  if (!isSeq(backends)) {
    backends = doc.createNode([]);
    doc.set('backends', backends);
  }
  const list = backends as YAMLSeq;
  if (edit.kind === 'add') {
    list.add(doc.createNode({ name: edit.name, url: edit.url }));
  } else {
    const index = list.items.findIndex((item) => isMap(item) && item.get('name') === edit.name);
    if (index === -1) throw new ConfigEditError(file, `no backend named '${edit.name}'`);
    list.delete(index);
  }
  return doc.toString();
}

let temporaries = 0;

/** the file's text now, read synchronously; null when it does not exist */
function readNow(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** writes the text beside the file and renames it over, if the file still holds `before` right then: false if not */
async function writeAtomically(file: string, text: string, before: string | null): Promise<boolean> {
  const temporary = `${file}.${process.pid}.${++temporaries}.tmp`;
  try {
    await writeFile(temporary, text, 'utf8');
    // the check and the rename back to back, synchronously (a small file; microseconds): no other work of this
    // process runs between them, so only a save landing in those microseconds could still be overwritten
    if (readNow(file) !== before) {
      await unlink(temporary).catch(() => undefined);
      return false;
    }
    renameSync(temporary, file);
    return true;
  } catch (error: unknown) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * Edits run one after another. The new text is validated before it is written, and handed to `push`
 * so the config stream has it at once; the watcher's later read of the same text is not a second reload.
 */
/** how often an edit is redone on a file that changed under it (a hand edit at the same moment) before it gives up */
const EDIT_ATTEMPTS = 3;

export interface ConfigWriterOptions {
  /** whether backends.yaml was loaded once: then a missing file is an editor's save in progress, not a fresh start */
  loadedOnce?: () => boolean;
}

export function createConfigWriter(file: string, env: Env, push: (input: ConfigInput) => void, options: ConfigWriterOptions = {}): (edit: ConfigEdit) => Observable<void> {
  let queue: Promise<unknown> = Promise.resolve();
  const run = async (edit: ConfigEdit, attempt = 1): Promise<void> => {
    const before = await readIfThere(file);
    if (before === null && options.loadedOnce?.() === true) {
      throw new ConfigEditError(file, 'the file is missing right now (deleted, or an editor is saving it); try again in a moment');
    }
    const text = before === null ? applyEdit('backends: []\n', edit, file) : applyEdit(before, edit, file);
    const checked = parseConfig(text, file, env);
    if (checked instanceof ConfigError) throw new ConfigEditError(file, `the result would be invalid: ${checked.message}`);
    // a hand edit that landed since the read is not overwritten: the edit is made again on the new text
    if (!(await writeAtomically(file, text, before))) {
      if (attempt >= EDIT_ATTEMPTS) throw new ConfigEditError(file, `it changed on disk ${EDIT_ATTEMPTS} times while this edit was being made; try again`);
      return run(edit, attempt + 1);
    }
    push({ kind: 'text', text });
  };
  return (edit) =>
    defer(() => {
      const done = queue.then(() => run(edit));
      queue = done.catch(() => undefined);
      return done;
    });
}
