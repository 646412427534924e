// Vite's raw imports and globs, which the test runner resolves (test/secrets.test.ts reads config and sources).
declare module "*?raw" {
  const text: string;
  export default text;
}
interface ImportMeta {
  glob(pattern: string, options: { query: "?raw"; import: "default"; eager: true }): Record<string, unknown>;
}
