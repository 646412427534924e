// The report's identity: the SHA-256 of its RFC 8785 canonical JSON, so anyone holding the report can check its hash
// with any JCS implementation, and two runs over the same inputs give the same hash.
import type { ReplayReport } from "@paulp/contracts";
import { canonicalJson, sha256Hex } from "@paulp/kit";

/** The report as the bytes that are hashed and stored. */
export function canonicalReport(report: ReplayReport): string {
  return canonicalJson(report);
}

/** The report's hash: lowercase hex SHA-256 of `canonicalReport(report)`. */
export function reportHash(report: ReplayReport): Promise<string> {
  return sha256Hex(canonicalReport(report));
}
