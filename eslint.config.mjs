// `npm run lint`: ESLint (typescript-eslint, type-aware for the promise rules) on host/, tests/,
// bench/ and scripts/, then scripts/check-cycles.mjs for import cycles with type-only imports
// included (import-x/no-cycle skips those). Layout is Prettier's (`npx prettier --write .`), not
// ESLint's. assembly/ is AssemblyScript (its own compiler checks it) and build/ is output.
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['build/**', 'node_modules/**', 'assembly/**', 'agent/**', 'host/station/static/**', 'host/web/static/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['host/**/*.ts', 'tests/**/*.ts', 'bench/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver': { node: { extensions: ['.ts', '.js', '.json'] } },
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-self-import': 'error',
      'import-x/no-duplicates': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // optional and native packages (pg, age-encryption, pdfkit, koffi, wasmtime) load with require()
      // where they are used, so a missing one is a one-line error there and not a crash at start-up
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      // a variable assigned once after a closure that reads it was made (instantiateEngine's memory)
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // line length is the formatter's (printWidth 160 in .prettierrc), not a lint error
    },
  },
  {
    // node:test's test() and describe() return promises the runner awaits itself; tests and benches
    // look into JSON shapes and library internals
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  { files: ['tests/**/*.ts'], rules: { '@typescript-eslint/no-floating-promises': 'off' } },
  {
    files: ['scripts/**/*.mjs', '**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', WebAssembly: 'readonly' } },
  },
);
