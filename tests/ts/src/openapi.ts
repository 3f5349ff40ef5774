// Reading the server's OpenAPI 3.1 document: its schemas in the client's wire notation, and a
// validator for the subset of JSON Schema the document uses, to check live requests and
// answers against the document itself (not against the client's tables).

/** A JSON Schema of the document (the keywords it uses). */
export interface Schema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly oneOf?: readonly Schema[];
  readonly properties?: { readonly [name: string]: Schema };
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | Schema;
  readonly items?: Schema;
  readonly minimum?: number;
}

export interface Parameter {
  readonly name: string;
  readonly in: "path" | "query" | "header" | "cookie";
  readonly required?: boolean;
  readonly schema: Schema;
}

export interface Operation {
  readonly operationId?: string;
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: { readonly required?: boolean; readonly content: { readonly [mime: string]: { readonly schema: Schema } } };
  readonly responses: { readonly [status: string]: { readonly content?: { readonly [mime: string]: { readonly schema: Schema } } } };
  readonly security?: readonly { readonly [scheme: string]: readonly string[] }[];
}

export interface Document {
  readonly openapi: string;
  readonly paths: { readonly [path: string]: { readonly [method: string]: Operation } };
  readonly components: { readonly schemas: { readonly [name: string]: Schema } };
}

/** The component name of `#/components/schemas/<name>`. */
export function refName(ref: string): string {
  const prefix = "#/components/schemas/";
  if (!ref.startsWith(prefix)) {
    throw new Error(`not a component reference: ${ref}`);
  }
  return ref.slice(prefix.length);
}

/** A property's schema in the client's wire notation, and whether it admits `null`. */
export function wireOf(schema: Schema): { readonly wire: string; readonly nullable: boolean } {
  if (schema.$ref !== undefined) {
    return { wire: refName(schema.$ref), nullable: false };
  }
  if (schema.oneOf !== undefined) {
    const others = schema.oneOf.filter((s) => s.type !== "null");
    if (others.length === 1 && others[0] !== undefined && others.length < schema.oneOf.length) {
      return { wire: wireOf(others[0]).wire, nullable: true };
    }
    return { wire: `oneOf(${schema.oneOf.map((s) => wireOf(s).wire).join(", ")})`, nullable: false };
  }
  const types = typeof schema.type === "string" ? [schema.type] : [...(schema.type ?? [])];
  const nullable = types.includes("null");
  const rest = types.filter((t) => t !== "null");
  if (rest.length !== 1) {
    return { wire: `types(${rest.join(", ")})`, nullable };
  }
  const type = rest[0];
  if (type === "array") {
    return { wire: `${schema.items === undefined ? "json" : wireOf(schema.items).wire}[]`, nullable };
  }
  if (type === "object" && typeof schema.additionalProperties === "object") {
    return { wire: `map<${wireOf(schema.additionalProperties).wire}>`, nullable };
  }
  return { wire: type ?? "json", nullable };
}

/** Every way `value` breaks `schema` (empty when it conforms), `at` naming the place. */
export function violations(doc: Document, schema: Schema, value: unknown, at = "$"): string[] {
  if (schema.$ref !== undefined) {
    const target = doc.components.schemas[refName(schema.$ref)];
    return target === undefined ? [`${at}: unknown ${schema.$ref}`] : violations(doc, target, value, at);
  }
  if (schema.oneOf !== undefined) {
    const passing = schema.oneOf.filter((s) => violations(doc, s, value, at).length === 0).length;
    return passing === 1 ? [] : [`${at}: matches ${passing} of the oneOf's ${schema.oneOf.length} schemas`];
  }
  const out: string[] = [];
  if (schema.type !== undefined) {
    const types = typeof schema.type === "string" ? [schema.type] : schema.type;
    if (!types.some((t) => hasType(t, value))) {
      return [`${at}: ${JSON.stringify(value)} is not ${types.join(" or ")}`];
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (schema.minimum !== undefined && typeof value === "number" && value < schema.minimum) {
    out.push(`${at}: ${value} is under ${schema.minimum}`);
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    const items = schema.items;
    value.forEach((item: unknown, i) => out.push(...violations(doc, items, item, `${at}[${i}]`)));
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const record = value as { readonly [key: string]: unknown };
    for (const name of schema.required ?? []) {
      if (!(name in record)) {
        out.push(`${at}.${name}: required`);
      }
    }
    for (const [name, member] of Object.entries(record)) {
      const property = schema.properties?.[name];
      if (property !== undefined) {
        out.push(...violations(doc, property, member, `${at}.${name}`));
      } else if (schema.additionalProperties === false) {
        out.push(`${at}.${name}: not allowed`);
      } else if (typeof schema.additionalProperties === "object") {
        out.push(...violations(doc, schema.additionalProperties, member, `${at}.${name}`));
      }
    }
  }
  return out;
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    default:
      return typeof value === type;
  }
}
