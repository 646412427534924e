/** Secret-shaped strings for the sensitive-data detectors' tests, assembled at run time (see key-shapes.mjs). */
export declare function pemPrivateKeyHeader(kind?: string): string;
export declare function pemPrivateKeyStart(kind?: string): string;
export declare function jwtShaped(): string;
export declare function bearerHeaderShaped(): string;
export declare function awsAccessKeyIdShaped(): string;
export declare function githubTokenShaped(): string;
export declare function anthropicKeyShaped(): string;
export declare function apiKeyAssignmentShaped(): string;
