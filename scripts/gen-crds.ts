// Writes crds/*.yaml from src/api (the single source of truth). `npm run gen:crds`.
// A unit test fails when the committed files differ from what this would write.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrdFiles } from '../src/api/render.js';

const root = join(import.meta.dirname, '..');
for (const [file, text] of Object.entries(renderCrdFiles())) {
  writeFileSync(join(root, 'crds', file), text);
  console.log(`wrote crds/${file}`);
}
