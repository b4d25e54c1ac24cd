/*
 * SOQL text the plugin writes itself (before images, rollback's conflict check, lookups of users).
 */

/**
 * The longest SOQL statement Salesforce accepts by default: 100,000 characters ("SOQL and SOSL
 * Limits for Search Queries", Salesforce App Limits Cheatsheet). Each string in a WHERE clause may
 * hold 4,000 characters, far above any key.
 */
export const MAX_SOQL_CHARACTERS = 100_000;

/** the SOQL literal of a value: quoted, backslashes and quotes escaped */
export function soqlLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
