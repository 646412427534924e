import type { SimHandler } from "./context";

/** Cloudflare Access double: the team JWKS at /cdn-cgi/access/certs (filled in below). */
export const handleAccess: SimHandler = async () => null;
