import { expect } from 'chai';
import type { HelpSection } from '@oclif/core';
import { ExitCode, NETWORK_FAILURE_EXIT_CODE, SignalExitCode } from '../../src/engine/outcome.js';
import { runExitCodes } from '../../src/exitCodes.js';
import { commandFiles } from '../../scripts/snapshots.js';

type Documented = { errorCodes?: HelpSection };

const codesOf = (section: HelpSection): string[] =>
  Array.isArray(section?.body) ? section.body.map((entry) => ('name' in entry ? entry.name : entry[0])) : [];

describe('exit codes in every command help', () => {
  for (const { id, file } of commandFiles()) {
    it(`${id} documents 0, 1 and 2`, async () => {
      const command = ((await import(file)) as { default: Documented }).default;
      expect(command.errorCodes?.header).to.equal('EXIT CODES');
      expect(codesOf(command.errorCodes)).to.include.members(['0', '1', '2']);
    });
  }

  it('run, resume and retry document every code a run ends with', async () => {
    const documented = Object.keys(runExitCodes);
    expect(documented).to.include.members(
      [...Object.values(ExitCode), ...Object.values(SignalExitCode), NETWORK_FAILURE_EXIT_CODE].map(String),
    );
    for (const id of ['run', 'resume', 'retry']) {
      // eslint-disable-next-line no-await-in-loop
      const command = ((await import(`../../src/commands/migrate/${id}.js`)) as { default: Documented }).default;
      expect(codesOf(command.errorCodes), id).to.deep.equal(documented);
    }
  });

  it('job resume documents the --wait code', async () => {
    const command = ((await import('../../src/commands/migrate/job/resume.js')) as { default: Documented }).default;
    expect(codesOf(command.errorCodes)).to.include(String(ExitCode.waiting));
  });
});
