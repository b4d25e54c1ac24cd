/*
 * Records the plugin's current commands, flags and schemas as the committed contract
 * (command-snapshot.json, schema-snapshot.json). Run it only when a change is deliberate:
 *   npm run snapshot:update
 */
import { writeFileSync } from 'node:fs';
import { commandSnapshot, commandSnapshotFile, schemaSnapshot, schemaSnapshotFile } from './snapshots.js';

const commands = await commandSnapshot();
writeFileSync(commandSnapshotFile, `${JSON.stringify(commands, null, 2)}\n`);
writeFileSync(schemaSnapshotFile, `${JSON.stringify(schemaSnapshot(), null, 2)}\n`);
process.stdout.write(`wrote ${commandSnapshotFile} (${commands.length} commands) and ${schemaSnapshotFile}\n`);
