// Temporal's recommended rules: no floating promises anywhere, and workflow code imports nothing with side
// effects (no Node built-ins, no database, no HTTP) because it runs in a deterministic sandbox.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'coverage/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'object-shorthand': ['error', 'always'],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((name) => `node:${name}`)].map((name) => ({
            name,
            message: 'Workflow code runs in a deterministic sandbox: no Node built-ins.',
          })),
          patterns: [
            {
              group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@mikro-orm/*', 'ws', 'koa', 'pino'],
              message: 'Workflow code may not import modules with side effects; call an activity instead.',
            },
            {
              group: ['../src/database/*', '../src/receiver/*', '../src/broadcaster/*', '../activities/*'],
              message: 'Workflows import activity types only (import type), never their implementation.',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
