// @paulp/contracts types its service bindings with two globals of @cloudflare/workers-types, which cannot share a
// program with @types/node. This Node program never touches a binding: the two names only need to exist.
declare type Service<T> = T;
declare namespace Rpc {
  // biome-ignore lint/suspicious/noEmptyInterface: a brand, never used here
  interface WorkerEntrypointBranded {}
}
