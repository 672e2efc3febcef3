// Type-aware lint for the whole workspace. Rules chosen for a distributed runtime: an un-awaited
// promise is a lost ack or a lost publish, so floating promises are errors; type-only imports keep
// `verbatimModuleSyntax` output clean; import cycles make start-up order fragile.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

// Every workspace project that ships in the image: its src may import only what its own package.json
// lists under `dependencies` (a `pnpm install --prod` installs nothing else, so a devDependency or an
// undeclared package that happens to resolve through the root node_modules crashes the service at
// start-up). Checked per project: packageDir is the project's folder, never the root, whose
// devDependencies would otherwise make every import look declared.
const SHIPPED_PROJECT_PARENTS = ['packages', 'services'];
const shippedProjects = SHIPPED_PROJECT_PARENTS.flatMap((parent) =>
  readdirSync(join(import.meta.dirname, parent), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(import.meta.dirname, parent, entry.name, 'package.json')))
    .map((entry) => `${parent}/${entry.name}`),
);
const prodImportRules = shippedProjects.map((project) => ({
  files: [`${project}/src/**/*.{ts,mts,cts,js,mjs,cjs}`],
  ignores: [`${project}/src/**/*.{test,spec}.*`, `${project}/src/**/__tests__/**`],
  rules: {
    'import-x/no-extraneous-dependencies': [
      'error',
      {
        devDependencies: false,
        optionalDependencies: false,
        peerDependencies: false,
        // Workspace packages (@pipewright/*) must be declared too, or the prod install does not link
        // them; checked even where the resolver sees their real path (outside node_modules) as internal.
        includeInternal: true,
        packageDir: join(import.meta.dirname, project),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.d.ts', 'coverage/**', '.pw/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    // The resolver no-cycle follows imports with: Node's own rules (package `exports` and conditions),
    // stated so, rather than the legacy fallback, which cannot load a resolver here.
    settings: { 'import-x/resolver-next': [createNodeResolver({ conditionNames: ['types', 'import', 'node', 'default'] })] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'import-x/no-cycle': ['error', { maxDepth: 8 }],
      'no-console': 'off',
    },
  },
  ...prodImportRules,
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/test/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', '**/*.config.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
);
