/** Glob patterns for tool filters: `*` any run of characters, `?` one character, everything else literal. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** An empty include list lets everything in; exclude wins over include. */
export function makeFilter({ include, exclude }: { include: readonly string[]; exclude: readonly string[] }): (name: string) => boolean {
  if (include.length === 0 && exclude.length === 0) return () => true;
  const included = include.map(globToRegExp);
  const excluded = exclude.map(globToRegExp);
  return (name) => (included.length === 0 || included.some((pattern) => pattern.test(name))) && !excluded.some((pattern) => pattern.test(name));
}
