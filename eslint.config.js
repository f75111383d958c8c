import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Size limits (issue 13): no function over 120 lines, no file over 400. Not for
    // test/: a vitest describe() callback is long by nature.
    // bin/bale has no extension: named so that eslint reads it at all.
    files: ['src/**', 'bench/**', 'fixtures/**', 'bin/**', 'bin/bale'],
    rules: {
      'max-lines-per-function': [
        'error',
        { max: 120, skipBlankLines: true, skipComments: true, IIFEs: true },
      ],
      'max-lines': ['error', { max: 400 }],
    },
  },
  {
    // Only the CLI layer touches the process and the terminal (docs/style.md).
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Only src/cli/ touches process; pass what you need as options.' },
        { name: 'console', message: 'Only src/cli/ writes to the terminal; report through callbacks.' },
      ],
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'node:process', message: 'Only src/cli/ touches process.' }] },
      ],
    },
  },
  {
    // Layers (docs/architecture.md): building blocks never reach up into a workflow or
    // the CLI. Same rule as above plus the layering patterns (a later block replaces
    // the rule's options, so both are listed).
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**', 'src/workflows/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'node:process', message: 'Only src/cli/ touches process.' }],
          patterns: [
            {
              regex: '(^|/)(workflows|cli)(/|$)',
              message: 'A building block must not import a workflow or the CLI: move the shared piece down.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflows never import each other (or the CLI): what two workflows share is a
    // building block. A workflow file reaches its own folder (./) or the building blocks
    // (../../<block>/); `../<other>/` is another workflow.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'node:process', message: 'Only src/cli/ touches process.' }],
          patterns: [
            {
              regex: '^\\.\\./(?!\\.\\./)',
              message:
                'A workflow must not import another workflow: move the shared piece into a building block.',
            },
            {
              regex: '(^|/)(workflows|cli)(/|$)',
              message:
                'A workflow must not import another workflow or the CLI: move the shared piece into a building block.',
            },
          ],
        },
      ],
    },
  },
);
