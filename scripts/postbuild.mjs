// Steps after tsc: generated artefacts that the compiled code loads at run time.
// Each generator is a module under scripts/ exporting run(root).
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const steps = ['dist/scripts/gen-openapi.js'];
for (const step of steps) {
  const file = join(root, step);
  if (existsSync(file)) {
    const mod = await import(file);
    await mod.run(root);
  }
}
