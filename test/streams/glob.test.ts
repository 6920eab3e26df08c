import { describe, expect, it } from 'vitest';
import { globToRegExp, makeFilter } from '../../streams/core/glob.js';

const matches = (pattern: string, name: string): boolean => globToRegExp(pattern).test(name);

describe('globToRegExp', () => {
  it('matches a pattern without wildcards only exactly, anchored at both ends', () => {
    expect(matches('search', 'search')).toBe(true);
    expect(matches('search', 'search_docs')).toBe(false);
    expect(matches('search', 'research')).toBe(false);
    expect(matches('search', 'Search')).toBe(false);
  });

  it('reads * as any run of characters, the empty run included', () => {
    expect(matches('get_*', 'get_user')).toBe(true);
    expect(matches('get_*', 'get_')).toBe(true);
    expect(matches('get_*', 'forget_user')).toBe(false);
    expect(matches('*_admin', 'delete_admin')).toBe(true);
    expect(matches('*_admin', 'delete_admin_log')).toBe(false);
    expect(matches('a*b*c', 'a--b--c')).toBe(true);
    expect(matches('*', '')).toBe(true);
  });

  it('reads ? as exactly one character', () => {
    expect(matches('v?', 'v1')).toBe(true);
    expect(matches('v?', 'v')).toBe(false);
    expect(matches('v?', 'v12')).toBe(false);
    expect(matches('a?c', 'a.c')).toBe(true);
  });

  it.each<[pattern: string, literal: string, regexReading: string]>([
    ['a.b', 'a.b', 'axb'],
    ['a+b', 'a+b', 'aab'],
    ['(x)', '(x)', 'x'],
    ['x|y', 'x|y', 'x'],
    ['[ab]', '[ab]', 'a'],
    ['a{2}', 'a{2}', 'aa'],
    ['^a$', '^a$', 'a'],
    ['a\\d', 'a\\d', 'a1'],
  ])('takes the regex metacharacters of %s literally', (pattern, literal, regexReading) => {
    expect(matches(pattern, literal)).toBe(true);
    expect(matches(pattern, regexReading)).toBe(false);
  });

  it('keeps wildcards working next to escaped characters', () => {
    expect(matches('fs.*', 'fs.read')).toBe(true);
    expect(matches('fs.*', 'fsxread')).toBe(false);
    expect(matches('(?)', '(a)')).toBe(true);
    expect(matches('(?)', 'a')).toBe(false);
  });
});

describe('makeFilter', () => {
  const names = ['get_user', 'get_admin', 'set_user', 'delete_admin', 'ping'];
  const kept = (include: string[], exclude: string[]): string[] => names.filter(makeFilter({ include, exclude }));

  it('lets everything through when both lists are empty', () => {
    expect(kept([], [])).toEqual(names);
    expect(makeFilter({ include: [], exclude: [] })('any.thing (at all)')).toBe(true);
  });

  it('keeps only names that match some include pattern', () => {
    expect(kept(['get_*'], [])).toEqual(['get_user', 'get_admin']);
    expect(kept(['get_*', 'ping'], [])).toEqual(['get_user', 'get_admin', 'ping']);
    expect(kept(['nothing_matches'], [])).toEqual([]);
  });

  it('with only excludes, keeps everything they do not match', () => {
    expect(kept([], ['*_admin'])).toEqual(['get_user', 'set_user', 'ping']);
  });

  it('lets exclude win over include', () => {
    expect(kept(['get_*'], ['*_admin'])).toEqual(['get_user']);
    expect(kept(['ping'], ['ping'])).toEqual([]);
  });

  it('takes regex metacharacters in tool names literally', () => {
    const filter = makeFilter({ include: ['fs.read'], exclude: ['x+'] });
    expect(filter('fs.read')).toBe(true);
    expect(filter('fs_read')).toBe(false);
    expect(makeFilter({ include: [], exclude: ['x+'] })('xx')).toBe(true);
    expect(makeFilter({ include: [], exclude: ['x+'] })('x+')).toBe(false);
  });
});
