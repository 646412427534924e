// Reading a stored replay report: the bytes in R2 are re-hashed and must match the hash the index (and the audit
// chain) holds, or the read fails as integrity_broken.
import { ErrorCode, err, ok, type ReplayReport, type Result } from "@paulp/contracts";
import { sha256Hex } from "@paulp/kit";
import type { Env } from "../env";
import { getReplay } from "./store";

export async function readReplayReport(
  env: Env,
  id: string,
): Promise<Result<{ report: ReplayReport; reportHash: string }>> {
  const record = await getReplay(env.D1_MARKETS, id);
  if (!record) return err(ErrorCode.notFound, `no replay ${id}`);
  if (record.status !== "complete" || record.reportHash === null) {
    return err(ErrorCode.conflict, `replay ${id} is ${record.status}: it has no report yet`);
  }
  const object = await env.R2_REPLAYS.get(`reports/${id}.json`);
  if (!object) return err(ErrorCode.integrityBroken, `replay ${id}'s report is missing from storage`);
  const text = await object.text();
  const actual = await sha256Hex(text);
  if (actual !== record.reportHash) {
    return err(
      ErrorCode.integrityBroken,
      `replay ${id}'s report hashes to ${actual}, not ${record.reportHash}`,
    );
  }
  return ok({ report: JSON.parse(text) as ReplayReport, reportHash: actual });
}
