// Types of audit-keygen.mjs for the TypeScript tests that generate their signing keys with it.
export declare const DEV_KEY_NAME: string;
export declare function generateAuditKey(name?: string): { signerKey: string; verifierKey: string };
