/**
 * Lint: eslint 9 (flat config) with typescript-eslint 8's type-checked rules, over src,
 * projections, test, bench and web (`npm run lint`, run by .ci/run before the tests); web/ is
 * typed by its own web/tsconfig.json (DOM, Preact's JSX), which the project service finds.
 *
 * `recommended-type-checked`, not `strict-type-checked`: the recommended set catches what
 * hurts here (floating and misused promises, `any` leaking into typed code, unsafe calls and
 * returns, awaiting non-promises), and the strict set adds style opinions (no non-null
 * assertions, no extraneous classes, restricted template expressions) that would mean
 * rewriting correct code in every context for no fault found. A rule from the strict set
 * joins below when it finds a real defect.
 */
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed parameters and variables are the way to say "unused on purpose"
      // (Nest's CommandRunner.run(args, options), destructuring that drops a field).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Imported, it loads at start in every process: its decorators are recorded until the
      // document is first asked for (src/platform/http/openapi-decorators.ts).
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: [{ name: '@nestjs/swagger', message: 'import the decorators from src/platform/http/openapi-decorators.ts', allowTypeImports: true }] },
      ],
    },
  },
  {
    // Tests read JSON bodies, SDK answers and database rows whose shape the assertion itself
    // checks: typing each before asserting on it adds casts, not safety, so `any` is allowed
    // and may flow. Fakes and `waitFor` predicates implement async signatures with sync
    // bodies: require-await would only make them noisier. Only here; floating and misused
    // promises and the rest still apply.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
