/** Plain-text tables for a terminal: a list of records as rows, one record as key/value lines. */

const MAX_CELL = 60;

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const s = typeof value === "object" ? JSON.stringify(value) : String(value);
  const flat = s.replace(/\s+/g, " ");
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
}

function grid(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** Rows of records; columns are `columns` when given, else every key seen (in first-seen order). */
export function tableOf(records: Record<string, unknown>[], columns?: string[]): string {
  if (records.length === 0) return "(none)";
  const keys = columns ?? [...new Set(records.flatMap((r) => Object.keys(r)))];
  return grid(
    keys,
    records.map((r) => keys.map((k) => cell(k.split(".").reduce<unknown>((o, p) => (o as never)?.[p], r)))),
  );
}

/** One record as `key  value` lines, nested objects flattened one level with dotted keys. */
export function recordOf(record: Record<string, unknown>): string {
  const rows: string[][] = [];
  for (const [k, val] of Object.entries(record)) {
    if (val && typeof val === "object" && !Array.isArray(val) && Object.keys(val).length <= 12) {
      for (const [k2, v2] of Object.entries(val)) rows.push([`${k}.${k2}`, cell(v2)]);
    } else rows.push([k, cell(val)]);
  }
  const width = Math.max(...rows.map((r) => (r[0] ?? "").length));
  return rows.map(([k, val]) => `${(k ?? "").padEnd(width)}  ${val}`.trimEnd()).join("\n");
}

/**
 * A readable rendering of any answer: the first array found (at the top or one level down) as a table, with
 * the remaining scalar fields above it; otherwise the record.
 */
export function render(value: unknown, columns?: string[]): string {
  if (Array.isArray(value)) return tableOf(value.map(asRecord), columns);
  if (!value || typeof value !== "object") return String(value ?? "");
  const record = value as Record<string, unknown>;
  const listKey = Object.keys(record).find((k) => Array.isArray(record[k]));
  if (!listKey) return recordOf(record);
  const rest = Object.fromEntries(Object.entries(record).filter(([k]) => k !== listKey));
  const head = Object.keys(rest).length > 0 ? `${recordOf(rest)}\n\n` : "";
  return `${head}${listKey}:\n${tableOf((record[listKey] as unknown[]).map(asRecord), columns)}`;
}

function asRecord(x: unknown): Record<string, unknown> {
  return x && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, unknown>) : { value: x };
}
