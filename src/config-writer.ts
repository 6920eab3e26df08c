/** relay_add_server / relay_remove_server edits of backends.yaml: comment- and order-keeping, atomic, one at a time. */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
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

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function applyEdit(text: string, edit: ConfigEdit, file: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigEditError(file, `the file is not valid YAML now (${doc.errors[0]?.message.split('\n')[0]}); fix it by hand first`);
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
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

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.${++temporaries}.tmp`;
  try {
    await writeFile(temporary, text, 'utf8');
    await rename(temporary, file);
  } catch (error: unknown) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/**
 * Edits run one after another. The new text is validated before it is written, and handed to `push`
 * so the config stream has it at once; the watcher's later read of the same text is not a second reload.
 */
export function createConfigWriter(file: string, env: Env, push: (input: ConfigInput) => void): (edit: ConfigEdit) => Observable<void> {
  let queue: Promise<unknown> = Promise.resolve();
  const run = async (edit: ConfigEdit): Promise<void> => {
    const text = applyEdit(await readOrEmpty(file), edit, file);
    const checked = parseConfig(text, file, env);
    if (checked instanceof ConfigError) throw new ConfigEditError(file, `the result would be invalid: ${checked.message}`);
    await writeAtomically(file, text);
    push({ kind: 'text', text });
  };
  return (edit) =>
    defer(() => {
      const done = queue.then(() => run(edit));
      queue = done.catch(() => undefined);
      return done;
    });
}
