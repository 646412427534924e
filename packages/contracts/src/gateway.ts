/** The Cloudflare Access header with the signed JWT; the only Access header that can authenticate. */
export const ACCESS_JWT_HEADER = "cf-access-jwt-assertion";
/** Set by Access at the edge; never trusted alone, must match the verified JWT's email. */
export const ACCESS_EMAIL_HEADER = "cf-access-authenticated-user-email";
/** Request id header, minted by the gateway and forwarded on internal calls. */
export const REQUEST_ID_HEADER = "x-request-id";
