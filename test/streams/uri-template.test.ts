import { describe, expect, it } from 'vitest';
import { templateMatcher } from '../../streams/catalogue/uri-template.js';

const check = (template: string, yes: string[], no: string[]): void => {
  const matcher = templateMatcher(template);
  for (const uri of yes) expect(matcher.test(uri), `${template} should match ${uri}`).toBe(true);
  for (const uri of no) expect(matcher.test(uri), `${template} should not match ${uri}`).toBe(false);
};

describe('templateMatcher', () => {
  it('lets a simple {var} stand for one path segment', () => {
    check(
      'file:///notes/{name}',
      ['file:///notes/a', 'file:///notes/todo.md', 'file:///notes/hello%2Fworld'],
      ['file:///notes/a/b', 'file:///notes/a?x=1', 'file:///notes/a#top', 'file:///other/a', 'file:///notes'],
    );
  });

  it('anchors the whole URI at both ends', () => {
    check('file:///notes/{name}', ['file:///notes/a'], ['xfile:///notes/a', 'see file:///notes/a']);
    check('db://{table}/rows', ['db://users/rows'], ['db://users/rows/extra', 'db://users/rowsX']);
  });

  it('handles several expressions with literals between them', () => {
    check('repo://{owner}/{repo}/issues/{n}', ['repo://me/relay/issues/42'], ['repo://me/relay/pulls/42', 'repo://me/issues/42', 'repo://me/a/b/issues/42']);
  });

  it('lets {+path} span slashes, but not a query', () => {
    check('file:///{+path}', ['file:///a', 'file:///a/b/c.txt', 'file:///'], ['file:///a/b?x=1', 'file://a', 'http:///a']);
  });

  it('makes a {?q,page} query optional', () => {
    check(
      'https://x.test/search{?q,page}',
      ['https://x.test/search', 'https://x.test/search?q=cats', 'https://x.test/search?q=cats&page=2'],
      ['https://x.test/search/more', 'https://x.test/searchq=cats', 'https://x.test/searches'],
    );
  });

  it('makes {/seg} and {#frag} optional too', () => {
    check('x://h{/seg}', ['x://h', 'x://h/a', 'x://h/a/b'], ['x://hx']);
    check('x://h/page{#section}', ['x://h/page', 'x://h/page#intro'], ['x://h/page2', 'x://h/page/intro']);
  });

  it('takes dots in the literal parts literally', () => {
    check('db://host.example/{id}', ['db://host.example/1'], ['db://hostXexample/1']);
  });

  it('takes parentheses and other regex metacharacters in the literal parts literally', () => {
    check('db://t(1)/{id}', ['db://t(1)/7'], ['db://t1/7']);
    check('x://a+b/{id}', ['x://a+b/1'], ['x://aab/1']);
    check('x://a*/{id}', ['x://a*/1'], ['x://aaa/1', 'x:///1']);
    check('x://[ab]|$/{id}', ['x://[ab]|$/1'], ['x://a/1']);
  });

  it('returns a regex without the g flag, so repeated tests agree', () => {
    const matcher = templateMatcher('file:///notes/{name}');
    expect([matcher.test('file:///notes/a'), matcher.test('file:///notes/a'), matcher.test('file:///notes/a')]).toEqual([true, true, true]);
  });
});
