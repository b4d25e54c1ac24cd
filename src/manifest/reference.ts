/*
 * Renders the manifest reference (docs/manifest.md) from the schema, so the documentation cannot
 * say something the validator does not check. scripts/gen-manifest-reference.ts writes the file;
 * a test fails when the committed file differs from what this renders.
 */

export type SchemaNode = {
  $ref?: string;
  title?: string;
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  required?: string[];
  default?: unknown;
  examples?: unknown[];
  $defs?: Record<string, SchemaNode>;
};

/** The object types, in the order a reader meets them. */
const sections = [
  'Step',
  'StepSettings',
  'ColumnMapping',
  'Lookup',
  'PollSettings',
  'FailureThreshold',
  'RetrySettings',
  'ValueMap',
];
/** Named value types, linked from the tables and described once at the end. */
const valueTypes = ['StepId', 'Duration'];

export function renderManifestReference(schema: SchemaNode, schemaPath = 'schemas/manifest.schema.json'): string {
  const defs = schema.$defs ?? {};
  const target = (node: SchemaNode): { name?: string; node: SchemaNode } => {
    if (!node.$ref) return { node };
    const name = node.$ref.replace('#/$defs/', '');
    const referenced = defs[name];
    return { name, node: { ...referenced, ...node, $ref: undefined } };
  };
  const code = (value: unknown): string => '`' + JSON.stringify(value) + '`';

  const typeOf = (raw: SchemaNode): string => {
    const { name, node } = target(raw);
    if (name && (sections.includes(name) || valueTypes.includes(name))) return `[${name}](#${name.toLowerCase()})`;
    if (node.enum) return node.enum.map(code).join(' \\| ');
    const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
    const parts = types.map((type) => {
      if (type === 'array') return `array of ${node.items ? typeOf(node.items) : 'any'}`;
      if (type === 'object' && typeof node.additionalProperties === 'object') {
        return `map of string → ${typeOf(node.additionalProperties)}`;
      }
      return type;
    });
    const constraints: string[] = [];
    if (node.minimum !== undefined && node.maximum !== undefined)
      constraints.push(`${node.minimum} to ${node.maximum}`);
    else if (node.minimum !== undefined) constraints.push(`≥ ${node.minimum}`);
    else if (node.maximum !== undefined) constraints.push(`≤ ${node.maximum}`);
    if (node.pattern) constraints.push(`matching \`${node.pattern}\``);
    if (node.minItems) constraints.push(`at least ${node.minItems} item(s)`);
    if (node.minLength && node.minLength > 1) constraints.push(`at least ${node.minLength} characters`);
    if (node.maxLength) constraints.push(`at most ${node.maxLength} characters`);
    return parts.join(' or ') + (constraints.length ? ` (${constraints.join(', ')})` : '');
  };

  const propertyBlock = (name: string, raw: SchemaNode, required: boolean): string[] => {
    const { node } = target(raw);
    const lines = [`### \`${name}\``, ''];
    lines.push(`- Type: ${typeOf(raw)}`);
    lines.push(`- Required: ${required ? 'yes' : 'no'}`);
    if (node.default !== undefined) lines.push(`- Default: ${code(node.default)}`);
    for (const example of node.examples ?? []) lines.push(`- Example: ${code(example)}`);
    lines.push('');
    if (node.description) lines.push(node.description, '');
    return lines;
  };

  const objectSection = (title: string, node: SchemaNode, intro?: string): string[] => {
    const required = new Set(node.required ?? []);
    const properties = Object.entries(node.properties ?? {});
    const lines = [`## ${title}`, ''];
    if (intro ?? node.description) lines.push((intro ?? node.description)!, '');
    lines.push('| Property | Type | Required | Default |', '| --- | --- | --- | --- |');
    for (const [name, raw] of properties) {
      const { node: resolved } = target(raw);
      const fallback = resolved.default === undefined ? '' : code(resolved.default);
      lines.push(`| \`${name}\` | ${typeOf(raw)} | ${required.has(name) ? 'yes' : 'no'} | ${fallback} |`);
    }
    lines.push('');
    for (const [name, raw] of properties) lines.push(...propertyBlock(name, raw, required.has(name)));
    return lines;
  };

  const lines = [
    '# Manifest reference',
    '',
    `<!-- Generated from ${schemaPath} by scripts/gen-manifest-reference.ts. Do not edit by hand. -->`,
    '',
    'Add `"$schema": "<path to>/schemas/manifest.schema.json"` to a manifest and editors complete and check it as you type. `sf migrate validate --manifest <file>` runs the same checks plus the ones a schema cannot express (step ids, dependencies, waves, source files and their CSV headers).',
    '',
    ...objectSection(schema.title ?? 'Manifest', schema),
  ];
  for (const name of sections) lines.push(...objectSection(name, defs[name]));
  for (const name of valueTypes) {
    const node = defs[name];
    lines.push(`## ${name}`, '', `- Type: ${typeOf({ ...node, $ref: undefined })}`);
    for (const example of node.examples ?? []) lines.push(`- Example: ${code(example)}`);
    lines.push('', node.description ?? '', '');
  }
  return (
    lines
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  );
}
