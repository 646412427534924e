// Strings shaped like secrets, for the tests of the sensitive-data detectors. Each is assembled at run time from
// harmless parts, so no key-shaped literal (a PEM header, a token prefix, a JWT) sits in the repository for a
// secret scanner to flag, and none is or ever was a real key. Plain ESM with no imports: it loads in workerd too.

const PEM_DASHES = "-".repeat(5);

/** A PEM private-key header (`kind`: "RSA", "EC", or none), the first line of a key file. */
export function pemPrivateKeyHeader(kind = "") {
  return `${PEM_DASHES}${["BEGIN", kind, "PRIVATE", "KEY"].filter(Boolean).join(" ")}${PEM_DASHES}`;
}

/** A PEM private key's first two lines (the body starts as DER in base64 does). */
export function pemPrivateKeyStart(kind = "") {
  return `${pemPrivateKeyHeader(kind)}\n${"MI"}IE`;
}

const base64url = (o) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/** A JWT-shaped string: two base64url JSON parts and a signature part (not signed by anything). */
export function jwtShaped() {
  return `${base64url({ alg: "HS256" })}.${base64url({ sub: "fixture" })}.${"x".repeat(43)}`;
}

/** An Authorization header with a bearer token of 32 characters. */
export function bearerHeaderShaped() {
  return `Authorization: ${["Bear", "er"].join("")} ${"ab01".repeat(8)}`;
}

/** An AWS access key id's shape: the prefix and 16 upper-case letters and digits. */
export function awsAccessKeyIdShaped() {
  return `${["AK", "IA"].join("")}${"FIXTURE0".repeat(2)}`;
}

/** A GitHub personal access token's shape. */
export function githubTokenShaped() {
  return `${["gh", "p_"].join("")}${"a".repeat(36)}`;
}

/** An Anthropic API key's shape. */
export function anthropicKeyShaped() {
  return `${["sk", "ant", "api03"].join("-")}-${"x".repeat(30)}`;
}

/** An API key assigned in text (`api_key=…`). */
export function apiKeyAssignmentShaped() {
  return `${["api", "key"].join("_")}=${"ab12".repeat(4)}`;
}
