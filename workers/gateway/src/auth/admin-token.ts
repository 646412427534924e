import { constantTimeEqual } from "@paulp/kit";

/** Why a configured ADMIN_TOKEN is refused; null when it is acceptable. */
export function adminTokenProblem(token: string | undefined): string | null {
  if (!token) return "ADMIN_TOKEN is not set";
  if (token.length < 32) return "ADMIN_TOKEN is shorter than 32 characters";
  // A long token made of few symbols ("aaaa…", "abababab…") has little entropy whatever its length.
  if (new Set(token).size < 10) return "ADMIN_TOKEN has too few distinct characters";
  if (/\s/.test(token)) return "ADMIN_TOKEN contains whitespace";
  return null;
}

/** Constant-time check of a presented bearer token against the configured one. */
export function bearerMatches(presented: string, configured: string): Promise<boolean> {
  return constantTimeEqual(presented, configured);
}

/** Extract the token from `Authorization: Bearer <token>`; null when absent or another scheme. */
export function parseBearer(header: string | null): string | null {
  if (!header) return null;
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return match ? match[1]! : null;
}
