// Vite's raw imports, which the test runner resolves (test/history.test.ts reads the wrangler config).
declare module "*?raw" {
  const text: string;
  export default text;
}
interface ImportMeta {
  glob(pattern: string, options: { query: "?raw"; import: "default"; eager: true }): Record<string, unknown>;
}
