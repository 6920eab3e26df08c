/** The relay's own pagination of large aggregate lists: an opaque cursor that encodes the next offset. */
export const PAGE_SIZE = 500;

const PREFIX = 'mcp-relay:';

const encode = (offset: number): string => btoa(`${PREFIX}${offset}`);

function decode(cursor: unknown): number | null {
  if (cursor === undefined || cursor === null) return 0;
  if (typeof cursor !== 'string') return null;
  let text: string;
  try {
    text = atob(cursor);
  } catch {
    return null;
  }
  if (!text.startsWith(PREFIX)) return null;
  const digits = text.slice(PREFIX.length);
  return /^\d+$/.test(digits) ? Number(digits) : null;
}

export type Page = { items: unknown[]; nextCursor?: string } | { error: string };

export function pageOf(items: readonly unknown[], cursor: unknown, size: number = PAGE_SIZE): Page {
  const offset = decode(cursor);
  if (offset === null) return { error: `invalid cursor ${JSON.stringify(cursor)}: use the nextCursor of the previous page, or none for the first` };
  const end = offset + size;
  return end < items.length ? { items: items.slice(offset, end), nextCursor: encode(end) } : { items: items.slice(offset) };
}
