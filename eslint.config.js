// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import rxjsX from 'eslint-plugin-rxjs-x';

/** lowest first: core <- config <- rpc <- backend <- catalogue <- management <- session <- hub.ts, session.ts, relay.ts */
const LAYERS = ['core', 'config', 'rpc', 'backend', 'catalogue', 'access', 'management', 'session'];
const PURE = ['node:*', 'ws', 'chokidar', 'pino', '**/src/*'];

function streamLayers() {
  const layer = (name, index) => {
    const above = LAYERS.slice(index + 1);
    return {
      files: [`streams/${name}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              ...PURE.map((group) => ({ group: [group], message: 'streams/ is pure: I/O belongs in src/' })),
              { group: [...above.map((upper) => `**/${upper}/**`), '**/hub.js', '**/session.js', '**/relay.js'], message: `streams/${name} is below ${above.join(', ') || 'nothing'} and the top-level wiring: imports point down only (see DESIGN.md, Layout)` },
            ],
          },
        ],
      },
    };
  };
  return [
    { files: ['streams/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: PURE.map((group) => ({ group: [group], message: 'streams/ is pure: I/O belongs in src/' })) }] } },
    ...LAYERS.map(layer),
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'eslint.config.js', 'scripts/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  { files: ['src/**/*.ts', 'streams/**/*.ts'], ...rxjsX.configs.strict },
  {
    files: ['src/**/*.ts', 'streams/**/*.ts'],
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // streams/ is pure (no I/O modules, no logger), and its folders are layers: each imports only the ones below it.
  // Flat config replaces a rule rather than merging it, so each layer's entry repeats the purity patterns.
  ...streamLayers(),
  // the status page's scripts run in a browser, as plain JavaScript: tsc checks them (tsconfig.page.json), names
  // included, so no type-aware linting and no no-undef here
  {
    files: ['src/admin/page/**/*.js'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: { 'no-undef': 'off', '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }] },
  },
  {
    files: ['test/**/*.ts', 'examples/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }] },
  },
);
