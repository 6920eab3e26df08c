import { describe, expect, it } from 'vitest';
import { parseAdminAddress } from '../../streams/config/listen.js';
import { failed, parsed, yaml } from './parse-helpers.js';

describe('admin: in backends.yaml', () => {
  it('reads a loopback listener with no token, and one beyond loopback with a token from the environment', () => {
    expect(parsed(yaml('admin: { listen: "127.0.0.1:9464" }', 'backends: []')).admin).toEqual({ listen: { host: '127.0.0.1', port: 9464, text: '127.0.0.1:9464' }, token: null });
    expect(parsed(yaml('admin:', '  listen: "[::]:9464"', '  token: ${ADMIN_TOKEN}', 'backends: []'), { ADMIN_TOKEN: 's3cret' }).admin).toEqual({ listen: { host: '::', port: 9464, text: '[::]:9464' }, token: 's3cret' });
  });

  it('refuses a listener beyond loopback without a token, a literal token, and an address that is not HOST:PORT', () => {
    expect(failed(yaml('admin: { listen: "0.0.0.0:9464" }', 'backends: []')).message).toMatch(/admin\.listen: an admin listener on 0\.0\.0\.0:9464 \(beyond loopback\) needs token/);
    expect(failed(yaml('admin: { listen: "127.0.0.1:9464", token: hunter2 }', 'backends: []')).message).toMatch(/admin\.token: a secret is not written in the file/);
    expect(failed(yaml('admin: { listen: "9464" }', 'backends: []')).message).toMatch(/admin\.listen: "9464" is not HOST:PORT/);
  });

  it('parses HOST:PORT as the command line gives it', () => {
    expect(parseAdminAddress('localhost:0')).toEqual({ host: 'localhost', port: 0, text: 'localhost:0' });
    expect(parseAdminAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464, text: '[::1]:9464' });
    expect(parseAdminAddress('127.0.0.1:70000')).toMatch(/is not HOST:PORT/);
  });
});
