/*
 * Until the pre-upload pass (src/prepare/) applies a step's lookup stages in `sf migrate run`, a
 * manifest with `lookups` must not load: its key columns (OwnerEmail…) would be uploaded as they are
 * and the org would fail whole jobs on them. `run` refuses such a manifest up front, clearly. The
 * lead removes this guard where the engine wires ensureLookupSnapshots/openLookups/lookupStages.
 */
import { Messages } from '@salesforce/core';
import type { LoadedManifest } from '../manifest/types.js';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'lookup');

export function refuseUnappliedLookups(manifest: LoadedManifest): void {
  const steps = manifest.steps.filter((step) => step.lookups?.length).map((step) => step.id);
  if (steps.length === 0) return;
  const error = messages.createError('error.LookupsNotApplied', [steps.join(', ')], [manifest.path]);
  error.setData({ steps });
  throw error;
}
