// The evidence export file (`GET /admin/evidence/export`, read by `pnpm replay`): NDJSON, a header, objects and
// sightings, a trailer with the counts. Reading trusts nothing: each line is validated, a missing or wrong trailer
// refuses the file as cut off, and the bytes are only decoded here (verifiedTimeline re-hashes them after).
import {
  EVIDENCE_EXPORT_FORMAT,
  EvidenceExportLine,
  EvidenceExportRefusal,
  type EvidenceSighting,
} from "@paulp/contracts";
import * as v from "valibot";
import type { EvidenceSet } from "./evidence";

export interface ExportWindow {
  from: string;
  to: string;
}

/** The header line of an export of `window`, made at `exportedAt`. */
export function headerLine(window: ExportWindow, exportedAt: string): string {
  return line({ kind: "header", format: EVIDENCE_EXPORT_FORMAT, version: 1, window, exportedAt });
}

/** One object's line: its hash and its raw bytes in standard base64. */
export function objectLine(hash: string, bytes: Uint8Array): string {
  return line({ kind: "object", hash, base64: toBase64(bytes) });
}

/** One sighting's line. */
export function sightingLine(sighting: EvidenceSighting): string {
  return line({ kind: "sighting", ...sighting });
}

/** The trailer: how many object and sighting lines came before it. */
export function endLine(objects: number, sightings: number): string {
  return line({ kind: "end", objects, sightings });
}

export type ReadExport =
  | { ok: true; window: ExportWindow; exportedAt: string; set: EvidenceSet }
  | { ok: false; refusal: { code: string; line: number; message: string } };

/** Read a whole export file. The first line must be the header and the last non-empty one the matching trailer. */
export function readExport(text: string): ReadExport {
  const lines = text.split("\n");
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const objects = new Map<string, Uint8Array>();
  const sightings: EvidenceSighting[] = [];
  let header: { window: ExportWindow; exportedAt: string } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    let json: unknown;
    try {
      json = JSON.parse(lines[i] as string);
    } catch {
      return refuse(EvidenceExportRefusal.malformed, n, `line ${n} is not JSON`);
    }
    const parsed = v.safeParse(EvidenceExportLine, json);
    if (!parsed.success) {
      return refuse(
        EvidenceExportRefusal.malformed,
        n,
        `line ${n}: ${parsed.issues[0]?.message ?? "invalid"}`,
      );
    }
    const entry = parsed.output;
    if ((i === 0) !== (entry.kind === "header")) {
      return refuse(
        EvidenceExportRefusal.malformed,
        n,
        `line ${n}: the header must be the first line, and only it`,
      );
    }
    switch (entry.kind) {
      case "header":
        header = { window: entry.window, exportedAt: entry.exportedAt };
        break;
      case "object": {
        const bytes = fromBase64(entry.base64);
        if (bytes === null)
          return refuse(EvidenceExportRefusal.malformed, n, `line ${n}: bytes are not base64`);
        if (objects.has(entry.hash)) {
          return refuse(EvidenceExportRefusal.malformed, n, `line ${n}: object ${entry.hash} appears twice`);
        }
        objects.set(entry.hash, bytes);
        break;
      }
      case "sighting": {
        const { kind: _kind, ...sighting } = entry;
        sightings.push(sighting);
        break;
      }
      case "end":
        if (n !== lines.length) {
          return refuse(EvidenceExportRefusal.malformed, n, `line ${n}: lines follow the trailer`);
        }
        if (entry.objects !== objects.size || entry.sightings !== sightings.length) {
          return refuse(
            EvidenceExportRefusal.truncated,
            n,
            `the trailer counts ${entry.objects} objects and ${entry.sightings} sightings; the file holds ${objects.size} and ${sightings.length}`,
          );
        }
        return {
          ok: true,
          window: header!.window,
          exportedAt: header!.exportedAt,
          set: { objects, sightings },
        };
    }
  }
  return refuse(
    EvidenceExportRefusal.truncated,
    lines.length,
    "the file ends without its trailer: it was cut off",
  );
}

function line(value: EvidenceExportLine): string {
  return `${JSON.stringify(value)}\n`;
}

function refuse(code: string, n: number, message: string): ReadExport {
  return { ok: false, refusal: { code, line: n, message } };
}

// btoa/atob take "binary strings"; chunks keep String.fromCharCode's argument list short for large objects.
function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
