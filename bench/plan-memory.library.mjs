// The planning library alone (no oclif, no command): what `sf migrate plan` costs beyond the CLI's
// own start-up. Run from the repository root after `tsc -p .`:
//   node bench/plan-memory.library.mjs /tmp/sf-migrate-bench/migration.json
import { loadManifestOrThrow } from '../lib/manifest/load.js';
import { buildPlan } from '../lib/plan/plan.js';

const plan = await buildPlan(await loadManifestOrThrow(process.argv[2]));
process.stdout.write(`${plan.totals.records} records, ${plan.totals.jobs} jobs\n`);
