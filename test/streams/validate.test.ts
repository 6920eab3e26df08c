import { describe, expect, it } from 'vitest';
import { validateTool } from '../../streams/catalogue/validate.js';

const good = {
  name: 'search',
  description: 'Searches the index',
  inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
};

describe('validateTool', () => {
  it('passes a complete tool with no problems and no warnings', () => {
    expect(validateTool(good)).toEqual({ name: 'search', problems: [], warnings: [] });
  });

  it('passes a tool whose schema has no properties and no required list', () => {
    expect(validateTool({ name: 'ping', description: 'Pings', inputSchema: { type: 'object' } })).toEqual({ name: 'ping', problems: [], warnings: [] });
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'search'],
    ['an array', [good]],
  ])('rejects a definition that is %s', (_what, definition) => {
    expect(validateTool(definition)).toEqual({ name: null, problems: ['tool definition is not an object'], warnings: [] });
  });

  describe('invalid: not exposed', () => {
    it.each<[string, unknown]>([
      ['missing', undefined],
      ['empty', ''],
      ['a number', 42],
    ])('a name that is %s', (_what, name) => {
      const check = validateTool({ ...good, name });
      expect(check.name).toBeNull();
      expect(check.problems).toEqual(['no string name']);
    });

    it.each<[string, unknown]>([
      ['missing', undefined],
      ['null', null],
      ['a string', 'object'],
      ['an array', [{ type: 'object' }]],
    ])('an inputSchema that is %s', (_what, inputSchema) => {
      expect(validateTool({ ...good, inputSchema }).problems).toEqual(['no inputSchema object']);
    });

    it.each<[string, unknown, string]>([
      ['missing', undefined, 'inputSchema.type is undefined, not "object"'],
      ['"string"', 'string', 'inputSchema.type is "string", not "object"'],
      ['an array of types', ['object', 'null'], 'inputSchema.type is ["object","null"], not "object"'],
    ])('an inputSchema.type that is %s', (_what, type, problem) => {
      expect(validateTool({ ...good, inputSchema: { ...good.inputSchema, type } }).problems).toEqual([problem]);
    });

    it.each<[string, unknown]>([
      ['an array', [{ query: { type: 'string' } }]],
      ['a string', 'query'],
      ['null', null],
    ])('inputSchema.properties that is %s', (_what, properties) => {
      expect(validateTool({ ...good, inputSchema: { type: 'object', properties } }).problems).toEqual(['inputSchema.properties is not an object']);
    });

    it.each<[string, unknown]>([
      ['a string', 'query'],
      ['an array with a number', ['query', 1]],
      ['an object', { query: true }],
      ['null', null],
    ])('inputSchema.required that is %s', (_what, required) => {
      const check = validateTool({ ...good, inputSchema: { ...good.inputSchema, required } });
      expect(check.problems).toEqual(['inputSchema.required is not an array of strings']);
      expect(check.warnings).toEqual([]);
    });

    it('reports every problem at once', () => {
      const check = validateTool({ inputSchema: { type: 'array', properties: 3, required: [1] } });
      expect(check.problems).toEqual([
        'no string name',
        'inputSchema.type is "array", not "object"',
        'inputSchema.properties is not an object',
        'inputSchema.required is not an array of strings',
      ]);
    });
  });

  describe('warnings: exposed anyway', () => {
    it.each<[string, unknown]>([
      ['missing', undefined],
      ['empty', ''],
      ['not a string', { text: 'Searches' }],
    ])('a description that is %s', (_what, description) => {
      expect(validateTool({ ...good, description })).toEqual({ name: 'search', problems: [], warnings: ['no description'] });
    });

    it('a required field missing from properties', () => {
      const check = validateTool({ ...good, inputSchema: { type: 'object', properties: { query: {} }, required: ['query', 'limit'] } });
      expect(check).toEqual({ name: 'search', problems: [], warnings: ["required field 'limit' is not in inputSchema.properties"] });
    });

    it('required fields when there are no properties at all', () => {
      const check = validateTool({ ...good, inputSchema: { type: 'object', required: ['query'] } });
      expect(check.problems).toEqual([]);
      expect(check.warnings).toEqual(["required field 'query' is not in inputSchema.properties"]);
    });

    it('a required field named like an Object.prototype member is still checked against the properties themselves', () => {
      const check = validateTool({ ...good, inputSchema: { type: 'object', properties: {}, required: ['constructor', 'toString'] } });
      expect(check.warnings).toEqual([
        "required field 'constructor' is not in inputSchema.properties",
        "required field 'toString' is not in inputSchema.properties",
      ]);
    });

    it('a name Claude\'s API would reject', () => {
      const check = validateTool({ ...good, name: 'search.v2' });
      expect(check.problems).toEqual([]);
      expect(check.warnings).toEqual([expect.stringContaining("Claude's API will reject it")]);
    });
  });

  it('refuses a definition nested too deeply to compare or send, instead of overflowing the stack', () => {
    let schema: Record<string, unknown> = { type: 'object' };
    for (let i = 0; i < 50_000; i++) schema = { type: 'object', properties: { next: schema } };
    const check = validateTool({ name: 'deep', description: 'd', inputSchema: schema });
    expect(check.name).toBe('deep');
    expect(check.problems).toEqual(['definition is nested too deeply to compare or send']);
  });
});
