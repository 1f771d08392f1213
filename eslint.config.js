// Lint is part of `npm test`: type-aware rules catch floating promises, which in a runner
// mean a command whose failure nobody sees; and the layers stay apart.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers: runner/ (the engine) knows no module and no migration, tasks/ (the modules) build on
 * runner/ alone, and app/ (the composition root: the CLI, the package's entry) wires the two.
 * Each entry forbids a folder's imports, static and dynamic (`import()`), of what lies above it.
 */
function layer(folder, forbidden, why) {
  const regex = `(^|/)(${forbidden.join('|')})/`;
  const message = `${folder}/ must not import from ${forbidden.map((f) => `${f}/`).join(' or ')}: ${why}`;
  return {
    files: [`${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex, message }] }],
      // (esquery's /regex/ cannot hold a slash: \x2F stands for it)
      'no-restricted-syntax': ['error', { selector: `ImportExpression > Literal.source[value=/${regex.replaceAll('/', '\\x2F')}/]`, message }],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.ferry/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  layer('runner', ['tasks', 'app'], 'the engine takes its modules and fact tools as parameters; app/ binds ferry\'s own'),
  layer('tasks', ['app'], 'modules build on runner/ alone; app/ is what wires them in'),
);
