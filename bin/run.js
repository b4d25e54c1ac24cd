#!/usr/bin/env node
// Runs the compiled plugin (lib/) as its own oclif CLI named `sf`, with the dev plugins loaded
// only when they are installed (a development checkout).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
