import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, pageOf, type Page } from '../../streams/catalogue/paging.js';

const items = (count: number): number[] => Array.from({ length: count }, (_, index) => index);

type Good = Extract<Page, { items: unknown[] }>;

function good(page: Page): Good {
  if ('error' in page) throw new Error(`expected a page, got an error: ${page.error}`);
  return page;
}

/** Follows nextCursor from the first page to the last; the pages as returned. */
function allPages(list: readonly unknown[], size: number): Good[] {
  const pages: Good[] = [];
  let cursor: string | undefined;
  do {
    const page = good(pageOf(list, cursor, size));
    pages.push(page);
    cursor = page.nextCursor;
    if (pages.length > list.length + 2) throw new Error('paging does not end');
  } while (cursor !== undefined);
  return pages;
}

const cursorFor = (text: string): string => btoa(text);

describe('pageOf', () => {
  it('gives the first page and a nextCursor when there are more items', () => {
    const page = good(pageOf(items(5), undefined, 2));
    expect(page.items).toEqual([0, 1]);
    expect(typeof page.nextCursor).toBe('string');
  });

  it('treats a null cursor as the first page', () => {
    expect(pageOf(items(5), null, 2)).toEqual(pageOf(items(5), undefined, 2));
  });

  it('follows nextCursor to the end, every item once, in order, with no nextCursor on the last page', () => {
    const pages = allPages(items(5), 2);
    expect(pages.map((page) => page.items)).toEqual([[0, 1], [2, 3], [4]]);
    expect(pages.slice(0, -1).every((page) => page.nextCursor !== undefined)).toBe(true);
    expect(pages.at(-1)).not.toHaveProperty('nextCursor');
  });

  it('ends without an empty page when the list is an exact multiple of the size', () => {
    const pages = allPages(items(4), 2);
    expect(pages.map((page) => page.items)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(pages[1]).not.toHaveProperty('nextCursor');
  });

  it('gives one page and no nextCursor for a list that fits, or exactly fills it', () => {
    expect(pageOf(items(3), undefined, 5)).toEqual({ items: [0, 1, 2] });
    expect(pageOf(items(5), undefined, 5)).toEqual({ items: [0, 1, 2, 3, 4] });
    expect(pageOf([], undefined, 5)).toEqual({ items: [] });
  });

  it('uses PAGE_SIZE by default', () => {
    const first = good(pageOf(items(PAGE_SIZE + 1), undefined));
    expect(first.items).toHaveLength(PAGE_SIZE);
    expect(good(pageOf(items(PAGE_SIZE + 1), first.nextCursor)).items).toEqual([PAGE_SIZE]);
    expect(pageOf(items(PAGE_SIZE), undefined)).not.toHaveProperty('nextCursor');
  });

  it('gives an empty last page for a cursor past the end (the list shrank)', () => {
    const cursor = good(pageOf(items(10), undefined, 6)).nextCursor;
    expect(pageOf(items(3), cursor, 6)).toEqual({ items: [] });
    expect(pageOf(items(3), cursorFor('mcp-relay:100'), 2)).toEqual({ items: [] });
  });

  it.each<[string, unknown]>([
    ['not base64', 'not base64!!'],
    ['base64 of another prefix', cursorFor('other:2')],
    ['base64 of no prefix at all', cursorFor('2')],
    ['a negative offset', cursorFor('mcp-relay:-2')],
    ['a fractional offset', cursorFor('mcp-relay:1.5')],
    ['a non-numeric offset', cursorFor('mcp-relay:two')],
    ['a number', 2],
    ['an object', { offset: 2 }],
    ['a boolean', true],
    ['an array holding a good cursor', [cursorFor('mcp-relay:2')]],
  ])('answers %s with an error, not a page', (_what, cursor) => {
    const page = pageOf(items(5), cursor, 2);
    expect(page).toEqual({ error: expect.stringContaining('invalid cursor') });
    expect(page).not.toHaveProperty('items');
  });

  it('names the bad cursor in the error', () => {
    expect(pageOf(items(5), 'bogus?', 2)).toEqual({ error: expect.stringContaining('"bogus?"') });
  });
});
