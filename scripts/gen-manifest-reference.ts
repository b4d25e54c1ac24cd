/*
 * Writes docs/manifest.md from schemas/manifest.schema.json.
 *   node --import tsx scripts/gen-manifest-reference.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderManifestReference } from '../src/manifest/reference.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const schema = JSON.parse(readFileSync(`${root}schemas/manifest.schema.json`, 'utf8')) as Parameters<
  typeof renderManifestReference
>[0];
writeFileSync(`${root}docs/manifest.md`, renderManifestReference(schema));
process.stdout.write(`wrote ${root}docs/manifest.md\n`);
