import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const RULE = 'import-x/no-extraneous-dependencies';

/**
 * The repository's own eslint.config.js, run on a small workspace of fixtures laid out like this one
 * (packages/* and services/*, and a root package.json): src may import
 * only its own project's `dependencies`. Only this rule runs, without type information, so the check
 * takes a second and needs no tsconfig for the fixtures.
 */
describe('lint: src imports only declared production dependencies', () => {
  let dir = '';
  let eslint: ESLint;

  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  const problems = async (path: string) => {
    const [result] = await eslint.lintFiles([join(dir, path)]);
    return (result?.messages ?? []).map((m) => ({ rule: m.ruleId, message: m.message }));
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pw-lint-'));
    copyFileSync(join(REPO, 'eslint.config.js'), join(dir, 'eslint.config.js'));
    // The config's plugins and the fixtures' imports resolve through the repository's own install.
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
    // The root lists yaml and zod as production dependencies: a project's src still may not use them
    // unless its own package.json does (a rule that read the root's manifest would accept them).
    write('package.json', JSON.stringify({ name: 'fixture-root', private: true, type: 'module', dependencies: { yaml: '*', zod: '*' }, devDependencies: { vitest: '*' } }));
    write(
      'packages/demo/package.json',
      JSON.stringify({ name: '@fixture/demo', type: 'module', dependencies: { zod: '*' }, devDependencies: { vitest: '*' } }),
    );
    write('packages/demo/src/declared.ts', "import { z } from 'zod';\nexport const s = z.string();\n");
    write('packages/demo/src/dev-only.ts', "import { expect } from 'vitest';\nexport const e = expect;\n");
    write('packages/demo/src/root-only.ts', "import { parse } from 'yaml';\nexport const p = parse;\n");
    write('packages/demo/src/workspace.ts', "import { subjects } from '@pipewright/contracts';\nexport const s = subjects;\n");
    write('packages/demo/src/type-only.ts', "import type { Document } from 'yaml';\nexport type D = Document;\n");
    write('packages/demo/src/demo.test.ts', "import { expect } from 'vitest';\nexport const e = expect;\n");
    write('packages/demo/test/demo.test.ts', "import { expect } from 'vitest';\nexport const e = expect;\n");
    write('services/svc/package.json', JSON.stringify({ name: '@fixture/svc', type: 'module', dependencies: {} }));
    write('services/svc/src/main.ts', "import { z } from 'zod';\nexport const s = z.string();\n");
    eslint = new ESLint({
      cwd: dir,
      overrideConfig: [tseslint.configs.disableTypeChecked],
      ruleFilter: ({ ruleId }) => ruleId === RULE,
    });
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('accepts an import the project lists under dependencies', async () => {
    expect(await problems('packages/demo/src/declared.ts')).toEqual([]);
  });

  it('rejects a devDependency', async () => {
    expect(await problems('packages/demo/src/dev-only.ts')).toEqual([
      { rule: RULE, message: "'vitest' should be listed in the project's dependencies, not devDependencies." },
    ]);
  });

  it("rejects a package only the root declares (the project's own package.json decides, not the root's)", async () => {
    expect(await problems('packages/demo/src/root-only.ts')).toEqual([{ rule: RULE, message: expect.stringContaining("'yaml' should be listed in the project's dependencies. Run") }]);
    expect(await problems('services/svc/src/main.ts')).toEqual([{ rule: RULE, message: expect.stringContaining("'zod' should be listed in the project's dependencies. Run") }]);
  });

  it('rejects an undeclared workspace package', async () => {
    expect(await problems('packages/demo/src/workspace.ts')).toEqual([
      { rule: RULE, message: expect.stringContaining("'@pipewright/contracts' should be listed") },
    ]);
  });

  it('leaves type-only imports, test files in src and test folders alone', async () => {
    expect(await problems('packages/demo/src/type-only.ts')).toEqual([]);
    expect(await problems('packages/demo/src/demo.test.ts')).toEqual([]);
    expect(await problems('packages/demo/test/demo.test.ts')).toEqual([]);
  });
});
