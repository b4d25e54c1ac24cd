/* Part 3 of the crash-and-resume scenarios (test/helpers/crashScenarios.ts),
 * in a file of its own so the parts run in parallel. */
import { describeCrashScenarios } from '../helpers/crashScenarios.js';

describeCrashScenarios(3);
