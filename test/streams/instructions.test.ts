import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildInstructions } from '../../streams/catalogue/instructions.js';
import { buildCatalogue } from '../../streams/catalogue/catalogue.js';
import { initialBackendState, type BackendState } from '../../streams/backend/backend-state.js';
import { connectedState, entry, states, tool } from './helpers.js';

const notes = entry('notes');
const calc = entry('calc');
const later = entry('later');
const withOwn = (state: BackendState, instructions: string): BackendState => ({ ...state, instructions });

describe('buildInstructions', () => {
  it('gives a section per backend: its own instructions (one paragraph), else its tool names, else that it is not connected yet', () => {
    const all = states(withOwn(connectedState(notes, [tool('notes_add')]), 'Keeps notes.\n\n  Search them  by words.'), connectedState(calc, [tool('calc_add'), tool('calc_mul')]), initialBackendState(later, 1));
    const text = buildInstructions(all, buildCatalogue([notes, calc, later], all, new Set()), 2_000);
    expect(text).toBe(
      [
        'This server is mcp-relay, in front of 3 MCP servers; each section below is one of them.',
        '',
        '## notes',
        'Keeps notes. Search them by words.',
        '',
        '## calc',
        'Tools: calc_add, calc_mul.',
        '',
        '## later',
        'Not connected yet: relay_get_status shows its state, and its tools appear once it is.',
        '',
        "mcp-relay's own tools: relay_search_tools finds a tool by words in its name or description, relay_call_tool calls any tool by name, relay_get_status shows every backend's health and tools.",
      ].join('\n'),
    );
  });

  it('shares the size out: long sections are cut with an ellipsis, short ones leave room for the rest', () => {
    const all = states(withOwn(connectedState(notes, []), 'n'.repeat(5_000)), withOwn(connectedState(calc, []), 'short.'));
    const text = buildInstructions(all, { perBackend: new Map() }, 700);
    expect(text.length).toBeLessThanOrEqual(700);
    expect(text).toContain('## calc\nshort.');
    expect(text).toMatch(/## notes\nn+…/);
  });

  it('never exceeds maxChars, whatever the backends say (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,20}$/), fc.string({ maxLength: 3_000 })), { maxLength: 40 }), fc.integer({ min: 1, max: 4_000 }), (backends, maxChars) => {
        const all = new Map(backends.map(([name, own]) => [name, withOwn(connectedState(entry(name), []), own)]));
        expect(buildInstructions(all, { perBackend: new Map() }, maxChars).length).toBeLessThanOrEqual(maxChars);
      }),
    );
  });
});
