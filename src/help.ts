/*
 * Help for the plugin's own `sf` binary (bin/run.js): oclif's, plus the EXIT CODES section that
 * the sf CLI's help class prints from a command's `errorCodes`. Installed into the sf CLI, the
 * CLI's help class is used instead and prints the same section.
 */
import { CommandHelp, Help, type HelpSection, type HelpSectionRenderer } from '@oclif/core';

class CommandHelpWithExitCodes extends CommandHelp {
  protected override sections(): Array<{ generate: HelpSectionRenderer; header: string }> {
    const errorCodes = (this.command as { errorCodes?: HelpSection }).errorCodes;
    return errorCodes
      ? [...super.sections(), { header: errorCodes.header, generate: (): HelpSection => errorCodes }]
      : super.sections();
  }
}

export default class MigrateHelp extends Help {
  protected override CommandHelpClass = CommandHelpWithExitCodes;
}
